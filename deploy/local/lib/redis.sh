# shellcheck shell=bash
# Part of deploy/local/stack.sh: Redis (a cache only: no persistence).

# Redis has no TLS here (Debian's hiredis 0.14 cannot speak it): it holds cache data only, on
# loopback, and only the user techtrade with the instance's password may use it (docs/security.md).
readonly REDIS_USER=techtrade

# The instance's Redis password, made once and then kept.
redis_password() {
  local file="${STATE}/redis.password"
  if [[ ! -s ${file} ]]; then
    ensure_dirs
    (umask 077 && random_hex 24 >"${file}.tmp.$$")
    mv "${file}.tmp.$$" "${file}"
  fi
  cat "${file}"
}

redis_url() { printf 'redis://%s:%s@127.0.0.1:%s' "${REDIS_USER}" "$(redis_password)" "${PORT_REDIS}"; }

redis_ready() {
  [[ "$(REDISCLI_AUTH="$(redis_password)" redis-cli -h 127.0.0.1 -p "${PORT_REDIS}" \
    --user "${REDIS_USER}" ping 2>/dev/null)" == PONG ]]
}

redis_write_conf() {
  (umask 077 && cat >"${STATE}/redis/redis.conf" <<EOF
# Written by deploy/local/stack.sh on every start; edits are overwritten.
user default off
user ${REDIS_USER} on >$(redis_password) ~* &* +@all
EOF
  )
}

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
  redis_write_conf
  # shellcheck disable=SC2094
  if ! (cd "${STATE}/redis" && redis-server "${STATE}/redis/redis.conf" --bind 127.0.0.1 \
    --port "${PORT_REDIS}" --daemonize yes --pidfile "$(pidfile redis)" --logfile "${LOGS}/redis.log" \
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

kill_redis() { kill_component redis; }
