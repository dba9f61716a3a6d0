#!/usr/bin/env bash
# The short demo of `make run`: drives the running dev platform through grpcurl, the way a
# pilot-city system would, and shows the events a finance partner would read from Kafka.
# Safe to run again: every mutation carries a fixed request_id, so a second run replays.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENV_FILE="${ROOT}/.run/${TECHTRADE_INSTANCE:-dev}/env"
[[ -f ${ENV_FILE} ]] || { echo "demo: ${ENV_FILE} missing: start the platform with 'make up'" >&2; exit 1; }
set -a
# shellcheck disable=SC1090
source "${ENV_FILE}"
set +a
GRPCURL="${ROOT}/.run/bin/grpcurl"
SVC=techtrade.registry.v1.RegistryService

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# call KEY METHOD JSON: prints the response; exits on an unexpected error.
call() {
  "${GRPCURL}" -plaintext -H "authorization: Bearer $1" -d "$3" "${TECHTRADE_REGISTRY_ADDR}" "${SVC}/$2"
}
# lcall KEY METHOD JSON: the same against the listings service.
lcall() {
  "${GRPCURL}" -plaintext -H "authorization: Bearer $1" -d "$3" "${TECHTRADE_LISTINGS_ADDR}" \
    "techtrade.listings.v1.ListingsService/$2"
}
field() { sed -n "s/^  \"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" | head -n 1; }

step "Health and reflection (grpcurl)"
"${GRPCURL}" -plaintext "${TECHTRADE_REGISTRY_ADDR}" grpc.health.v1.Health/Check
"${GRPCURL}" -plaintext "${TECHTRADE_REGISTRY_ADDR}" list

step "Operator creates the pilot park Wuhan East Lake (武汉东湖新技术开发区)"
call "${TECHTRADE_API_KEY}" CreatePilotCity '{"request_id":"demo-city-wuhan","id":"wuhan-east-lake","name":"武汉东湖新技术开发区","kind":"PILOT_CITY_KIND_PARK","division_code":"420100"}'
call "${TECHTRADE_API_KEY}" CreatePilotCity '{"request_id":"demo-city-shenzhen","id":"shenzhen","name":"深圳","kind":"PILOT_CITY_KIND_CITY","division_code":"440300"}' >/dev/null

step "Operator issues an API key for the Wuhan East Lake portal (the secret is shown once)"
issued="$(call "${TECHTRADE_API_KEY}" IssueApiKey '{"request_id":"demo-key-wuhan","name":"Wuhan East Lake portal","role":"API_CLIENT_ROLE_CITY_SYSTEM","city_id":"wuhan-east-lake"}')"
echo "${issued}" | sed 's/"apiKey": "tt_\([0-9a-f]*\)_[0-9a-f]*"/"apiKey": "tt_\1_<secret>"/; s/"api_key": "tt_\([0-9a-f]*\)_[0-9a-f]*"/"api_key": "tt_\1_<secret>"/'
city_key="$(echo "${issued}" | sed -n 's/.*"api_\{0,1\}[kK]ey": "\(tt_[0-9a-f_]*\)".*/\1/p')"
key_file="${ROOT}/.run/${TECHTRADE_INSTANCE:-dev}/demo-city.key"
if [[ -n ${city_key} ]]; then echo "${city_key}" >"${key_file}"; chmod 600 "${key_file}"; else city_key="$(cat "${key_file}")"; echo "(a replay returns no secret; the demo kept the first one)"; fi

step "The portal registers a university and an enterprise (Unified Social Credit Codes checked)"
uni="$(call "${city_key}" RegisterOrganization '{"request_id":"demo-org-uni","credit_code":"12420000441625697U","name":"华中科技大学","kind":"ORGANIZATION_KIND_UNIVERSITY","city_id":"wuhan-east-lake","contact_email":"tto@hust.edu.cn"}')"
echo "${uni}"
ent="$(call "${city_key}" RegisterOrganization '{"request_id":"demo-org-ent","credit_code":"91420100MA4K2XQ0B4","name":"武汉光谷智能装备有限公司","kind":"ORGANIZATION_KIND_ENTERPRISE","city_id":"wuhan-east-lake"}')"
uni_id="$(echo "${uni}" | field id)"
ent_id="$(echo "${ent}" | field id)"

step "A mistyped credit code is refused, naming the field, and nothing is written"
call "${city_key}" RegisterOrganization '{"request_id":"demo-org-typo","credit_code":"91420100MA4K2XQ0B5","name":"Typo Ltd","kind":"ORGANIZATION_KIND_ENTERPRISE","city_id":"wuhan-east-lake"}' 2>&1 | sed -n '1,3p' || true

step "The Wuhan portal may not act for Shenzhen"
call "${city_key}" RegisterOrganization '{"request_id":"demo-org-sz","credit_code":"91440300MA5G3UJ8AH","name":"深圳某公司","kind":"ORGANIZATION_KIND_ENTERPRISE","city_id":"shenzhen"}' 2>&1 | sed -n '1,3p' || true

step "The portal verifies both organisations (optimistic concurrency: expected_version 1)"
call "${city_key}" VerifyOrganization "{\"request_id\":\"demo-verify-uni\",\"id\":\"${uni_id}\",\"expected_version\":1}" | grep -E '"(name|status|version)"'
call "${city_key}" VerifyOrganization "{\"request_id\":\"demo-verify-ent\",\"id\":\"${ent_id}\",\"expected_version\":1}" | grep -E '"(name|status|version)"'

step "A stale expected_version is refused and changes nothing"
call "${city_key}" UpdateOrganization "{\"request_id\":\"demo-stale\",\"id\":\"${uni_id}\",\"expected_version\":1,\"name\":\"stale write\"}" 2>&1 | sed -n '1,3p' || true

step "Organisations of Wuhan East Lake"
call "${city_key}" ListOrganizations '{"city_id":"wuhan-east-lake","page_size":10}' | grep -E '"(name|status|creditCode|credit_code)"'

step "The university offers a technology; the enterprise posts what it needs"
offer="$(lcall "${city_key}" CreateOffer "{\"request_id\":\"demo-offer\",\"owner_org_id\":\"${uni_id}\",\"offer\":{\"title\":\"基于深度学习的锂电池健康状态在线估计方法\",\"abstract\":\"利用充放电曲线的增量容量特征与迁移学习模型在线估计锂离子电池健康状态, 误差小于2%, 可部署于现有电池管理系统。\",\"ipc_codes\":[\"H01M 10/48\",\"G06N 3/08\"],\"fields\":[\"energy-storage\",\"artificial-intelligence\"],\"readiness_level\":6,\"ip_assets\":[\"CN114512345A\"],\"transfer_modes\":[\"TRANSFER_MODE_EXCLUSIVE_LICENSE\",\"TRANSFER_MODE_ASSIGNMENT\"],\"asking_price\":{\"currency\":\"CNY\",\"amount_minor\":\"80000000\"}}}")"
offer_id="$(echo "${offer}" | field id)"
lcall "${city_key}" PublishOffer "{\"request_id\":\"demo-offer-publish\",\"id\":\"${offer_id}\",\"expected_version\":1}" | grep -E '"(title|status|version)"'
demand="$(lcall "${city_key}" CreateDemand "{\"request_id\":\"demo-demand\",\"seeker_org_id\":\"${ent_id}\",\"demand\":{\"title\":\"储能电站锂电池健康状态在线监测技术\",\"problem\":\"我公司储能电站需要在线估计锂电池健康状态, 提前发现衰减电芯, 希望获得成熟的估计方法并独占使用。\",\"ipc_codes\":[\"H01M 10/44\"],\"fields\":[\"energy-storage\"],\"min_readiness_level\":5,\"budget_min\":{\"currency\":\"CNY\",\"amount_minor\":\"0\"},\"budget_max\":{\"currency\":\"CNY\",\"amount_minor\":\"100000000\"},\"transfer_modes\":[\"TRANSFER_MODE_EXCLUSIVE_LICENSE\"]}}")"
demand_id="$(echo "${demand}" | field id)"
lcall "${city_key}" PublishDemand "{\"request_id\":\"demo-demand-publish\",\"id\":\"${demand_id}\",\"expected_version\":1}" | grep -E '"(title|status|version)"'

step "Keyword search (Chinese has no spaces: character bigrams)"
lcall "${city_key}" Search '{"kind":"LISTING_KIND_OFFER","query":"电池健康","min_readiness_level":5}' | grep -E '"(title|score|total)"'

step "Matchmaking: offers for the enterprise's demand, each factor explained"
lcall "${city_key}" MatchOffersForDemand "{\"id\":\"${demand_id}\",\"limit\":3}" | grep -E '"(title|score|name|reason)"'

step "What a consumer of techtrade.registry.events.v1 receives (one event per change, in order)"
"${ROOT}/build/bin/techtrade-events" --brokers "${TECHTRADE_KAFKA_BROKERS}" \
  --topic techtrade.registry.events.v1 --from_beginning --idle_exit_seconds 3 |
  sed -E 's/.*"partition":([0-9]+),"offset":([0-9]+).*"event_type":"techtrade\.registry\.v1\.([A-Za-z]+)".*"aggregate_id":"([^"]+)".*"sequence":"([0-9]+)".*/  p\1 @\2  \3  \4  seq \5/'

echo
echo "Platform addresses and the operator key: ${ENV_FILE}"
deploy_status="$("${ROOT}/deploy/local/stack.sh" status)"
echo "${deploy_status}"
