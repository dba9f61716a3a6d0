# shellcheck shell=bash
# Part of deploy/local/stack.sh: the instance's development CA and the certificates made from it.
# Everything in the local stack speaks TLS with these (docs/security.md): the gRPC servers (mutual
# TLS), PostgreSQL, the Kafka broker (client certificates, ACLs by certificate principal).
#
# <state>/pki holds, per identity NAME: NAME.crt, NAME.key (PKCS#8, mode 600) and, for the broker
# and the Kafka admin client, NAME.pem (key then certificate: Kafka's PEM keystore). ca.key stays
# there too so that tests can issue short-lived, expired or partner certificates. A development CA
# only: never a production trust root.

readonly PKI="${STATE}/pki"
readonly CA_CRT="${PKI}/ca.crt"
# Identities of the stack: the four services (server and client), the broker, PostgreSQL's server,
# the Kafka admin tools, and "dev", the identity of the developer's tools and of the tests.
readonly PKI_IDENTITIES=(registry listings transactions fund broker postgres admin dev)
# Leaf lifetime; the stack renews any leaf with less than a week left.
readonly PKI_LEAF_DAYS=90
# The platform's deal-attestation key pair (Ed25519; docs/security.md, "Signed deal
# attestation"). Beside pki, not in it: renewing the CA clears pki, and a new attestation key
# would leave earlier attestations verifiable only with a public key nobody kept.
readonly ATTESTATION_DIR="${STATE}/attestation"
readonly ATTESTATION_KEY="${ATTESTATION_DIR}/attestation.key"
readonly ATTESTATION_PUB="${ATTESTATION_DIR}/attestation.pub"

pki_sans() {
  local name=$1
  case "${name}" in
    registry | listings | transactions | fund)
      # The names a caller may use: local, the Kubernetes Service and its headless twin.
      printf 'DNS:localhost,IP:127.0.0.1,DNS:%s,DNS:%s-pods,DNS:%s.techtrade.svc' \
        "${name}" "${name}" "${name}"
      ;;
    *) printf 'DNS:localhost,IP:127.0.0.1,DNS:%s' "${name}" ;;
  esac
}

# Issues NAME's certificate, signed by the instance CA, valid for DAYS. A platform identity may
# serve and call (serverAuth, clientAuth, the names it is reached by); PROFILE "client" (an outside
# party, e.g. a finance partner) may only call: clientAuth and no name, so that it can never pass
# for one of the platform's servers.
pki_issue() {
  local name=$1 days=$2 profile=${3:-platform} tmp
  tmp="$(mktemp -d "${PKI}/.issue.XXXXXX")"
  (umask 077 && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "${tmp}/${name}.key" -out "${tmp}/${name}.csr" \
    -subj "/O=techtrade-dev/CN=${name}" 2>>"${PKI}/openssl.log")
  if [[ ${profile} == client ]]; then
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
      "extendedKeyUsage=clientAuth" >"${tmp}/${name}.ext"
  else
    printf '%s\n' "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth,clientAuth" \
      "subjectAltName=$(pki_sans "${name}")" >"${tmp}/${name}.ext"
  fi
  openssl x509 -req -in "${tmp}/${name}.csr" -CA "${CA_CRT}" -CAkey "${PKI}/ca.key" \
    -CAcreateserial -CAserial "${PKI}/ca.srl" -days "${days}" -sha256 \
    -extfile "${tmp}/${name}.ext" -out "${tmp}/${name}.crt" 2>>"${PKI}/openssl.log"
  (umask 077 && cat "${tmp}/${name}.key" "${tmp}/${name}.crt" >"${tmp}/${name}.pem")
  # Key before certificate: a reader that sees the new certificate finds its key already there.
  mv "${tmp}/${name}.key" "${PKI}/${name}.key"
  mv "${tmp}/${name}.pem" "${PKI}/${name}.pem"
  mv "${tmp}/${name}.crt" "${PKI}/${name}.crt"
  rm -rf "${tmp}"
}

# Whether NAME's certificate exists, is valid under the current CA and has a week left.
pki_current() {
  local name=$1
  [[ -s "${PKI}/${name}.crt" && -s "${PKI}/${name}.key" ]] &&
    openssl x509 -in "${PKI}/${name}.crt" -noout -checkend $((7 * 86400)) >/dev/null 2>&1 &&
    openssl verify -CAfile "${CA_CRT}" "${PKI}/${name}.crt" >/dev/null 2>&1
}

# Makes the CA (once) and every identity's certificate that is missing or expires within a week.
ensure_pki() {
  local name
  command -v openssl >/dev/null || die "openssl not found; run deploy/local/deps.sh"
  mkdir -p "${PKI}"
  chmod 700 "${PKI}"
  if [[ ! -s ${CA_CRT} || ! -s "${PKI}/ca.key" ]] ||
    ! openssl x509 -in "${CA_CRT}" -noout -checkend $((30 * 86400)) >/dev/null 2>&1; then
    log "pki: making the development CA in $(rel "${PKI}")"
    rm -f "${PKI}"/*.crt "${PKI}"/*.key "${PKI}"/*.pem "${PKI}/ca.srl"
    (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -keyout "${PKI}/ca.key" -out "${CA_CRT}" -days 3650 -sha256 \
      -subj "/O=techtrade-dev/CN=techtrade development CA ${INSTANCE}" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>>"${PKI}/openssl.log") ||
      die "pki: openssl could not make the CA (see $(rel "${PKI}/openssl.log"))"
    chmod 644 "${CA_CRT}"
  fi
  for name in "${PKI_IDENTITIES[@]}"; do
    if ! pki_current "${name}"; then
      pki_issue "${name}" "${PKI_LEAF_DAYS}" ||
        die "pki: openssl could not issue ${name}'s certificate (see $(rel "${PKI}/openssl.log"))"
    fi
  done
}

# Makes the attestation key pair once; an existing one is never replaced.
ensure_attestation_key() {
  mkdir -p "${ATTESTATION_DIR}"
  chmod 700 "${ATTESTATION_DIR}"
  if [[ ! -s ${ATTESTATION_KEY} ]]; then
    log "pki: making the deal-attestation key in $(rel "${ATTESTATION_DIR}")"
    (umask 077 && openssl genpkey -algorithm ed25519 -out "${ATTESTATION_KEY}.tmp.$$" \
      2>>"${PKI}/openssl.log") || die "pki: openssl could not make the attestation key"
    mv "${ATTESTATION_KEY}.tmp.$$" "${ATTESTATION_KEY}"
  fi
  chmod 600 "${ATTESTATION_KEY}"
  if [[ ! -s ${ATTESTATION_PUB} ]]; then
    openssl pkey -in "${ATTESTATION_KEY}" -pubout -out "${ATTESTATION_PUB}.tmp.$$" \
      2>>"${PKI}/openssl.log" || die "pki: openssl could not write the attestation public key"
    chmod 644 "${ATTESTATION_PUB}.tmp.$$"
    mv "${ATTESTATION_PUB}.tmp.$$" "${ATTESTATION_PUB}"
  fi
}
