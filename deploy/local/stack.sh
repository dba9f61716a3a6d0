#!/usr/bin/env bash
# Local stack for techtrade: PostgreSQL 15, Redis and a single-node Apache Kafka 3.9 (KRaft) on
# 127.0.0.1, plus the service binaries found in build/bin.
#
# Several instances can run side by side (TECHTRADE_INSTANCE=dev, test, ...), each with its own
# port range (TECHTRADE_PORT_BASE), state dir (.run/<instance>) and processes. Nothing here touches
# processes this script did not start: every pid is checked against the instance's own paths first.
#
# This is a development/test stack only: PostgreSQL trusts every local connection (no passwords),
# which is acceptable solely because everything listens on loopback.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: stack.sh up|down|status|env|start COMPONENT|stop COMPONENT|kill COMPONENT|start-services|stop-services
  up              install missing deps (unless TECHTRADE_SKIP_DEPS=1), start postgres, redis and
                  kafka, write the env file, start the built services
  down            stop services, kafka, redis and postgres (keeps all data)
  status          one line per component and service
  env             print the path of the sourceable env file
  start|stop X    X is postgres, redis or kafka
  kill X          a crash: SIGKILL for redis and kafka, an immediate shutdown (no checkpoint,
                  crash recovery at the next start) for postgres (fault tests: tests/chaos)
  start-services  start every service whose binary exists in build/bin
  stop-services   stop the services
environment: TECHTRADE_INSTANCE (default dev), TECHTRADE_PORT_BASE (dev 15400, test 25400,
             asan 26400, tsan 27400, others 35400), TECHTRADE_SKIP_DEPS=1,
             TECHTRADE_NO_SERVICES=1 (up: infrastructure only),
             TECHTRADE_KAFKA_JIT=c1|full (broker JIT: c1 starts answering fast, full is steady-state)
EOF
}

# ---------------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------------
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd "${SCRIPT_DIR}/../.." && pwd -P)"
readonly SCRIPT_DIR ROOT

INSTANCE="${TECHTRADE_INSTANCE:-dev}"

log() { printf 'stack[%s]: %s\n' "${INSTANCE}" "$*"; }
warn() { printf 'stack[%s]: WARNING: %s\n' "${INSTANCE}" "$*" >&2; }
die() {
  printf 'stack[%s]: ERROR: %s\n' "${INSTANCE}" "$*" >&2
  exit 1
}

# .run/kafka and .run/bin are shared by all instances, so those names are taken.
if [[ ! ${INSTANCE} =~ ^[a-z0-9][a-z0-9_-]{0,30}$ || ${INSTANCE} == kafka || ${INSTANCE} == bin ]]; then
  die "TECHTRADE_INSTANCE='${INSTANCE}' is invalid: use [a-z0-9_-], at most 31 chars, not 'kafka' or 'bin'"
fi

case "${INSTANCE}" in
  dev) DEFAULT_BASE=15400 ;;
  test) DEFAULT_BASE=25400 ;;
  # The sanitizer test runs (make test-asan, make test-tsan): own ports, so that each can run
  # beside `make test`, `make bench` and the other.
  asan) DEFAULT_BASE=26400 ;;
  tsan) DEFAULT_BASE=27400 ;;
  *) DEFAULT_BASE=35400 ;;
esac
BASE="${TECHTRADE_PORT_BASE:-${DEFAULT_BASE}}"
if [[ ! ${BASE} =~ ^[1-9][0-9]{3,4}$ ]] || ((BASE < 1024 || BASE + 93 > 65535)); then
  die "TECHTRADE_PORT_BASE='${BASE}' must be a number between 1024 and 65442"
fi

readonly STATE="${ROOT}/.run/${INSTANCE}"
readonly LOGS="${STATE}/logs"
readonly PIDS="${STATE}/pids"
readonly ENV_FILE="${STATE}/env"
readonly KEY_FILE="${STATE}/operator.key"

readonly PORT_PG=$((BASE + 32))
readonly PORT_REDIS=$((BASE + 79))
readonly PORT_KAFKA=$((BASE + 92))
readonly PORT_KAFKA_CONTROLLER=$((BASE + 93))

readonly PG_BIN=/usr/lib/postgresql/15/bin
readonly PG_DATABASES=(techtrade_registry techtrade_listings techtrade_transactions techtrade_fund)

readonly KAFKA_LIBS="${ROOT}/.run/kafka/libs"
readonly KAFKA_STATE="${STATE}/kafka"
readonly KAFKA_PROPS="${KAFKA_STATE}/server.properties"
readonly KAFKA_TOPICS=(
  techtrade.registry.events.v1
  techtrade.listings.events.v1
  techtrade.transactions.events.v1
  techtrade.fund.events.v1
)
# Partitions per topic (TECHTRADE_KAFKA_PARTITIONS; applies to topics this script creates). Two on
# a one-broker development stack: each partition a relay batch touches is a produce request of its
# own with librdkafka 2.0, and six cost the local broker three times the CPU per event of two.
# Production topics are sized by their operators for their consumers' parallelism.
readonly KAFKA_PARTITIONS="${TECHTRADE_KAFKA_PARTITIONS:-2}"

readonly SERVICES=(registry listings transactions fund)
readonly INFRA=(postgres redis kafka)

# Readiness time limits, in seconds.
readonly READY_TIMEOUT=30
readonly KAFKA_READY_TIMEOUT=60

svc_offset() {
  case "$1" in
    registry) echo 1 ;;
    listings) echo 2 ;;
    transactions) echo 3 ;;
    fund) echo 4 ;;
    *) die "unknown service '$1'" ;;
  esac
}
svc_port() { echo $((BASE + $(svc_offset "$1"))); }
svc_metrics_port() { echo $((BASE + 10 + $(svc_offset "$1"))); }
svc_bin() { printf '%s/build/bin/%s' "${ROOT}" "$1"; }

component_port() {
  case "$1" in
    postgres) echo "${PORT_PG}" ;;
    redis) echo "${PORT_REDIS}" ;;
    kafka) echo "${PORT_KAFKA}" ;;
    *) svc_port "$1" ;;
  esac
}

# ---------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------
# Milliseconds since the epoch (EPOCHREALTIME's separator follows the locale, so strip it).
now_ms() {
  local t="${EPOCHREALTIME//[!0-9]/}"
  echo $((t / 1000))
}
# Seconds with one decimal since START_MS.
elapsed_since() {
  local ms=$(($(now_ms) - $1))
  printf '%d.%ds' $((ms / 1000)) $((ms % 1000 / 100))
}

rel() { printf '%s' "${1#"${ROOT}/"}"; }

show_log_tail() {
  local f
  for f in "$@"; do
    [[ -s ${f} ]] || continue
    printf -- '--- last lines of %s ---\n' "${f}" >&2
    tail -n 40 "${f}" >&2 || true
    printf -- '---\n' >&2
  done
}

pidfile() { printf '%s/%s.pid' "${PIDS}" "$1"; }

# Prints the first listening socket on PORT (with the owning process), empty if the port is free.
port_listener() { ss -Hltnp "sport = :$1" 2>/dev/null | head -n1 | tr -s ' ' || true; }

require_free_port() {
  local port=$1 what=$2 line
  line="$(port_listener "${port}")"
  if [[ -n ${line} ]]; then
    die "port ${port} (${what}) is in use by: ${line}
  (stop that process, or pick other ports with TECHTRADE_PORT_BASE=<n>; this instance uses <n>+1..<n>+93)"
  fi
}

# Runs a command as the postgres user when we are root (PostgreSQL refuses to run as root), from /
# so that an unreadable current directory does not produce warnings.
as_pg() {
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

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

# --- process ownership ---
# True if PID is alive and is the COMPONENT process of this instance: its working directory (and
# command line where it matters) must be this instance's. That protects against reused pids and
# against processes of other instances or checkouts. Zombies have no cwd, so they count as gone.
owned_by_us() {
  local what=$1 pid=$2 cwd comm
  cwd="$(readlink "/proc/${pid}/cwd" 2>/dev/null)" || return 1
  comm="$(cat "/proc/${pid}/comm" 2>/dev/null)" || return 1
  case "${what}" in
    postgres)
      pg_paths
      [[ ${comm} == postgres && ${cwd} == "${PG_DATA}" ]]
      ;;
    redis) [[ ${comm} == redis-server && ${cwd} == "${STATE}/redis" ]] ;;
    kafka)
      [[ ${comm} == java && ${cwd} == "${KAFKA_STATE}" ]] &&
        tr '\0' '\n' <"/proc/${pid}/cmdline" 2>/dev/null | grep -qxF "${KAFKA_PROPS}"
      ;;
    *)
      # The binary is argv[0], or argv[1] if build/bin/<svc> is a script run by an interpreter.
      [[ ${cwd} == "${STATE}" ]] &&
        tr '\0' '\n' <"/proc/${pid}/cmdline" 2>/dev/null | head -n2 | grep -qxF "$(svc_bin "${what}")"
      ;;
  esac
}

# Prints the pid of this instance's COMPONENT if it is running; returns 1 otherwise.
live_pid() {
  local what=$1 pid
  if [[ ${what} == postgres ]]; then
    pg_paths
    pid="$(head -n1 "${PG_DATA}/postmaster.pid" 2>/dev/null)" || return 1
  else
    pid="$(cat "$(pidfile "${what}")" 2>/dev/null)" || return 1
  fi
  [[ ${pid} =~ ^[0-9]+$ ]] && owned_by_us "${what}" "${pid}" || return 1
  printf '%s\n' "${pid}"
}

# SIGTERM, wait up to TIMEOUT seconds, then SIGKILL. Only ever called with a pid that live_pid
# vouched for.
terminate() {
  local what=$1 pid=$2 timeout=$3 deadline
  kill -TERM "${pid}" 2>/dev/null || true
  deadline=$((SECONDS + timeout))
  while owned_by_us "${what}" "${pid}"; do
    if ((SECONDS >= deadline)); then
      warn "${what} (pid ${pid}) still running after ${timeout}s, sending SIGKILL"
      kill -KILL "${pid}" 2>/dev/null || true
      deadline=$((SECONDS + 10))
      while owned_by_us "${what}" "${pid}" && ((SECONDS < deadline)); do sleep 0.2; done
      break
    fi
    sleep 0.2
  done
}

# Starts a long-running program in the background, detached into its own session (setsid) so that
# Ctrl-C in the calling terminal or the end of a test's process group does not kill it. Output is
# appended to LOG, the pid goes to the pid file. The trailing `9>&-` keeps the daemon from
# inheriting our lock fd. A `&` child of a script is never a process-group leader, so setsid does
# not fork and $! is the program's pid.
launch() {
  local what=$1 logfile=$2 dir=$3 i pid
  shift 3
  (cd "${dir}" && exec setsid "$@") >>"${logfile}" 2>&1 </dev/null 9>&- &
  pid=$!
  printf '%s\n' "${pid}" >"$(pidfile "${what}")"
  # Wait until the forked shell has become the program, so that later ownership checks hold.
  for ((i = 0; i < 100; i++)); do
    owned_by_us "${what}" "${pid}" && return 0
    # Gone or a zombie (our unreaped child): it has no cwd any more.
    readlink "/proc/${pid}/cwd" >/dev/null 2>&1 || break
    sleep 0.05
  done
  rm -f "$(pidfile "${what}")"
  show_log_tail "${logfile}"
  die "${what} exited right after start (log: ${logfile})"
}

# wait_ready COMPONENT TIMEOUT CHECK_FUNCTION LOGFILE...: polls CHECK_FUNCTION every half second
# until it succeeds. Fails early if the process died; on failure shows the end of its logs.
wait_ready() {
  local what=$1 timeout=$2 check=$3 start_ms
  shift 3
  start_ms="$(now_ms)"
  while true; do
    if "${check}"; then
      return 0
    fi
    if ! live_pid "${what}" >/dev/null; then
      # Redis writes its pid file only after it has bound its port; give it a moment.
      if [[ ${what} != redis || -f "$(pidfile redis)" ]] || (($(now_ms) - start_ms > 5000)); then
        show_log_tail "$@"
        die "${what} exited during start-up (logs: $*)"
      fi
    fi
    if (($(now_ms) - start_ms > timeout * 1000)); then
      show_log_tail "$@"
      die "${what} not ready after ${timeout}s (logs: $*)"
    fi
    sleep 0.5
  done
}

ensure_dirs() {
  mkdir -p "${LOGS}" "${PIDS}" "${STATE}/redis" "${KAFKA_STATE}"
}

# Serialises state-changing commands of one instance (parallel `up` from two test runners would
# otherwise start everything twice). Daemons are started with fd 9 closed, so they never hold it.
take_lock() {
  ensure_dirs
  exec 9>"${STATE}/.lock"
  if ! flock -n 9; then
    log "waiting for another stack.sh run on instance ${INSTANCE} to finish"
    flock -w 600 9 || die "timed out waiting for ${STATE}/.lock"
  fi
}

# ---------------------------------------------------------------------------------------------------
# Operator key and env file
# ---------------------------------------------------------------------------------------------------
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

write_env() {
  local key svc upper
  key="$(operator_key)"
  {
    echo "TECHTRADE_INSTANCE=${INSTANCE}"
    for svc in "${SERVICES[@]}"; do
      upper="${svc^^}"
      echo "TECHTRADE_${upper}_ADDR=127.0.0.1:$(svc_port "${svc}")"
    done
    echo "TECHTRADE_KAFKA_BROKERS=127.0.0.1:${PORT_KAFKA}"
    echo "TECHTRADE_REDIS_URL=redis://127.0.0.1:${PORT_REDIS}"
    echo "TECHTRADE_PG_URL=$(pg_server_url)"
    echo "TECHTRADE_API_KEY=${key}"
    for svc in "${SERVICES[@]}"; do
      upper="${svc^^}"
      echo "TECHTRADE_${upper}_METRICS_ADDR=127.0.0.1:$(svc_metrics_port "${svc}")"
    done
  } >"${ENV_FILE}.tmp.$$"
  chmod 600 "${ENV_FILE}.tmp.$$"
  mv "${ENV_FILE}.tmp.$$" "${ENV_FILE}"
}

# ---------------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------------
pg_ready() { "${PG_BIN}/pg_isready" -q -h 127.0.0.1 -p "${PORT_PG}" -U postgres -d postgres -t 2; }

pg_init() {
  if [[ -f "${PG_DATA}/PG_VERSION" ]]; then
    return 0
  fi
  log "postgres: initialising a new cluster in ${PG_DATA}"
  # Trust auth for local and host (127.0.0.1) connections: dev/test stack only, loopback only.
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
EOF
  if ((EUID == 0)); then
    chown postgres:postgres "${conf}"
  fi
  chmod 600 "${conf}"
}

# Role and databases, idempotently. SUPERUSER keeps tests free to create extensions and databases;
# acceptable for a loopback-only dev stack.
pg_bootstrap() {
  local dbs
  dbs="$(printf "'%s'," "${PG_DATABASES[@]}")"
  if ! "${PG_BIN}/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${PORT_PG}" -U postgres \
    -d postgres >>"${LOGS}/postgres-bootstrap.log" 2>&1 <<EOF; then
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'techtrade') THEN
    CREATE ROLE techtrade LOGIN CREATEDB SUPERUSER;
  END IF;
END
\$\$;
SELECT format('CREATE DATABASE %I OWNER techtrade', d)
  FROM unnest(ARRAY[${dbs%,}]) AS d
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = d)
\gexec
EOF
    show_log_tail "${LOGS}/postgres-bootstrap.log"
    die "postgres: creating role/databases failed"
  fi
}

start_postgres() {
  local pid t0
  pg_paths
  if pid="$(live_pid postgres)"; then
    log "postgres: already running (pid ${pid}, 127.0.0.1:${PORT_PG})"
    printf '%s\n' "${pid}" >"$(pidfile postgres)"
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

# ---------------------------------------------------------------------------------------------------
# Redis (a cache only: no persistence)
# ---------------------------------------------------------------------------------------------------
redis_ready() { [[ "$(redis-cli -h 127.0.0.1 -p "${PORT_REDIS}" ping 2>/dev/null)" == PONG ]]; }

start_redis() {
  local pid t0
  if pid="$(live_pid redis)"; then
    log "redis: already running (pid ${pid}, 127.0.0.1:${PORT_REDIS})"
    return 0
  fi
  require_free_port "${PORT_REDIS}" redis
  command -v redis-server >/dev/null || die "redis-server not found; run deploy/local/deps.sh"
  t0="$(now_ms)"
  rm -f "$(pidfile redis)"
  log "redis: starting on 127.0.0.1:${PORT_REDIS}"
  # Redis daemonizes itself (and calls setsid); it writes the pid file once it listens. Errors it
  # prints before daemonizing (bad arguments) go to the same log; nothing here reads that file.
  # shellcheck disable=SC2094
  if ! (cd "${STATE}/redis" && redis-server --bind 127.0.0.1 --port "${PORT_REDIS}" \
    --daemonize yes --pidfile "$(pidfile redis)" --logfile "${LOGS}/redis.log" \
    --dir "${STATE}/redis" --save "" --appendonly no) </dev/null >>"${LOGS}/redis.log" 2>&1 9>&-; then
    show_log_tail "${LOGS}/redis.log"
    die "redis: failed to start"
  fi
  wait_ready redis "${READY_TIMEOUT}" redis_ready "${LOGS}/redis.log"
  log "redis: ready on 127.0.0.1:${PORT_REDIS} ($(elapsed_since "${t0}"))"
}

stop_redis() {
  local pid
  if ! pid="$(live_pid redis)"; then
    rm -f "$(pidfile redis)"
    return 0
  fi
  log "redis: stopping (pid ${pid})"
  terminate redis "${pid}" 15
  rm -f "$(pidfile redis)"
}

# ---------------------------------------------------------------------------------------------------
# Kafka (KRaft, broker and controller in one JVM)
# ---------------------------------------------------------------------------------------------------
# Short-lived tool JVMs: small heap and C1 only, which starts noticeably faster.
kafka_tool() {
  java -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dlog4j.configuration="file:${SCRIPT_DIR}/kafka/tools-log4j.properties" \
    -cp "${KAFKA_LIBS}/*" "$@"
}

kafka_topics() {
  kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:${PORT_KAFKA}" \
    --command-config "${KAFKA_STATE}/admin.properties" "$@"
}

kafka_write_config() {
  cat >"${KAFKA_PROPS}" <<EOF
# Written by deploy/local/stack.sh on every start; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${PORT_KAFKA_CONTROLLER}
listeners=PLAINTEXT://127.0.0.1:${PORT_KAFKA},CONTROLLER://127.0.0.1:${PORT_KAFKA_CONTROLLER}
advertised.listeners=PLAINTEXT://127.0.0.1:${PORT_KAFKA}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=${KAFKA_STATE}/data
num.partitions=${KAFKA_PARTITIONS}
auto.create.topics.enable=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
# After a hard kill the restarted broker cannot register until its previous session expires
# (DUPLICATE_BROKER_REGISTRATION); the default 9 s session made such a restart take ~17 s.
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=4000
EOF
  # Admin-client settings for TopicCommand: fail fast instead of retrying for the default 60s, so
  # the readiness loop stays responsive.
  cat >"${KAFKA_STATE}/admin.properties" <<'EOF'
request.timeout.ms=5000
default.api.timeout.ms=10000
EOF
}

kafka_format() {
  local cid
  [[ -f "${KAFKA_STATE}/data/meta.properties" ]] && return 0
  if [[ -s "${KAFKA_STATE}/cluster.id" ]]; then
    cid="$(cat "${KAFKA_STATE}/cluster.id")"
  else
    cid="$(kafka_tool kafka.tools.StorageTool random-uuid 2>>"${LOGS}/kafka-tools.log")" ||
      die "kafka: could not generate a cluster id (see ${LOGS}/kafka-tools.log)"
    printf '%s\n' "${cid}" >"${KAFKA_STATE}/cluster.id"
  fi
  log "kafka: formatting storage (cluster id ${cid})"
  if ! kafka_tool kafka.tools.StorageTool format -t "${cid}" -c "${KAFKA_PROPS}" \
    >>"${LOGS}/kafka-tools.log" 2>&1; then
    show_log_tail "${LOGS}/kafka-tools.log"
    die "kafka: formatting the storage failed"
  fi
}

# Ready = the broker answers a topic listing. Checking the port first avoids paying for a JVM
# start while the broker is obviously not up yet. The listing is kept for kafka_create_topics.
kafka_ready() {
  [[ -n "$(port_listener "${PORT_KAFKA}")" ]] || return 1
  kafka_topics --list >"${KAFKA_STATE}/topics.list" 2>>"${LOGS}/kafka-tools.log"
}

# Creates the missing topics. TopicCommand takes one topic per run, so the runs go in parallel;
# when all topics exist (every start after the first) no extra JVM is started at all.
kafka_create_topics() {
  local t missing=() pids=() i failed=0 out="${KAFKA_STATE}/create"
  for t in "${KAFKA_TOPICS[@]}"; do
    grep -qxF "${t}" "${KAFKA_STATE}/topics.list" 2>/dev/null || missing+=("${t}")
  done
  ((${#missing[@]} > 0)) || return 0
  log "kafka: creating topics ${missing[*]} (${KAFKA_PARTITIONS} partitions, replication 1)"
  mkdir -p "${out}"
  for t in "${missing[@]}"; do
    kafka_topics --create --if-not-exists --topic "${t}" --partitions "${KAFKA_PARTITIONS}" \
      --replication-factor 1 >"${out}/${t}.log" 2>&1 &
    pids+=("$!")
  done
  for i in "${!pids[@]}"; do
    if ! wait "${pids[i]}"; then
      failed=1
      cat "${out}/${missing[i]}.log" >&2
      warn "kafka: creating topic ${missing[i]} failed"
    fi
  done
  rm -rf "${out}"
  ((failed == 0)) || die "kafka: topic creation failed (broker log: ${LOGS}/kafka.log)"
}

kafka_launch() {
  local pid
  if pid="$(live_pid kafka)"; then
    log "kafka: already running (pid ${pid}, 127.0.0.1:${PORT_KAFKA})"
    return 0
  fi
  require_free_port "${PORT_KAFKA}" kafka
  require_free_port "${PORT_KAFKA_CONTROLLER}" "kafka controller"
  [[ -f "${KAFKA_LIBS}/.version" ]] || die "Kafka jars missing in ${KAFKA_LIBS}; run deploy/local/deps.sh"
  command -v java >/dev/null || die "java not found; run deploy/local/deps.sh"
  KAFKA_T0="$(now_ms)"
  kafka_write_config
  kafka_format
  rm -f "$(pidfile kafka)"
  log "kafka: starting on 127.0.0.1:${PORT_KAFKA} (controller ${PORT_KAFKA_CONTROLLER})"
  # log4j writes logs/kafka.log; stdout/stderr (JVM-level errors only) go to logs/kafka.out, GC
  # pauses to logs/kafka-gc.log. JIT: C1 only by default: on a 2-core machine the C2 compiler's
  # threads compete with everything else for minutes after a start (a fresh broker's p99 produce
  # latency fell from ~200 ms to ~50 ms); tests and demos need quick answers from a fresh broker.
  # TECHTRADE_KAFKA_JIT=full keeps the JVM's default tiered compilation, as a production broker
  # runs: once warm a request costs about half the CPU, but warming takes minutes of load.
  local jit=(-XX:TieredStopAtLevel=1)
  case "${TECHTRADE_KAFKA_JIT:-c1}" in
    c1) ;;
    full) jit=() ;;
    *) die "TECHTRADE_KAFKA_JIT='${TECHTRADE_KAFKA_JIT}' must be c1 or full" ;;
  esac
  launch kafka "${LOGS}/kafka.out" "${KAFKA_STATE}" \
    java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 "${jit[@]}" \
    -Djava.awt.headless=true \
    -Xlog:gc:file="${LOGS}/kafka-gc.log":uptime,level:filecount=2,filesize=10m \
    -Dlog4j.configuration="file:${SCRIPT_DIR}/kafka/log4j.properties" -Dkafka.logs.dir="${LOGS}" \
    -cp "${KAFKA_LIBS}/*" kafka.Kafka "${KAFKA_PROPS}"
}

kafka_wait() {
  local t0="${KAFKA_T0:-$(now_ms)}"
  wait_ready kafka "${KAFKA_READY_TIMEOUT}" kafka_ready "${LOGS}/kafka.log" "${LOGS}/kafka.out" "${LOGS}/kafka-tools.log"
  kafka_create_topics
  log "kafka: ready on 127.0.0.1:${PORT_KAFKA} ($(elapsed_since "${t0}"))"
}

start_kafka() {
  kafka_launch
  kafka_wait
}

stop_kafka() {
  local pid
  if ! pid="$(live_pid kafka)"; then
    rm -f "$(pidfile kafka)"
    return 0
  fi
  log "kafka: stopping (pid ${pid})"
  terminate kafka "${pid}" 30
  rm -f "$(pidfile kafka)"
}

# ---------------------------------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------------------------------
grpcurl_bin() {
  if [[ -x "${ROOT}/.run/bin/grpcurl" ]]; then
    printf '%s' "${ROOT}/.run/bin/grpcurl"
  elif command -v grpcurl >/dev/null; then
    command -v grpcurl
  else
    die "grpcurl not found; run deploy/local/deps.sh"
  fi
}

# The health check passes the standard health.proto to grpcurl instead of relying on server
# reflection: gRPC C++'s built-in health service (EnableDefaultHealthCheckService) is listed by
# reflection but its descriptor is not served (grpc/grpc#36665), so grpcurl would fail with
# 'target server does not expose service "grpc.health.v1.Health"'.
write_health_proto() {
  cat >"${STATE}/health.proto" <<'EOF'
syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
  ServingStatus status = 1;
}
service Health {
  rpc Check(HealthCheckRequest) returns (HealthCheckResponse);
  rpc Watch(HealthCheckRequest) returns (stream HealthCheckResponse);
}
EOF
}

GRPCURL=""
HEALTH_ADDR=""
# "NOT_SERVING" must not count, hence the quotes in the pattern.
svc_healthy() {
  "${GRPCURL}" -plaintext -max-time 2 -import-path "${STATE}" -proto health.proto \
    "${HEALTH_ADDR}" grpc.health.v1.Health/Check 2>/dev/null | grep -q '"SERVING"'
}

start_services() {
  local svc pid port mport key pg_url started=()
  # Rewritten so that it always matches the ports used right now.
  write_env
  key="$(operator_key)"
  for svc in "${SERVICES[@]}"; do
    [[ -x "$(svc_bin "${svc}")" ]] || continue
    if pid="$(live_pid "${svc}")"; then
      log "${svc}: already running (pid ${pid}, 127.0.0.1:$(svc_port "${svc}"))"
      started+=("${svc}")
      continue
    fi
    port="$(svc_port "${svc}")"
    mport="$(svc_metrics_port "${svc}")"
    pg_url="$(pg_server_url)/techtrade_${svc}"
    require_free_port "${port}" "${svc} gRPC"
    require_free_port "${mport}" "${svc} metrics"
    log "${svc}: starting on 127.0.0.1:${port} (metrics ${mport})"
    # The env file's variables plus the per-service ones, exported in a subshell only.
    (
      set -a
      # shellcheck source=/dev/null
      . "${ENV_FILE}"
      set +a
      export TECHTRADE_SERVICE="${svc}" TECHTRADE_GRPC_PORT="${port}" \
        TECHTRADE_METRICS_PORT="${mport}" TECHTRADE_PG_URL="${pg_url}" \
        TECHTRADE_BOOTSTRAP_OPERATOR_KEY="${key}"
      launch "${svc}" "${LOGS}/${svc}.log" "${STATE}" "$(svc_bin "${svc}")"
    )
    started+=("${svc}")
  done
  # Started all first, now wait (for already-running ones too): they come up in parallel.
  ((${#started[@]} > 0)) || return 0
  GRPCURL="$(grpcurl_bin)"
  write_health_proto
  for svc in "${started[@]}"; do
    HEALTH_ADDR="127.0.0.1:$(svc_port "${svc}")"
    wait_ready "${svc}" "${READY_TIMEOUT}" svc_healthy "${LOGS}/${svc}.log"
    log "${svc}: SERVING on ${HEALTH_ADDR}"
  done
}

stop_services() {
  local svc pid
  for svc in "${SERVICES[@]}"; do
    if pid="$(live_pid "${svc}")"; then
      log "${svc}: stopping (pid ${pid})"
      terminate "${svc}" "${pid}" 15
    fi
    rm -f "$(pidfile "${svc}")"
  done
}

# Crashes for fault tests: no graceful shutdown. Only ever the pid live_pid vouched for.
kill_component() {
  local component="$1" pid
  if pid="$(live_pid "${component}")"; then
    log "${component}: killing (SIGKILL, pid ${pid})"
    kill -KILL "${pid}" 2>/dev/null || true
    while owned_by_us "${component}" "${pid}"; do sleep 0.1; done
  fi
  rm -f "$(pidfile "${component}")"
}
kill_redis() { kill_component redis; }
kill_kafka() { kill_component kafka; }

kill_postgres() {
  local pid
  pg_paths
  if pid="$(live_pid postgres)"; then
    log "postgres: immediate shutdown (pid ${pid})"
    as_pg "${PG_BIN}/pg_ctl" -D "${PG_DATA}" -m immediate -w -t 30 -s stop >>"${LOGS}/postgres.log" 2>&1 || true
  fi
  rm -f "$(pidfile postgres)"
}

# ---------------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------------
cmd_up() {
  local t0 what pid
  t0="$(now_ms)"
  if [[ ${TECHTRADE_SKIP_DEPS:-0} != 1 ]]; then
    # fd 9 closed: daemons that apt may start must not inherit our lock.
    "${SCRIPT_DIR}/deps.sh" 9>&-
  fi
  # Check every port before starting anything, so a clash never leaves a half-started stack.
  live_pid postgres >/dev/null || require_free_port "${PORT_PG}" postgres
  live_pid redis >/dev/null || require_free_port "${PORT_REDIS}" redis
  if ! live_pid kafka >/dev/null; then
    require_free_port "${PORT_KAFKA}" kafka
    require_free_port "${PORT_KAFKA_CONTROLLER}" "kafka controller"
  fi
  operator_key >/dev/null
  # Kafka is by far the slowest to come up, so it boots while PostgreSQL and Redis start.
  kafka_launch
  start_postgres
  start_redis
  kafka_wait
  write_env
  # Tests and benchmarks start their own service processes on scratch databases.
  if [[ ${TECHTRADE_NO_SERVICES:-0} != 1 ]]; then
    start_services
  fi

  log "up in $(elapsed_since "${t0}"); state in $(rel "${STATE}")"
  printf '  %-13s 127.0.0.1:%-6s user techtrade, databases %s\n' postgres "${PORT_PG}" "${PG_DATABASES[*]}"
  printf '  %-13s 127.0.0.1:%s\n' redis "${PORT_REDIS}"
  printf '  %-13s 127.0.0.1:%-6s topics %s\n' kafka "${PORT_KAFKA}" "${KAFKA_TOPICS[*]}"
  for what in "${SERVICES[@]}"; do
    if pid="$(live_pid "${what}")"; then
      printf '  %-13s 127.0.0.1:%-6s metrics 127.0.0.1:%s\n' "${what}" "$(svc_port "${what}")" "$(svc_metrics_port "${what}")"
    elif [[ -x "$(svc_bin "${what}")" ]]; then
      printf '  %-13s stopped\n' "${what}"
    else
      printf '  %-13s not built (%s)\n' "${what}" "$(rel "$(svc_bin "${what}")")"
    fi
  done
  printf '  %-13s %s  (set -a; . %s; set +a)\n' "env file" "$(rel "${ENV_FILE}")" "$(rel "${ENV_FILE}")"
  printf '  %-13s %s\n' logs "$(rel "${LOGS}")/"
}

cmd_down() {
  stop_services
  stop_kafka
  stop_redis
  stop_postgres
  log "down (data kept in $(rel "${STATE}"))"
}

cmd_status() {
  local what pid port extra
  for what in "${INFRA[@]}" "${SERVICES[@]}"; do
    port="$(component_port "${what}")"
    extra=""
    [[ ${what} == kafka ]] && extra=" (controller ${PORT_KAFKA_CONTROLLER})"
    if pid="$(live_pid "${what}")"; then
      printf '%-13s running  pid %-7s 127.0.0.1:%s%s\n' "${what}" "${pid}" "${port}" "${extra}"
    elif [[ " ${SERVICES[*]} " == *" ${what} "* && ! -x "$(svc_bin "${what}")" ]]; then
      printf '%-13s stopped  (not built)\n' "${what}"
    else
      printf '%-13s stopped\n' "${what}"
    fi
  done
}

main() {
  local cmd="${1:-}"
  case "${cmd}" in
    up)
      take_lock
      cmd_up
      ;;
    down)
      take_lock
      cmd_down
      ;;
    status) cmd_status ;;
    env)
      # Written by `up`; created here if missing so that the path is always usable.
      if [[ ! -f ${ENV_FILE} ]]; then
        take_lock
        write_env
      fi
      printf '%s\n' "${ENV_FILE}"
      ;;
    start | stop | kill)
      [[ $# -eq 2 ]] || {
        usage >&2
        exit 2
      }
      case "$2" in
        postgres | redis | kafka) ;;
        *) die "unknown component '$2' (expected postgres, redis or kafka)" ;;
      esac
      take_lock
      "${cmd}_$2"
      ;;
    start-services)
      take_lock
      start_services
      ;;
    stop-services)
      take_lock
      stop_services
      ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
