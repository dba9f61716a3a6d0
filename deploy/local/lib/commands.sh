# shellcheck shell=bash
# Part of deploy/local/stack.sh: the up, down and status commands.

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
  ensure_pki
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

# Onboards finance partner ID (its API client id) on this stack: a client certificate whose CN is
# the id, its topic, and the broker's ACLs that let it read that topic and nothing else.
cmd_partner() {
  local id=$1
  [[ ${id} =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$ ]] || die "partner id '${id}' must be 1-64 of [A-Za-z0-9_-]"
  case " ${PKI_IDENTITIES[*]} " in *" ${id} "*) die "'${id}' is a platform identity, not a partner" ;; esac
  live_pid kafka >/dev/null || die "kafka is not running (stack.sh up first)"
  ensure_pki
  # Issued again when missing, near its end or made under an earlier CA.
  pki_current "${id}" || pki_issue "${id}" "${PKI_LEAF_DAYS}" client
  kafka_grant_partner "${id}"
  log "partner ${id}: certificate $(rel "${PKI}/${id}.crt") (key ${id}.key), topic techtrade.partner.${id}.deals.v1"
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
