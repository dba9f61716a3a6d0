# shellcheck shell=bash
# Part of deploy/local/stack.sh: the operator key and the sourceable env file.

readonly KEY_RE='^tt_[0-9a-f]{16}_[0-9a-f]{64}$'

random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

# The bootstrap operator key is generated once per instance and then kept: the registry stores its
# hash on first start, so a new key would lock the operator out of an existing database.
operator_key() {
  local key
  if [[ ! -f ${KEY_FILE} ]]; then
    ensure_dirs
    key="tt_$(random_hex 8)_$(random_hex 32)"
    (umask 077 && printf '%s\n' "${key}" >"${KEY_FILE}.tmp.$$")
    mv "${KEY_FILE}.tmp.$$" "${KEY_FILE}"
  fi
  key="$(cat "${KEY_FILE}")"
  [[ ${key} =~ ${KEY_RE} ]] || die "${KEY_FILE} does not hold a valid key (tt_<16 hex>_<64 hex>)"
  printf '%s' "${key}"
}

pg_server_url() { printf 'postgresql://techtrade@127.0.0.1:%s' "${PORT_PG}"; }

# The TLS files of identity NAME (pki.sh) for gRPC, Kafka and PostgreSQL (libpq reads PGSSL*).
tls_env() {
  local name=$1
  echo "TECHTRADE_TLS_CA=${CA_CRT}"
  echo "TECHTRADE_TLS_CERT=${PKI}/${name}.crt"
  echo "TECHTRADE_TLS_KEY=${PKI}/${name}.key"
  echo "TECHTRADE_KAFKA_CA=${CA_CRT}"
  echo "TECHTRADE_KAFKA_CERT=${PKI}/${name}.crt"
  echo "TECHTRADE_KAFKA_KEY=${PKI}/${name}.key"
  echo "PGSSLMODE=verify-full"
  echo "PGSSLROOTCERT=${CA_CRT}"
  echo "PGSSLCERT=${PKI}/${name}.crt"
  echo "PGSSLKEY=${PKI}/${name}.key"
}

write_env() {
  local key svc upper
  key="$(operator_key)"
  ensure_pki
  ensure_attestation_key
  # Made private before anything is written into it: it holds the operator key and passwords.
  (umask 077 && : >"${ENV_FILE}.tmp.$$")
  {
    echo "TECHTRADE_INSTANCE=${INSTANCE}"
    for svc in "${SERVICES[@]}"; do
      upper="${svc^^}"
      echo "TECHTRADE_${upper}_ADDR=127.0.0.1:$(svc_port "${svc}")"
    done
    echo "TECHTRADE_KAFKA_BROKERS=127.0.0.1:${PORT_KAFKA}"
    echo "TECHTRADE_REDIS_URL=$(redis_url)"
    echo "TECHTRADE_PG_URL=$(pg_server_url)"
    echo "TECHTRADE_API_KEY=${key}"
    # The developer's identity: tools and tests on this machine.
    tls_env dev
    # Transactions processes started by tests inherit the signing key; verifiers use the public.
    echo "TECHTRADE_ATTESTATION_KEY=${ATTESTATION_KEY}"
    echo "TECHTRADE_ATTESTATION_PUBLIC_KEY=${ATTESTATION_PUB}"
    for svc in "${SERVICES[@]}"; do
      upper="${svc^^}"
      echo "TECHTRADE_${upper}_METRICS_ADDR=127.0.0.1:$(svc_metrics_port "${svc}")"
      echo "TECHTRADE_${upper}_HEALTH_ADDR=127.0.0.1:$(svc_health_port "${svc}")"
    done
  } >"${ENV_FILE}.tmp.$$"
  mv "${ENV_FILE}.tmp.$$" "${ENV_FILE}"
}
