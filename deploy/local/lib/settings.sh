# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables here are read by the other parts
# Part of deploy/local/stack.sh (sourced first): the instance, its ports and paths, logging.
# Needs SCRIPT_DIR and ROOT, set by stack.sh.

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

# Every base stays below 32768, where Linux starts handing out the ephemeral ports of outgoing
# connections (net.ipv4.ip_local_port_range): a listener there can find its port taken by one.
case "${INSTANCE}" in
  dev) DEFAULT_BASE=15400 ;;
  test) DEFAULT_BASE=25400 ;;
  # The sanitizer test runs (make test-asan, make test-tsan): own ports, so that each can run
  # beside `make test`, `make bench` and the other.
  asan) DEFAULT_BASE=26400 ;;
  tsan) DEFAULT_BASE=27400 ;;
  bench) DEFAULT_BASE=28400 ;;
  chaos) DEFAULT_BASE=29400 ;;
  *) DEFAULT_BASE=30400 ;;
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
svc_health_port() { echo $((BASE + 20 + $(svc_offset "$1"))); }
svc_bin() { printf '%s/build/bin/%s' "${ROOT}" "$1"; }

component_port() {
  case "$1" in
    postgres) echo "${PORT_PG}" ;;
    redis) echo "${PORT_REDIS}" ;;
    kafka) echo "${PORT_KAFKA}" ;;
    *) svc_port "$1" ;;
  esac
}
