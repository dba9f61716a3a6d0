# shellcheck shell=bash
# Part of deploy/local/stack.sh: the service binaries in build/bin and their health checks.

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
# "NOT_SERVING" must not count, hence the quotes in the pattern. The health port is plaintext and
# serves nothing but health (the kubelet's probes cannot present a client certificate).
svc_healthy() {
  "${GRPCURL}" -plaintext -max-time 2 -import-path "${STATE}" -proto health.proto \
    "${HEALTH_ADDR}" grpc.health.v1.Health/Check 2>/dev/null | grep -q '"SERVING"'
}

start_services() {
  local svc pid port mport hport key pg_url started=()
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
    hport="$(svc_health_port "${svc}")"
    pg_url="$(pg_server_url)/techtrade_${svc}"
    require_free_port "${port}" "${svc} gRPC"
    require_free_port "${mport}" "${svc} metrics"
    require_free_port "${hport}" "${svc} health"
    log "${svc}: starting on 127.0.0.1:${port} (metrics ${mport})"
    # The env file's variables plus the per-service ones, exported in a subshell only.
    (
      set -a
      # shellcheck source=/dev/null
      . "${ENV_FILE}"
      set +a
      # The service's own certificate, for its server and for what it calls.
      eval "$(tls_env "${svc}" | sed 's/^/export /')"
      export TECHTRADE_SERVICE="${svc}" TECHTRADE_GRPC_PORT="${port}" \
        TECHTRADE_HEALTH_PORT="${hport}" TECHTRADE_METRICS_PORT="${mport}" \
        TECHTRADE_PG_URL="${pg_url}" TECHTRADE_BOOTSTRAP_OPERATOR_KEY="${key}"
      # Only transactions signs (GetDealAttestation); the others never hold the key.
      if [[ ${svc} == transactions ]]; then
        export TECHTRADE_ATTESTATION_KEY="${ATTESTATION_KEY}"
      else
        unset TECHTRADE_ATTESTATION_KEY
      fi
      launch "${svc}" "${LOGS}/${svc}.log" "${STATE}" "$(svc_bin "${svc}")"
    )
    started+=("${svc}")
  done
  # Started all first, now wait (for already-running ones too): they come up in parallel.
  ((${#started[@]} > 0)) || return 0
  GRPCURL="$(grpcurl_bin)"
  write_health_proto
  for svc in "${started[@]}"; do
    HEALTH_ADDR="127.0.0.1:$(svc_health_port "${svc}")"
    wait_ready "${svc}" "${READY_TIMEOUT}" svc_healthy "${LOGS}/${svc}.log"
    log "${svc}: SERVING on ${HEALTH_ADDR}"
  done
  # Serving means migrated: now their audit_log can be taken out of their own role's hands.
  pg_seal_audit_logs "${started[@]}"
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
