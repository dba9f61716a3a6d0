#!/usr/bin/env bash
# The container image, built and run without a container engine (docs/operations.md, "Container
# image"):
#  1. tools/image/build_image.py twice from the built binaries: the same digest both times, every
#     layer entry owned by 0:0 with its mtime at the commit's time;
#  2. crane (go-containerregistry, an independent reader) pushes the OCI layout to a registry it
#     serves on 127.0.0.1, validates it, reads its config (user 65532:65532, labels of this
#     commit) and exports its root filesystem;
#  3. every binary of the image loads its libraries from that filesystem alone;
#  4. the registry runs from it as the image would: root filesystem read-only, uid/gid 65532 and
#     no capabilities (user namespaces: unshare, no privilege needed), the image's environment
#     only, started by name through PATH (k8s/'s `command: ["registry"]`), its certificate
#     mounted at /etc/techtrade/tls as in k8s/, against the test stack's PostgreSQL (a scratch
#     database), Kafka and Redis; it must report SERVING on the health port, answer /metrics and
#     list its API over mutual TLS, and exit 0 on SIGTERM.
#
# Usage: image_smoke.sh ROOT BIN_DIR   (with the stack's env file sourced, as in `make test`)
# Exits 77 (a skip for ctest) when crane, unshare with user namespaces, or grpcurl is missing.
set -euo pipefail

ROOT="$(cd "${1:?usage: $0 ROOT BIN_DIR}" && pwd)"
BIN_DIR="$(cd "${2:?usage: $0 ROOT BIN_DIR}" && pwd)"
SKIP=77
skip() { echo "SKIP: $*" >&2; exit "$SKIP"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

for var in TECHTRADE_PG_URL TECHTRADE_KAFKA_BROKERS TECHTRADE_REDIS_URL TECHTRADE_TLS_CA; do
  [[ -n "${!var:-}" ]] || fail "${var} unset: run through \`make test\` (it sources .run/test/env)"
done
UNSHARE="$(command -v unshare)" || skip "no unshare (util-linux)"
"$UNSHARE" --user --map-root-user --mount true 2>/dev/null || skip "user namespaces unavailable"
GRPCURL="$ROOT/.run/bin/grpcurl"
[[ -x "$GRPCURL" ]] || skip "no grpcurl at $GRPCURL (deploy/local/deps.sh builds it)"
if [[ -z "${CRANE:-}" ]]; then
  bin="$("$ROOT/tools/k8s/build-tools.sh" crane)" || skip "tools/k8s/build-tools.sh crane failed"
  CRANE="$bin/crane"
fi
[[ -x "$CRANE" ]] || skip "no crane at $CRANE"
PSQL="$(command -v psql || echo /usr/lib/postgresql/15/bin/psql)"

work="$(mktemp -d)"
pids=()
db=""
pki="$(dirname "$TECHTRADE_TLS_CA")"
admin_psql() {
  PGSSLMODE=verify-full PGSSLROOTCERT="$TECHTRADE_TLS_CA" PGSSLCERT="$pki/dev.crt" \
    PGSSLKEY="$pki/dev.key" "$PSQL" -X -q -v ON_ERROR_STOP=1 "$TECHTRADE_PG_URL/postgres" "$@"
}
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  [[ -z "$db" ]] || admin_psql -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  rm -rf "$work"
}
trap cleanup EXIT
free_ports() {
  python3 -c 'import socket
socks = [socket.socket() for _ in range('"$1"')]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))'
}

echo "== 1. build the image twice"
for n in 1 2; do
  python3 "$ROOT/tools/image/build_image.py" --root "$ROOT" --bin-dir "$BIN_DIR" \
    --out "$work/image$n" >"$work/build$n.log" || { cat "$work/build$n.log"; fail "build $n"; }
done
cat "$work/build1.log"
digest="$(cat "$work/image1/digest")"
[[ "$digest" == "$(cat "$work/image2/digest")" ]] ||
  fail "two builds, two digests: $digest and $(cat "$work/image2/digest")"
cmp -s "$work/image1/techtrade.oci.tar" "$work/image2/techtrade.oci.tar" ||
  fail "two builds, two different tar files"
commit="$(git -C "$ROOT" rev-parse HEAD)"
epoch="$(git -C "$ROOT" log -1 --format=%ct HEAD)"
python3 - "$work/image1/oci" "$epoch" <<'EOF'
import gzip, json, os, sys, tarfile
layout, epoch = sys.argv[1], int(sys.argv[2])
blob = lambda d: os.path.join(layout, "blobs", *d.split(":"))
index = json.load(open(os.path.join(layout, "index.json")))
manifest = json.load(open(blob(index["manifests"][0]["digest"])))
for layer in manifest["layers"]:
    with tarfile.open(fileobj=gzip.open(blob(layer["digest"]))) as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        assert names == sorted(names), "layer entries not sorted"
        for m in members:
            assert (m.uid, m.gid, m.mtime) == (0, 0, epoch), (m.name, m.uid, m.gid, m.mtime)
EOF
echo "digest $digest, the same twice; layers sorted, 0:0, mtime $epoch"

echo "== 2. crane: push, validate, config, export"
read -r reg_port <<<"$(free_ports 1)"
"$CRANE" registry serve --address "127.0.0.1:$reg_port" >"$work/registry-serve.log" 2>&1 &
pids+=($!)
ref="127.0.0.1:$reg_port/techtrade:smoke"
for _ in $(seq 50); do
  "$CRANE" catalog "127.0.0.1:$reg_port" --insecure >/dev/null 2>&1 && break
  sleep 0.1
done
"$CRANE" push "$work/image1/oci" "$ref" --insecure 2>"$work/push.log" >/dev/null ||
  { cat "$work/push.log"; fail "crane push"; }
[[ "$("$CRANE" digest "$ref" --insecure)" == "$digest" ]] || fail "the registry has another digest"
"$CRANE" validate --remote "$ref" --insecure
"$CRANE" config "$ref" --insecure >"$work/config.json"
python3 - "$work/config.json" "$commit" "$epoch" >"$work/image.env" <<'EOF'
import json, sys, time
config = json.load(open(sys.argv[1]))
c = config["config"]
labels = c["Labels"]
created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(sys.argv[3])))
assert c["User"] == "65532:65532", c["User"]
assert labels["org.opencontainers.image.revision"] == sys.argv[2], labels
assert labels["org.opencontainers.image.created"] == created == config["created"], labels
for key in ["source", "version", "title"]:
    assert labels.get(f"org.opencontainers.image.{key}"), key
assert c["Cmd"] == ["registry"] and not c.get("Entrypoint"), (c.get("Entrypoint"), c["Cmd"])
print("\n".join(c["Env"]))
EOF
rootfs="$work/rootfs"
mkdir "$rootfs"
"$CRANE" export "$ref" --insecure - | tar -x -C "$rootfs"
grep -q '^nonroot:x:65532:65532:' "$rootfs/etc/passwd" || fail "no user 65532 in /etc/passwd"
echo "user 65532:65532, revision $commit, created $epoch; root filesystem exported"

# The mounts a container runtime makes: the root read-only, the certificate, a few devices. The
# outer user namespace (root in it) may mount; the inner one runs the command as 65532:65532,
# chrooted into the image's root: its exec drops every capability.
for dev in null zero random urandom; do : >"$rootfs/dev/$dev"; done
cat >"$work/in-container.sh" <<'EOF'
set -eu
rootfs="$1" tls="$2"; shift 2
mount --bind "$rootfs" "$rootfs"
mount --bind "$tls" "$rootfs/etc/techtrade/tls"
for dev in null zero random urandom; do mount --bind "/dev/$dev" "$rootfs/dev/$dev"; done
mount -o remount,bind,ro "$rootfs"
mount -o remount,bind,ro "$rootfs/etc/techtrade/tls"
exec env -i "$@"
EOF
tls="$work/tls"
mkdir "$tls"
cp "$TECHTRADE_TLS_CA" "$tls/ca.crt"
cp "$pki/registry.crt" "$tls/tls.crt"
install -m 600 "$pki/registry.key" "$tls/tls.key"
mapfile -t image_env <"$work/image.env"
# in_image ENV... -- COMMAND ARGS...: runs COMMAND from the image's root. Only in a subshell (a
# command substitution, or with &): it execs, so that $! is the service's own pid.
in_image() {
  local env=("${image_env[@]}")
  while [[ "$1" != "--" ]]; do env+=("$1"); shift; done
  shift
  exec "$UNSHARE" --user --map-root-user --mount -- /bin/sh "$work/in-container.sh" "$rootfs" "$tls" \
    "${env[@]}" "$UNSHARE" --user --map-user=65532 --map-group=65532 --root="$rootfs" --wd=/ "$@"
}

echo "== 3. every binary loads from the image's root alone"
count=0
for binary in "$rootfs"/usr/local/bin/*; do
  name="$(basename "$binary")"
  count=$((count + 1))
  rc=0
  out="$(in_image -- "$name" --helpshort 2>&1)" || rc=$?
  if ((rc == 126 || rc == 127)) || grep -q "error while loading shared libraries" <<<"$out"; then
    fail "$name does not start from the image (exit $rc): $out"
  fi
done
echo "$count binaries start"

echo "== 4. the registry from the image against the stack"
db="image_smoke_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
admin_psql -c "CREATE DATABASE $db"
read -r grpc_port metrics_port health_port <<<"$(free_ports 3)"
in_image TECHTRADE_LISTEN_HOST=127.0.0.1 TECHTRADE_GRPC_PORT="$grpc_port" \
  TECHTRADE_METRICS_PORT="$metrics_port" TECHTRADE_HEALTH_PORT="$health_port" \
  TECHTRADE_PG_URL="$TECHTRADE_PG_URL/$db" TECHTRADE_REDIS_URL="$TECHTRADE_REDIS_URL" \
  TECHTRADE_KAFKA_BROKERS="$TECHTRADE_KAFKA_BROKERS" \
  TECHTRADE_TLS_CA=/etc/techtrade/tls/ca.crt TECHTRADE_TLS_CERT=/etc/techtrade/tls/tls.crt \
  TECHTRADE_TLS_KEY=/etc/techtrade/tls/tls.key TECHTRADE_KAFKA_CA=/etc/techtrade/tls/ca.crt \
  TECHTRADE_KAFKA_CERT=/etc/techtrade/tls/tls.crt TECHTRADE_KAFKA_KEY=/etc/techtrade/tls/tls.key \
  PGSSLMODE=verify-full PGSSLROOTCERT=/etc/techtrade/tls/ca.crt \
  PGSSLCERT=/etc/techtrade/tls/tls.crt PGSSLKEY=/etc/techtrade/tls/tls.key \
  -- registry >"$work/registry.log" 2>&1 &
service=$!
pids+=("$service")
health() {
  "$GRPCURL" -plaintext -max-time 2 -import-path "$ROOT/proto" -proto grpc/health/v1/health.proto \
    "127.0.0.1:$health_port" grpc.health.v1.Health/Check 2>/dev/null
}
serving=0
for _ in $(seq 600); do
  kill -0 "$service" 2>/dev/null || { cat "$work/registry.log"; fail "the registry exited"; }
  if [[ "$(health)" == *'"SERVING"'* ]]; then serving=1; break; fi
  sleep 0.1
done
((serving)) || { cat "$work/registry.log"; fail "the registry never reported SERVING"; }
echo "SERVING on the health port"
# The exec chain (unshare, sh, env, unshare) ends in the service itself, in the inner namespace.
[[ "$(awk '{print $1, $2, $3}' "/proc/$service/uid_map")" == "65532 $(id -u) 1" ]] ||
  fail "the service does not run as uid 65532: $(cat "/proc/$service/uid_map")"
[[ "$(awk '/^CapEff/ {print $2}' "/proc/$service/status")" == 0000000000000000 ]] ||
  fail "the service kept capabilities: $(grep ^Cap "/proc/$service/status")"
# Its mount table, with paths as it sees them: "/" is the image's root.
[[ "$(awk '$5 == "/" {print $6}' "/proc/$service/mountinfo")" == ro,* ]] ||
  fail "the image's root is not read-only for the service"
# Whole outputs are read before matching: grep -q would leave the writer a broken pipe.
metrics="$(curl -fsS "http://127.0.0.1:$metrics_port/metrics")" || fail "/metrics does not answer"
grep -q '^techtrade_' <<<"$metrics" || fail "/metrics answers no techtrade_ metric"
echo "/metrics answers"
api="$("$GRPCURL" -cacert "$TECHTRADE_TLS_CA" -cert "$pki/dev.crt" -key "$pki/dev.key" \
  "127.0.0.1:$grpc_port" list)" || fail "grpcurl list over mutual TLS failed"
grep -qx 'techtrade.registry.v1.RegistryService' <<<"$api" ||
  fail "the gRPC port does not list the registry's API over mutual TLS: $api"
echo "the API answers over mutual TLS"
kill -TERM "$service"
rc=0
wait "$service" || rc=$?
((rc == 0)) || { cat "$work/registry.log"; fail "exit $rc after SIGTERM, not 0"; }
grep -q '"msg":"stopped"' "$work/registry.log" || fail "no orderly stop in the log"
echo "exit 0 on SIGTERM"
echo "PASS: image $digest"
