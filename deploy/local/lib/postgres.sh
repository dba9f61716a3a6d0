# shellcheck shell=bash
# Part of deploy/local/stack.sh: PostgreSQL 15 (data dir, cluster, role and databases).

# --- PostgreSQL paths ---
# PG_DIR normally is <state>/pg, but the postgres user must be able to reach it. If it cannot (the
# repo lives under /root or a private /tmp dir) the data goes to /var/tmp instead; that choice is
# recorded in <state>/pg-location so later runs find the data again.
PG_DIR=""
PG_DATA=""
PG_SOCK=""
pg_paths() {
  [[ -z ${PG_DIR} ]] || return 0
  if [[ -s "${STATE}/pg-location" ]]; then
    PG_DIR="$(cat "${STATE}/pg-location")"
  else
    PG_DIR="${STATE}/pg"
  fi
  PG_DATA="${PG_DIR}/data"
  PG_SOCK="${PG_DIR}/sock"
}

pg_fallback_dir() {
  local reason=$1 tag old owner
  # One directory per checkout (a hash of its state path), so that several clones of the project
  # on one machine (CI runs one per submission) never share or fight over PostgreSQL data.
  tag="$(printf '%s' "${STATE}" | sha256sum | cut -c1-10)"
  # Physical path: ownership checks compare it with the server's working directory.
  PG_DIR="$(realpath -m "/var/tmp/techtrade-${INSTANCE}-${tag}-pg")"
  # Data of checkouts that no longer exist and whose server is gone is garbage: remove it.
  for old in /var/tmp/techtrade-*-pg; do
    [[ -f "${old}/.owner" && "${old}" != "${PG_DIR}" ]] || continue
    owner="$(cat "${old}/.owner")"
    if [[ ! -d ${owner} ]] && ! pgrep -f -- "-D ${old}/data" >/dev/null 2>&1; then
      log "postgres: removing ${old}, left by a checkout that no longer exists"
      rm -rf "${old}"
    fi
  done
  log "postgres: ${reason}; keeping PostgreSQL data in ${PG_DIR} instead of $(rel "${STATE}/pg")"
  mkdir -p "${PG_DIR}"
  printf '%s\n' "${STATE}" >"${PG_DIR}/.owner"
  printf '%s\n' "${PG_DIR}" >"${STATE}/pg-location"
}

pg_prepare_dir() {
  pg_paths
  if [[ ! -s "${STATE}/pg-location" ]]; then
    # A unix socket path is limited to 107 bytes.
    if ((${#PG_SOCK} + 16 > 107)); then
      pg_fallback_dir "the socket path under $(rel "${STATE}") would be too long"
    elif ((EUID == 0)) && ! runuser -u postgres -- test -x "${STATE}" 2>/dev/null; then
      # Only loosen dirs that belong to this checkout (o+x = traverse, not list); a private parent
      # such as /root is left alone and the data moves to /var/tmp instead.
      if runuser -u postgres -- test -x "$(dirname "${ROOT}")" 2>/dev/null; then
        local d
        for d in "${ROOT}" "${ROOT}/.run" "${STATE}"; do
          if ! runuser -u postgres -- test -x "${d}" 2>/dev/null; then
            log "postgres: chmod o+x ${d} so the postgres user can reach its data dir"
            chmod o+x "${d}"
          fi
        done
      fi
      if ! runuser -u postgres -- test -x "${STATE}" 2>/dev/null; then
        pg_fallback_dir "user postgres cannot traverse the path to $(rel "${STATE}")"
      fi
    fi
    PG_DATA="${PG_DIR}/data"
    PG_SOCK="${PG_DIR}/sock"
  fi
  mkdir -p "${PG_DIR}" "${PG_SOCK}"
  if ((EUID == 0)); then
    chown postgres:postgres "${PG_DIR}" "${PG_SOCK}"
  fi
  chmod 700 "${PG_DIR}"
}

pg_ready() { "${PG_BIN}/pg_isready" -q -h 127.0.0.1 -p "${PORT_PG}" -U postgres -d postgres -t 2; }

pg_init() {
  if [[ -f "${PG_DATA}/PG_VERSION" ]]; then
    return 0
  fi
  log "postgres: initialising a new cluster in ${PG_DATA}"
  # Trust until pg_write_conf replaces pg_hba.conf with certificate authentication.
  if ! as_pg "${PG_BIN}/initdb" -D "${PG_DATA}" -U postgres --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 >"${LOGS}/initdb.log" 2>&1; then
    show_log_tail "${LOGS}/initdb.log"
    die "postgres: initdb failed (log: ${LOGS}/initdb.log)"
  fi
}

# Our settings live in their own file, rewritten on every start (the port base may change), and
# included at the end of postgresql.conf so that they win.
pg_write_conf() {
  local conf="${PG_DATA}/techtrade.conf"
  if ! grep -qxE "include(_if_exists)? = 'techtrade.conf'" "${PG_DATA}/postgresql.conf"; then
    printf "\ninclude = 'techtrade.conf'\n" >>"${PG_DATA}/postgresql.conf"
  fi
  cat >"${conf}" <<EOF
# Written by deploy/local/stack.sh on every start; edits are overwritten.
listen_addresses = '127.0.0.1'
port = ${PORT_PG}
unix_socket_directories = '${PG_SOCK}'
max_connections = 200
ssl = on
ssl_cert_file = 'techtrade-server.crt'
ssl_key_file = 'techtrade-server.key'
ssl_ca_file = 'techtrade-ca.crt'
ssl_min_protocol_version = 'TLSv1.2'
EOF
  # TCP only over TLS, and only with a certificate of the instance CA (pg_ident.conf maps the CN
  # to a role). A service database admits only its own service's certificate, dev's and admin's,
  # so a service that is broken into cannot reach its peers' data; every other database (the
  # tests' scratch ones, postgres) admits the platform's identities, never a partner's. The
  # services and the tools map to the role techtrade, admin to postgres. The socket (this
  # script's own maintenance) stays trusted.
  local svc
  {
    echo "# Written by deploy/local/stack.sh on every start; edits are overwritten."
    echo "local     all  all                    trust"
    echo "hostnossl all  all  0.0.0.0/0         reject"
    echo "hostnossl all  all  ::/0              reject"
    for svc in "${SERVICES[@]}"; do
      echo "hostssl   techtrade_${svc}  all  127.0.0.1/32  cert map=${svc}"
    done
    echo "hostssl   all  all  127.0.0.1/32      cert map=techtrade"
  } >"${PG_DATA}/pg_hba.conf"
  local map cns platform
  platform="$(
    IFS='|'
    echo "${SERVICES[*]}"
  )"
  {
    echo "# Written by deploy/local/stack.sh on every start; edits are overwritten."
    for map in "${SERVICES[@]}" techtrade; do
      cns="${map}"
      [[ ${map} != techtrade ]] || cns="${platform}"
      printf '%s  /^(%s|dev)$  techtrade\n' "${map}" "${cns}"
      printf '%s  admin  postgres\n%s  admin  techtrade\n' "${map}" "${map}"
    done
  } >"${PG_DATA}/pg_ident.conf"
  # PostgreSQL refuses a key that anyone but its owner can read, so it gets its own copies.
  cp "${PKI}/postgres.crt" "${PG_DATA}/techtrade-server.crt"
  cp "${PKI}/postgres.key" "${PG_DATA}/techtrade-server.key"
  cp "${CA_CRT}" "${PG_DATA}/techtrade-ca.crt"
  if ((EUID == 0)); then
    chown postgres:postgres "${conf}" "${PG_DATA}/pg_hba.conf" "${PG_DATA}/pg_ident.conf" \
      "${PG_DATA}"/techtrade-*.crt "${PG_DATA}/techtrade-server.key"
  fi
  chmod 600 "${conf}" "${PG_DATA}/techtrade-server.key"
}

# psql as the admin (certificate CN admin, mapped to the superuser postgres) on database $1; the
# remaining arguments go to psql, the log to postgres-bootstrap.log.
pg_admin_psql() {
  local db=$1
  shift
  PGSSLMODE=verify-full PGSSLROOTCERT="${CA_CRT}" PGSSLCERT="${PKI}/admin.crt" \
    PGSSLKEY="${PKI}/admin.key" "${PG_BIN}/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 \
    -p "${PORT_PG}" -U postgres -d "${db}" "$@" >>"${LOGS}/postgres-bootstrap.log" 2>&1
}

# Roles and databases, idempotently. The services' role techtrade is no superuser (a superuser
# can rewrite the audit log, deploy/sql/seal_audit_log.sql); CREATEDB stays for the tests'
# scratch databases, and the benchmarks count WAL segments (pg_ls_waldir) and CHECKPOINT.
pg_bootstrap() {
  local dbs
  dbs="$(printf "'%s'," "${PG_DATABASES[@]}")"
  if ! pg_admin_psql postgres <<EOF; then
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'techtrade') THEN
    CREATE ROLE techtrade LOGIN CREATEDB;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'techtrade_audit') THEN
    CREATE ROLE techtrade_audit NOLOGIN;
  END IF;
END
\$\$;
ALTER ROLE techtrade NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS;
GRANT pg_checkpoint TO techtrade;
SELECT format('CREATE DATABASE %I OWNER techtrade', d)
  FROM unnest(ARRAY[${dbs%,}]) AS d
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = d)
\gexec
EOF
    show_log_tail "${LOGS}/postgres-bootstrap.log"
    die "postgres: creating roles/databases failed"
  fi
  # A function's EXECUTE right is a database's own: granted in template1, the databases created
  # from it (the benchmarks' scratch ones) have it too.
  if ! pg_admin_psql template1 -c "GRANT EXECUTE ON FUNCTION pg_catalog.pg_ls_waldir() TO techtrade"; then
    show_log_tail "${LOGS}/postgres-bootstrap.log"
    die "postgres: granting pg_ls_waldir failed"
  fi
}

# Seals the audit_log of each named service's database (deploy/sql/seal_audit_log.sql), once
# the service is up and so has applied its migrations.
pg_seal_audit_logs() {
  local svc
  for svc in "$@"; do
    # The roles named for the session: a database-level default for these settings (which the
    # database's owner could have set) never applies.
    if ! PGOPTIONS='-c techtrade.service_role=techtrade -c techtrade.schema_role=techtrade' \
      pg_admin_psql "techtrade_${svc}" -f "${ROOT}/deploy/sql/seal_audit_log.sql"; then
      show_log_tail "${LOGS}/postgres-bootstrap.log"
      die "postgres: sealing the audit_log of techtrade_${svc} failed"
    fi
  done
  (($# == 0)) || log "postgres: audit_log sealed in ${*/#/techtrade_}"
}

start_postgres() {
  local pid t0
  pg_paths
  if pid="$(live_pid postgres)"; then
    log "postgres: already running (pid ${pid}, 127.0.0.1:${PORT_PG})"
    printf '%s\n' "${pid}" >"$(pidfile postgres)"
    # A server started by an older checkout keeps its pg_hba.conf and its roles (techtrade may
    # still be a superuser): bring both to what a fresh start makes. A reload by signal works
    # whatever the old pg_hba.conf admits.
    pg_write_conf
    if ! as_pg "${PG_BIN}/pg_ctl" -D "${PG_DATA}" -s reload >>"${LOGS}/postgres.log" 2>&1; then
      show_log_tail "${LOGS}/postgres.log"
      die "postgres: reloading its configuration failed (log: ${LOGS}/postgres.log)"
    fi
    wait_ready postgres "${READY_TIMEOUT}" pg_ready "${LOGS}/postgres.log"
    pg_bootstrap
    return 0
  fi
  require_free_port "${PORT_PG}" postgres
  [[ -x "${PG_BIN}/pg_ctl" ]] || die "PostgreSQL 15 not found in ${PG_BIN}; run deploy/local/deps.sh"
  t0="$(now_ms)"
  pg_prepare_dir
  pg_init
  pg_write_conf
  # A postmaster.pid left by a crash whose pid now belongs to an unrelated process makes PostgreSQL
  # refuse to start. Remove it only then: if that pid is any postgres process, leave the decision
  # to PostgreSQL's own interlock.
  local old_pid
  old_pid="$(head -n1 "${PG_DATA}/postmaster.pid" 2>/dev/null)" || old_pid=""
  if [[ ${old_pid} =~ ^[0-9]+$ && "$(cat "/proc/${old_pid}/comm" 2>/dev/null)" != postgres ]]; then
    rm -f "${PG_DATA}/postmaster.pid"
  fi
  log "postgres: starting on 127.0.0.1:${PORT_PG}"
  # No -l: the server inherits this already-open log file, which works even when the postgres
  # user could not open a path inside the state dir. pg_ctl puts the server in its own session.
  if ! as_pg "${PG_BIN}/pg_ctl" -D "${PG_DATA}" -w -t "${READY_TIMEOUT}" -s start \
    >>"${LOGS}/postgres.log" 2>&1 9>&-; then
    show_log_tail "${LOGS}/postgres.log"
    die "postgres: failed to start (log: ${LOGS}/postgres.log)"
  fi
  wait_ready postgres "${READY_TIMEOUT}" pg_ready "${LOGS}/postgres.log"
  if pid="$(live_pid postgres)"; then
    printf '%s\n' "${pid}" >"$(pidfile postgres)"
  fi
  pg_bootstrap
  log "postgres: ready on 127.0.0.1:${PORT_PG} ($(elapsed_since "${t0}"))"
}

stop_postgres() {
  local pid
  pg_paths
  if ! pid="$(live_pid postgres)"; then
    rm -f "$(pidfile postgres)"
    return 0
  fi
  log "postgres: stopping (pid ${pid})"
  if ! as_pg "${PG_BIN}/pg_ctl" -D "${PG_DATA}" -m fast -w -t 30 -s stop >>"${LOGS}/postgres.log" 2>&1; then
    warn "postgres: fast shutdown did not finish in 30s, using immediate shutdown"
    as_pg "${PG_BIN}/pg_ctl" -D "${PG_DATA}" -m immediate -w -t 30 -s stop >>"${LOGS}/postgres.log" 2>&1 || true
  fi
  rm -f "$(pidfile postgres)"
}

kill_postgres() {
  local pid
  pg_paths
  if pid="$(live_pid postgres)"; then
    log "postgres: immediate shutdown (pid ${pid})"
    as_pg "${PG_BIN}/pg_ctl" -D "${PG_DATA}" -m immediate -w -t 30 -s stop >>"${LOGS}/postgres.log" 2>&1 || true
  fi
  rm -f "$(pidfile postgres)"
}
