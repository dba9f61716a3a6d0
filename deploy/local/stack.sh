#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Local stack for techtrade: PostgreSQL 15, Redis and a single-node Apache Kafka 3.9 (KRaft) on
# 127.0.0.1, plus the service binaries found in build/bin.
#
# Several instances can run side by side (TECHTRADE_INSTANCE=dev, test, ...), each with its own
# port range (TECHTRADE_PORT_BASE), state dir (.run/<instance>) and processes. Nothing here touches
# processes this script did not start: every pid is checked against the instance's own paths first.
#
# Everything speaks TLS with certificates of the instance's development CA (lib/pki.sh): mutual
# TLS between gRPC services, PostgreSQL and Kafka authenticate clients by certificate, Redis by
# password (docs/security.md). A development CA is never a production trust root.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: stack.sh up|down|status|env|start COMPONENT|stop COMPONENT|kill COMPONENT|partner ID|
                start-services|stop-services
  up              install missing deps (unless TECHTRADE_SKIP_DEPS=1), start postgres, redis and
                  kafka, write the env file, start the built services
  down            stop services, kafka, redis and postgres (keeps all data)
  status          one line per component and service
  env             print the path of the sourceable env file
  start|stop X    X is postgres, redis or kafka
  kill X          a crash: SIGKILL for redis and kafka, an immediate shutdown (no checkpoint,
                  crash recovery at the next start) for postgres (fault tests: tests/chaos)
  partner ID      onboard finance partner ID: its client certificate, its Kafka topic and ACLs
  start-services  start every service whose binary exists in build/bin
  stop-services   stop the services
environment: TECHTRADE_INSTANCE (default dev), TECHTRADE_PORT_BASE (dev 15400, test 25400,
             asan 26400, tsan 27400, bench 28400, chaos 29400, others 30400), TECHTRADE_SKIP_DEPS=1,
             TECHTRADE_NO_SERVICES=1 (up: infrastructure only),
             TECHTRADE_KAFKA_JIT=c1|full (broker JIT: c1 starts answering fast, full is steady-state)
EOF
}

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd "${SCRIPT_DIR}/../.." && pwd -P)"
readonly SCRIPT_DIR ROOT

# The parts, one job each. settings.sh comes first: it validates the instance and port base and
# defines what the others read; the rest only define functions.
# shellcheck source=lib/settings.sh
source "${SCRIPT_DIR}/lib/settings.sh"
# shellcheck source=lib/process.sh
source "${SCRIPT_DIR}/lib/process.sh"
# shellcheck source=lib/pki.sh
source "${SCRIPT_DIR}/lib/pki.sh"
# shellcheck source=lib/env.sh
source "${SCRIPT_DIR}/lib/env.sh"
# shellcheck source=lib/postgres.sh
source "${SCRIPT_DIR}/lib/postgres.sh"
# shellcheck source=lib/redis.sh
source "${SCRIPT_DIR}/lib/redis.sh"
# shellcheck source=lib/kafka.sh
source "${SCRIPT_DIR}/lib/kafka.sh"
# shellcheck source=lib/services.sh
source "${SCRIPT_DIR}/lib/services.sh"
# shellcheck source=lib/commands.sh
source "${SCRIPT_DIR}/lib/commands.sh"

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
    partner)
      [[ $# -eq 2 ]] || {
        usage >&2
        exit 2
      }
      take_lock
      cmd_partner "$2"
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
