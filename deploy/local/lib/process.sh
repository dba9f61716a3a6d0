# shellcheck shell=bash
# Part of deploy/local/stack.sh: timing, logs, ports, and the processes an instance owns
# (ownership checks, start, readiness, stop, crash) and its lock.

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
