#!/usr/bin/env bash
# The scenario of `make run`, played against the running dev platform with techtradectl the way
# an operator, a pilot-city portal, a registration body and a bank would: a city and its
# organisations, an offer and a demand matched, a deal negotiated, signed, registered, performed
# and paid, the fund's subsidy approved and disbursed, and what a finance partner read from Kafka,
# in order.
# Safe to run again: every mutation carries a fixed request_id, so a second run replays.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INSTANCE="${TECHTRADE_INSTANCE:-dev}"
ENV_FILE="${ROOT}/.run/${INSTANCE}/env"
[[ -f ${ENV_FILE} ]] || { echo "demo: ${ENV_FILE} missing: start the platform with 'make up'" >&2; exit 1; }
set -a
# shellcheck disable=SC1090
source "${ENV_FILE}"
set +a
CTL="${ROOT}/build/bin/techtradectl"
STATE="${ROOT}/.run/${INSTANCE}"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$*"; }
# ctl KEY ARGS...: one techtradectl call with that key; exits on an unexpected error.
ctl() { local key="$1"; shift; "${CTL}" --env "${ENV_FILE}" --key "${key}" "$@"; }
# refused KEY ARGS...: a call that must fail; shows the error.
refused() {
  local out
  if out="$(ctl "$@" 2>&1)"; then echo "demo: expected a refusal, got success" >&2; exit 1; fi
  note "${out}"
}
# json_field NAME: the first "NAME": value of the JSON on stdin.
json_field() { sed -n "s/^ *\"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" | head -n 1; }
# issue_key NAME FILE ARGS...: a key is shown once; a replayed issue returns none, so the first
# one is kept in the state dir.
issue_key() {
  local name="$1" file="${STATE}/demo-$2.key" out key
  shift
  shift
  out="$(ctl "${TECHTRADE_API_KEY}" key issue --json --request_id "demo-key-${name}" "$@")"
  key="$(echo "${out}" | json_field api_key)"
  if [[ -z ${key} && ! -f ${file} ]]; then
    # Replayed, but the secret of the first run is lost: a new key under a new request_id.
    out="$(ctl "${TECHTRADE_API_KEY}" key issue --json --request_id "demo-key-${name}-$(date +%s)" "$@")"
    key="$(echo "${out}" | json_field api_key)"
  fi
  if [[ -n ${key} ]]; then
    echo "${key}" >"${file}"
    chmod 600 "${file}"
  fi
  cat "${file}"
}

step "Health: every service SERVING (on its plaintext health port; the API port is mutual TLS)"
for svc in registry listings transactions fund; do
  upper="$(echo "${svc}" | tr '[:lower:]' '[:upper:]')"
  addr_var="TECHTRADE_${upper}_HEALTH_ADDR"
  "${ROOT}/.run/bin/grpcurl" -plaintext -import-path "${ROOT}/proto" \
    -proto grpc/health/v1/health.proto "${!addr_var}" grpc.health.v1.Health/Check |
    tr -d '\n ' | sed "s/^/   ${svc} ${!addr_var} /"
  echo
done

step "The operator creates the pilot park Wuhan East Lake (武汉东湖新技术开发区) and Shenzhen"
ctl "${TECHTRADE_API_KEY}" city create --request_id demo-city-wuhan --id wuhan-east-lake \
  --name 武汉东湖新技术开发区 --kind PARK --division_code 420100
ctl "${TECHTRADE_API_KEY}" city create --request_id demo-city-shenzhen --id shenzhen --name 深圳 \
  --kind CITY --division_code 440300 >/dev/null

step "API keys: the Wuhan East Lake portal and a bank (finance partner); secrets shown once"
city_key="$(issue_key wuhan city --name "Wuhan East Lake portal" --role CITY_SYSTEM --city_id wuhan-east-lake)"
bank_key="$(issue_key bank bank --name "Bank of Hubei escrow" --role PARTNER)"
bank_id="${bank_key:3:16}"  # tt_<key id>_<secret>: the partner's id, as a deal names it
note "portal key ${city_key%_*}_<secret>, bank key ${bank_key%_*}_<secret>"

step "The portal registers a university and an enterprise (credit codes checked)"
uni_id="$(ctl "${city_key}" org register --json --request_id demo-org-uni \
  --credit_code 12420000441625697U --name 华中科技大学 --kind UNIVERSITY \
  --city_id wuhan-east-lake --contact_email tto@hust.edu.cn | json_field id)"
ent_id="$(ctl "${city_key}" org register --json --request_id demo-org-ent \
  --credit_code 91420100MA4K2XQ0B4 --name 武汉光谷智能装备有限公司 --kind ENTERPRISE \
  --city_id wuhan-east-lake | json_field id)"
note "university ${uni_id}, enterprise ${ent_id}"
note "a mistyped credit code is refused, naming the field:"
refused "${city_key}" org register --request_id demo-org-typo --credit_code 91420100MA4K2XQ0B5 \
  --name "Typo Ltd" --kind ENTERPRISE --city_id wuhan-east-lake
note "the Wuhan portal may not act for Shenzhen:"
refused "${city_key}" org register --request_id demo-org-sz --credit_code 91440300MA5G3UJ8AH \
  --name 深圳某公司 --kind ENTERPRISE --city_id shenzhen
ctl "${city_key}" org verify --request_id demo-verify-uni --id "${uni_id}" --expected_version 1 >/dev/null
ctl "${city_key}" org verify --request_id demo-verify-ent --id "${ent_id}" --expected_version 1 >/dev/null
ctl "${city_key}" org list --city_id wuhan-east-lake

step "The university offers a technology; the enterprise posts what it needs"
offer_id="$(ctl "${city_key}" offer create --json --request_id demo-offer --owner_org_id "${uni_id}" \
  --offer.title 基于深度学习的锂电池健康状态在线估计方法 \
  --offer.abstract "利用充放电曲线的增量容量特征与迁移学习模型在线估计锂离子电池健康状态, 误差小于2%, 可部署于现有电池管理系统。" \
  --offer.ipc_codes "H01M 10/48" --offer.ipc_codes "G06N 3/08" \
  --offer.fields energy-storage --offer.fields artificial-intelligence --offer.readiness_level 6 \
  --offer.ip_assets CN114512345A --offer.transfer_modes EXCLUSIVE_LICENSE \
  --offer.transfer_modes ASSIGNMENT --offer.asking_price "800000.00 CNY" | json_field id)"
ctl "${city_key}" offer publish --request_id demo-offer-publish --id "${offer_id}" --expected_version 1 >/dev/null
demand_id="$(ctl "${city_key}" demand create --json --request_id demo-demand --seeker_org_id "${ent_id}" \
  --demand.title 储能电站锂电池健康状态在线监测技术 \
  --demand.problem "我公司储能电站需要在线估计锂电池健康状态, 提前发现衰减电芯, 希望获得成熟的估计方法并独占使用。" \
  --demand.ipc_codes "H01M 10/44" --demand.fields energy-storage --demand.min_readiness_level 5 \
  --demand.budget_min "0.00 CNY" --demand.budget_max "1000000.00 CNY" \
  --demand.transfer_modes EXCLUSIVE_LICENSE | json_field id)"
ctl "${city_key}" demand publish --request_id demo-demand-publish --id "${demand_id}" --expected_version 1 >/dev/null
note "offer ${offer_id} and demand ${demand_id} published"
note "keyword search (Chinese has no spaces: character bigrams):"
ctl "${city_key}" search --kind OFFER --query 电池健康 --min_readiness_level 5

step "Matchmaking proposes the offer for the enterprise's demand, every factor explained"
ctl "${city_key}" match offers --id "${demand_id}" --limit 1 --json |
  grep -E '"(title|score|factor|reason)"' | sed 's/^ */   /'

step "The enterprise opens a deal; the university asks 800 000.00, the enterprise counters 600 000.00"
milestone() { printf '{"title":"%s","amount":{"currency":"CNY","amount_minor":"%s"},"due_time":"%s"}' "$@"; }
deal_id="$(ctl "${city_key}" deal open --json --request_id demo-deal-open --listing_id "${offer_id}" \
  --listing_kind OFFER --buyer_org_id "${ent_id}" --seller_org_id "${uni_id}" \
  --finance_partner_id "${bank_id}" | json_field id)"
ctl "${city_key}" deal propose --request_id demo-terms-1 --deal_id "${deal_id}" --expected_version 1 \
  --acting_as SELLER --price "800000.00 CNY" --transfer_mode EXCLUSIVE_LICENSE \
  --licence_scope "储能电站电池管理系统的制造与销售" --territory CN \
  --milestones "$(milestone "算法与源代码交付" 24000000 2027-03-31T00:00:00Z)" \
  --milestones "$(milestone "现场部署与验收" 56000000 2027-06-30T00:00:00Z)" >/dev/null
ctl "${city_key}" deal propose --request_id demo-terms-2 --deal_id "${deal_id}" --expected_version 2 \
  --acting_as BUYER --price "600000.00 CNY" --transfer_mode EXCLUSIVE_LICENSE \
  --licence_scope "储能电站电池管理系统的制造与销售" --territory CN \
  --milestones "$(milestone "算法与源代码交付" 18000000 2027-03-31T00:00:00Z)" \
  --milestones "$(milestone "现场部署与验收" 42000000 2027-06-30T00:00:00Z)" >/dev/null
ctl "${city_key}" deal accept --request_id demo-accept-seller --deal_id "${deal_id}" \
  --expected_version 3 --acting_as SELLER --terms_version 2 >/dev/null
ctl "${city_key}" deal accept --request_id demo-accept-buyer --deal_id "${deal_id}" \
  --expected_version 4 --acting_as BUYER --terms_version 2 | grep -E '^(state|agreed_terms_version|version) '
note "a stale expected_version is refused and changes nothing:"
refused "${city_key}" deal cancel --request_id demo-stale --deal_id "${deal_id}" --expected_version 3 \
  --acting_as BUYER --reason "stale view"
signing_time="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
[[ -f ${STATE}/demo-signing-time ]] && signing_time="$(cat "${STATE}/demo-signing-time")"
echo "${signing_time}" >"${STATE}/demo-signing-time"
ctl "${city_key}" deal sign --request_id demo-sign --deal_id "${deal_id}" --expected_version 6 \
  --registration_number 2026420100000123 --signing_time "${signing_time}" |
  grep -E '^(state|contract\.registration_number|version) '

step "Contract registration (技术合同认定登记): the portal submits, Wuhan's registration body registers"
body_key="$(issue_key wuhan-registration body --name "Wuhan technology-contract registration office" \
  --role REGISTRATION_BODY --city_id wuhan-east-lake)"
ctl "${city_key}" deal submit-registration --request_id demo-registration-submit --deal_id "${deal_id}" \
  --expected_version 7 --category LICENCE --declared_value "600000.00 CNY" \
  --document_reference WH-2026-000123 | grep -E '^(registration\.(state|deadline|submissions)) '
ctl "${body_key}" deal register --request_id demo-registration --deal_id "${deal_id}" \
  --expected_version 8 --registration_number 4201012026000123 --category LICENCE \
  --registered_value "580000.00 CNY" |
  grep -E '^(registration\.(state|registration_number|registered_value)) '

step "The fund: Wuhan East Lake's programme (10 % to 500 000.00, 5 % above; 30 % at signing, 70 % at completion)"
year="$(date -u +%Y)"
programme_id="$(ctl "${TECHTRADE_API_KEY}" fund programme create --json --request_id demo-programme \
  --name "东湖高新区技术交易补贴 ${year}" --city_id wuhan-east-lake \
  --start_time "${year}-01-01T00:00:00+08:00" --end_time "$((year + 1))-01-01T00:00:00+08:00" \
  --total_budget "5000000.00 CNY" --rules.eligible_transfer_modes EXCLUSIVE_LICENSE \
  --rules.eligible_transfer_modes ASSIGNMENT --rules.eligible_buyer_kinds ENTERPRISE \
  --rules.min_contract_value_minor 10000000 \
  --rules.bands '{"from_minor":"0","rate_bps":1000}' --rules.bands '{"from_minor":"50000000","rate_bps":500}' \
  --rules.per_deal_cap_minor 10000000 --rules.per_organization_annual_cap_minor 20000000 \
  --rules.tranches '{"trigger":"TRANCHE_TRIGGER_SIGNING","share_bps":3000}' \
  --rules.tranches '{"trigger":"TRANCHE_TRIGGER_COMPLETION","share_bps":7000}' \
  --rules.auto_approval_threshold_minor 10000000 --rules.claw_back_on_cancellation true | json_field id)"
note "programme ${programme_id}"
note "the portal applies for the signed deal (the fund learns of the signing from Kafka):"
for _ in $(seq 1 100); do
  if out="$(ctl "${city_key}" fund application submit --json --request_id demo-application \
    --programme_id "${programme_id}" --deal_id "${deal_id}" 2>&1)"; then break; fi
  [[ ${out} == *"has no signed deal"* ]] || { echo "${out}" >&2; exit 1; }
  sleep 0.2
done
application_id="$(echo "${out}" | json_field id)"
ctl "${city_key}" fund application get --id "${application_id}" |
  grep -E '^(status|decision_reason|calculation\.|approved_minor|disbursed_minor) '

step "Performance: two milestones delivered, accepted and paid by the bank"
version=9
for m in 1 2; do
  ctl "${city_key}" deal deliver --request_id "demo-deliver-${m}" --deal_id "${deal_id}" \
    --expected_version "${version}" --milestone_index "${m}" >/dev/null
  ctl "${city_key}" deal accept-milestone --request_id "demo-accept-${m}" --deal_id "${deal_id}" \
    --expected_version "$((version + 1))" --milestone_index "${m}" >/dev/null
  amount=$([[ ${m} == 1 ]] && echo "180000.00 CNY" || echo "420000.00 CNY")
  ctl "${bank_key}" deal pay --request_id "demo-pay-${m}" --deal_id "${deal_id}" \
    --expected_version "$((version + 2))" --milestone_index "${m}" --amount "${amount}" \
    --payment_reference "HBBANK-2026-000${m}" | grep -E '^(state|paid_total) '
  version=$((version + 3))
done

step "The fund pays the rest of the subsidy at completion"
for _ in $(seq 1 100); do
  status="$(ctl "${city_key}" fund application get --json --id "${application_id}" | json_field status)"
  [[ ${status} == APPLICATION_STATUS_COMPLETED ]] && break
  sleep 0.2
done
ctl "${city_key}" fund application get --id "${application_id}" |
  grep -E '^(status|approved_minor|disbursed_minor) '
ctl "${TECHTRADE_API_KEY}" fund ledger --programme_id "${programme_id}"
note "reconciled from the ledger:"
ctl "${TECHTRADE_API_KEY}" fund reconcile --programme_id "${programme_id}" --json |
  grep -E '"(entries_checked|balanced|available_minor|disbursed_minor)"' | sed 's/^ */   /' | sort -u
note "appraisal of Wuhan East Lake this year:"
ctl "${TECHTRADE_API_KEY}" fund appraisal --city_id wuhan-east-lake \
  --period_start "${year}-01-01T00:00:00+08:00" --period_end "$((year + 1))-01-01T00:00:00+08:00"

step "What the bank's consumer read from its own Kafka topic, with its own certificate"
# Onboarding on Kafka: the bank's certificate (CN = its partner id), its topic, and ACLs that let
# it read that topic and nothing else.
"${ROOT}/deploy/local/stack.sh" partner "${bank_id}" >/dev/null
TECHTRADE_KAFKA_CERT="${STATE}/pki/${bank_id}.crt" TECHTRADE_KAFKA_KEY="${STATE}/pki/${bank_id}.key" \
  "${ROOT}/build/bin/techtrade-partner" --brokers "${TECHTRADE_KAFKA_BROKERS}" --idle_exit_seconds 3 \
  --partner_id "${bank_id}" --group "${bank_id}.demo-$(date +%s)" 2>/dev/null | grep -E "(${deal_id:0:8}|${application_id:0:8}|events over)" |
  sed 's/^/   /'

step "The deal's attestation (交易鉴证): the head of its event chain, signed by the platform"
ctl "${bank_key}" deal attestation --deal_id "${deal_id}" --json >"${STATE}/demo-attestation.json"
note "the bank checks its copy of the stream offline, against the platform's public key:"
TECHTRADE_KAFKA_CERT="${STATE}/pki/${bank_id}.crt" TECHTRADE_KAFKA_KEY="${STATE}/pki/${bank_id}.key" \
  "${ROOT}/build/bin/techtrade-verify-deal" --attestation "${STATE}/demo-attestation.json" \
  --topic "techtrade.partner.${bank_id}.deals.v1" --deal_id "${deal_id}" 2>/dev/null | sed 's/^/   /'

echo
echo "Platform addresses and the operator key: ${ENV_FILE}"
"${ROOT}/deploy/local/stack.sh" status
