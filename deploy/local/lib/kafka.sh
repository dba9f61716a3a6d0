# shellcheck shell=bash
# Part of deploy/local/stack.sh: Kafka (KRaft, broker and controller in one JVM).

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
listeners=SSL://127.0.0.1:${PORT_KAFKA},CONTROLLER://127.0.0.1:${PORT_KAFKA_CONTROLLER}
advertised.listeners=SSL://127.0.0.1:${PORT_KAFKA}
controller.listener.names=CONTROLLER
inter.broker.listener.name=SSL
# The controller listener is TLS too: on a plaintext one the broker's own registration would
# come from User:ANONYMOUS, which the authorizer refuses.
listener.security.protocol.map=SSL:SSL,CONTROLLER:SSL
ssl.client.auth=required
ssl.keystore.type=PEM
ssl.keystore.location=${PKI}/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=${CA_CRT}
ssl.endpoint.identification.algorithm=https
# A client is User:<the CN of its certificate>. Nothing is allowed without an ACL; the broker, the
# admin tools and "dev" (the developer's tools and the tests on this machine) are super users.
ssl.principal.mapping.rules=RULE:^(?:.*,)?CN=([A-Za-z0-9._-]+)(?:,.*)?$/\$1/,DEFAULT
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:broker;User:admin;User:dev
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
  cat >"${KAFKA_STATE}/admin.properties" <<EOF
request.timeout.ms=5000
default.api.timeout.ms=10000
security.protocol=SSL
ssl.keystore.type=PEM
ssl.keystore.location=${PKI}/admin.pem
ssl.truststore.type=PEM
ssl.truststore.location=${CA_CRT}
EOF
}

kafka_acls() {
  kafka_tool kafka.admin.AclCommand --bootstrap-server "127.0.0.1:${PORT_KAFKA}" \
    --command-config "${KAFKA_STATE}/admin.properties" "$@"
}

# The services' ACLs, by certificate principal: each reads the platform's four topics, writes and
# reads its own topic and its own consumer groups (named "<service>.…"); transactions and fund
# also write (and create) the finance partners' streams. Added once per formatted storage (ACLs live
# in the metadata log); AclCommand takes one resource pattern type per run, so runs go in parallel.
kafka_grant_services() {
  local marker="${KAFKA_STATE}/data/techtrade-acls-v2" svc principals=() topic_args=() pids=()
  local failed=0 i
  [[ -f ${marker} ]] && return 0
  log "kafka: granting the services' ACLs"
  for svc in "${SERVICES[@]}"; do principals+=(--allow-principal "User:${svc}"); done
  for topic in "${KAFKA_TOPICS[@]}"; do topic_args+=(--topic "${topic}"); done
  kafka_acls --add "${principals[@]}" --operation Read --operation Describe "${topic_args[@]}" \
    >>"${LOGS}/kafka-tools.log" 2>&1 &
  pids+=("$!")
  for svc in "${SERVICES[@]}"; do
    kafka_acls --add --allow-principal "User:${svc}" --operation Write --operation Read \
      --operation Describe --topic "techtrade.${svc}." --resource-pattern-type prefixed \
      >>"${LOGS}/kafka-tools.log" 2>&1 &
    pids+=("$!")
    kafka_acls --add --allow-principal "User:${svc}" --operation Read --operation Describe \
      --group "${svc}." --resource-pattern-type prefixed >>"${LOGS}/kafka-tools.log" 2>&1 &
    pids+=("$!")
  done
  kafka_acls --add --allow-principal User:transactions --allow-principal User:fund \
    --operation Write --operation Describe --operation Create --topic "techtrade.partner." \
    --resource-pattern-type prefixed >>"${LOGS}/kafka-tools.log" 2>&1 &
  pids+=("$!")
  for i in "${pids[@]}"; do wait "${i}" || failed=1; done
  ((failed == 0)) || die "kafka: granting ACLs failed (see ${LOGS}/kafka-tools.log)"
  : >"${marker}"
}

# A finance partner's stream: its topic, and READ on it and on its consumer groups ("<id>.…") for
# User:<id>, the CN of the certificate the platform issued it (docs/partners.md).
kafka_grant_partner() {
  local id=$1 topic="techtrade.partner.${1}.deals.v1"
  kafka_topics --create --if-not-exists --topic "${topic}" --partitions "${KAFKA_PARTITIONS}" \
    --replication-factor 1 >>"${LOGS}/kafka-tools.log" 2>&1 ||
    die "kafka: creating ${topic} failed (see ${LOGS}/kafka-tools.log)"
  kafka_acls --add --allow-principal "User:${id}" --operation Read --operation Describe \
    --topic "${topic}" >>"${LOGS}/kafka-tools.log" 2>&1 ||
    die "kafka: granting ${id} its topic failed (see ${LOGS}/kafka-tools.log)"
  kafka_acls --add --allow-principal "User:${id}" --operation Read --group "${id}." \
    --resource-pattern-type prefixed >>"${LOGS}/kafka-tools.log" 2>&1 ||
    die "kafka: granting ${id} its groups failed (see ${LOGS}/kafka-tools.log)"
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
  kafka_grant_services
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

kill_kafka() { kill_component kafka; }
