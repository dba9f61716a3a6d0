#!/usr/bin/env bash
# `make k8s-check`: the manifests against a real kube-apiserver (with etcd), started here on
# 127.0.0.1 only and stopped on exit. What it proves, in order:
#   1. the CRDs the manifests use are applied (crds.sh: from the projects that publish them, pinned,
#      or minimal ones written here where none can be had);
#   2. `kubectl apply --server-side -k` succeeds with no warning at all (unknown fields, deprecated
#      APIs and Pod Security "restricted" warnings all count);
#   3. `kubectl diff --server-side -k` then shows no change (the apply is stable);
#   4. a Pod made from every pod template is admitted under Pod Security "restricted"
#      (a server-side dry run: enforcement applies to Pods only, workloads just get warnings);
#   5. the checker catches broken manifests: an unknown field, a hostNetwork pod and a changed
#      object must each fail.
# Usage: tools/k8s/k8s-check.sh [KUSTOMIZATION_DIR...]   (default: every overlay, k8s/overlays/*)
# K8S_CHECK_PREVIOUS=<git ref> applies each directory as it was at that ref first, then deletes its
# migration Jobs (an upgrade, as docs/operations.md has it).
# K8S_CHECK_KEEP=1 keeps the temp dir (logs, certificates, kubeconfig) for a look afterwards.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
FIELD_MANAGER=techtrade

say() { echo "==> k8s-check: $*" >&2; }
die() {
  echo "k8s-check: FAILED: $*" >&2
  exit 1
}

dirs=("$@")
if [[ ${#dirs[@]} -eq 0 ]]; then
  for d in "$REPO"/k8s/overlays/*/; do dirs+=("${d%/}"); done
fi
for i in "${!dirs[@]}"; do
  dirs[i]="$(cd "${dirs[i]}" && pwd)" || die "${dirs[i]}: no such directory"
done

started=$(date +%s)
bin="$("$HERE/build-tools.sh" kube-apiserver etcd kubectl)"
export PATH="$bin:$PATH"
say "tools ready in $(($(date +%s) - started))s ($bin)"

work="$(mktemp -d "${TMPDIR:-/tmp}/k8s-check.XXXXXX")"
pids=()
ready=0
cleanup() {
  local rc=$?
  # The API server first: without etcd its shutdown waits on retries for minutes.
  local i n
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null || continue
    for ((n = 0; n < 100; n++)); do
      kill -0 "${pids[i]}" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  if [[ $rc -ne 0 && $ready -eq 0 ]]; then
    # etcd's last lines are its shutdown; the API server's say why it did not start.
    if [[ -f "$work/kube-apiserver.log" ]]; then
      echo "--- last lines of kube-apiserver.log (etcd.log beside it with K8S_CHECK_KEEP=1)" >&2
      tail -n 20 "$work/kube-apiserver.log" >&2
    fi
  fi
  if [[ "${K8S_CHECK_KEEP:-0}" == 1 ]]; then
    echo "k8s-check: kept $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Three free loopback ports, below the kernel's ephemeral range so that no outgoing connection
# takes one between this pick and the bind.
read -r etcd_port peer_port api_port < <(python3 - <<'EOF'
import random, socket
ports = []
while len(ports) < 3:
    p = random.randrange(20000, 32000)
    if p in ports:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    ports.append(p)
print(*ports)
EOF
)

# --- certificates: a CA, the API server's serving certificate, an admin client certificate
# (group system:masters) and the service-account signing key. Valid one day, never reused.
pki="$work/pki"
mkdir -p "$pki"
newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
sign() { # name subject extensions
  newkey "$pki/$1.key"
  openssl req -new -key "$pki/$1.key" -subj "$2" -out "$pki/$1.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 1 -extfile <(printf '%s\n' "$3") -out "$pki/$1.crt" 2>/dev/null
}
newkey "$pki/ca.key"
openssl req -x509 -new -key "$pki/ca.key" -subj /CN=k8s-check-ca -days 1 -out "$pki/ca.crt"
sign apiserver /CN=kube-apiserver \
  "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
sign admin "/O=system:masters/CN=k8s-check-admin" "extendedKeyUsage=clientAuth"
newkey "$pki/sa.key"
openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub"

export KUBECONFIG="$work/kubeconfig"
kubectl config set-cluster k8s-check --server="https://127.0.0.1:$api_port" \
  --certificate-authority="$pki/ca.crt" --embed-certs >/dev/null
kubectl config set-credentials admin --client-certificate="$pki/admin.crt" \
  --client-key="$pki/admin.key" --embed-certs >/dev/null
kubectl config set-context k8s-check --cluster=k8s-check --user=admin >/dev/null
kubectl config use-context k8s-check >/dev/null

# --- etcd and kube-apiserver
say "starting etcd (127.0.0.1:$etcd_port) and kube-apiserver (127.0.0.1:$api_port) in $work"
etcd --name k8s-check --data-dir "$work/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" \
  --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "k8s-check=http://127.0.0.1:$peer_port" \
  --unsafe-no-fsync >"$work/etcd.log" 2>&1 &
pids+=($!)

# As a cluster's: privileged pods are allowed by the API server (kubeadm's default too), so that
# refusing them is Pod Security's job, which is what this checks. Loopback addresses need the
# endpoint reconciler off (nothing here serves the `kubernetes` Service anyway).
kube-apiserver \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" \
  --etcd-servers="http://127.0.0.1:$etcd_port" \
  --cert-dir="$work/apiserver-certs" \
  --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
  --client-ca-file="$pki/ca.crt" \
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
  --service-account-issuer=https://kubernetes.default.svc \
  --service-cluster-ip-range=10.96.0.0/16 \
  --endpoint-reconciler-type=none \
  --allow-privileged=true \
  --authorization-mode=Node,RBAC \
  --enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,PodSecurity,DefaultTolerationSeconds,ResourceQuota,MutatingAdmissionWebhook,ValidatingAdmissionPolicy,ValidatingAdmissionWebhook \
  --profiling=false \
  >"$work/kube-apiserver.log" 2>&1 &
pids+=($!)

deadline=$(($(date +%s) + 180))
until kubectl get --raw=/readyz >/dev/null 2>&1; do
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || die "etcd or kube-apiserver exited (logs below)"
  done
  [[ $(date +%s) -lt $deadline ]] || die "kube-apiserver not ready after 180s"
  sleep 1
done
ready=1
say "API server ready ($(kubectl version -o json | python3 -c \
  'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])'))"

# --- 1. CRDs: those of k8s/'s components, pinned (crds.sh says where each comes from).
crd_list="$("$HERE/crds.sh")" || die "crds.sh could not provide the CRDs"
mapfile -t crds <<<"$crd_list"
crd_args=()
for f in "${crds[@]}"; do crd_args+=(-f "$f"); done
# Server-side, as the manifests: some operators' CRDs exceed the 256 KiB last-applied annotation.
kubectl apply --server-side --field-manager="$FIELD_MANAGER" "${crd_args[@]}" >/dev/null
kubectl wait --for=condition=Established --timeout=60s "${crd_args[@]}" >/dev/null
say "CRDs established: $(printf '%s ' "${crds[@]##*/}")"

# --- the checks, as functions so that the self-test can run them on broken manifests.
# Each prints why it failed and returns 1.

# The namespaces the render puts objects in, created as a cluster would have them: labelled to
# enforce (and warn about) Pod Security "restricted", with the `default` ServiceAccount the
# controller-manager (not run here) would create; ServiceAccount admission needs it for Pods.
prepare_namespaces() { # dir
  local ns
  kubectl kustomize "$1" >"$work/render.yaml" || return 1
  kubectl create --dry-run=client -o json -f "$work/render.yaml" >"$work/render.json" || return 1
  for ns in $(python3 "$HERE/render.py" namespaces <"$work/render.json"); do
    if ! kubectl get namespace "$ns" >/dev/null 2>&1; then
      kubectl create namespace "$ns" >/dev/null || return 1
    fi
    kubectl label --overwrite namespace "$ns" >/dev/null \
      pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/warn=restricted ||
      return 1
    kubectl get serviceaccount -n "$ns" default >/dev/null 2>&1 ||
      kubectl create serviceaccount -n "$ns" default >/dev/null || return 1
  done
}

# Applies server-side; any output on stderr (kubectl prints warnings there) is a failure.
check_apply() { # dir [extra kubectl args]
  local dir="$1" rc=0
  shift
  kubectl apply --server-side --field-manager="$FIELD_MANAGER" "$@" -k "$dir" \
    >"$work/apply.out" 2>"$work/apply.err" || rc=$?
  if [[ $rc -ne 0 || -s "$work/apply.err" ]]; then
    echo "apply -k $dir: exit $rc, stderr:" >&2
    cat "$work/apply.err" >&2
    return 1
  fi
}

check_diff() { # dir
  local rc=0
  kubectl diff --server-side --field-manager="$FIELD_MANAGER" -k "$1" >"$work/diff.out" 2>&1 ||
    rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "diff -k $1 after apply: exit $rc (1 = changes):" >&2
    cat "$work/diff.out" >&2
    return 1
  fi
}

check_pods() { # dir; uses the render of prepare_namespaces
  local rc=0
  python3 "$HERE/render.py" pods <"$work/render.json" >"$work/pods.json" || return 1
  kubectl create --dry-run=server -f "$work/pods.json" >"$work/pods.out" 2>"$work/pods.err" ||
    rc=$?
  if [[ $rc -ne 0 || -s "$work/pods.err" ]]; then
    echo "pods from the templates of $1 not admitted under Pod Security \"restricted\":" >&2
    cat "$work/pods.err" >&2
    return 1
  fi
}

# --- 2-4. the manifests, after the previous release's render if K8S_CHECK_PREVIOUS names its git
# ref: an upgrade must apply over it (a changed immutable field, a Deployment's selector say, fails).
for dir in "${dirs[@]}"; do
  rel="${dir#"$REPO"/}"
  if [[ -n "${K8S_CHECK_PREVIOUS:-}" ]]; then
    rm -rf "$work/previous"
    mkdir -p "$work/previous"
    # The whole k8s/ tree: an overlay refers to the base and components beside it. A release from
    # before the overlays had one flat kustomization, k8s/, which every overlay upgrades.
    git -C "$REPO" archive "$K8S_CHECK_PREVIOUS" k8s | tar -x -C "$work/previous" ||
      die "$rel: cannot read k8s/ at $K8S_CHECK_PREVIOUS"
    prev_rel="$rel"
    [[ -f "$work/previous/$rel/kustomization.yaml" ]] || prev_rel=k8s
    prepare_namespaces "$work/previous/$prev_rel" ||
      die "$prev_rel at $K8S_CHECK_PREVIOUS: cannot render it"
    check_apply "$work/previous/$prev_rel" ||
      die "$prev_rel at $K8S_CHECK_PREVIOUS: server-side apply"
    say "$rel: applied the render of $prev_rel at $K8S_CHECK_PREVIOUS first"
    # The upgrade as docs/operations.md ("Upgrade") has operators do it: a Job's pod template is
    # immutable, so the previous release's finished migration Jobs go first.
    kubectl delete job --all-namespaces -l app.kubernetes.io/component=migration \
      --wait=true >/dev/null || die "$rel: cannot delete the previous release's migration Jobs"
  fi
  prepare_namespaces "$dir" || die "$rel: cannot render or create its namespaces"
  check_apply "$dir" || die "$rel: server-side apply"
  say "$rel: applied server-side, no warnings ($(wc -l <"$work/apply.out") objects)"
  check_diff "$dir" || die "$rel: a second apply would change something"
  say "$rel: kubectl diff shows no change"
  check_pods "$dir" || die "$rel: Pod Security"
  say "$rel: $(wc -l <"$work/pods.out") pods from its templates admitted under \"restricted\""
done

# --- 5. the checker's self-test: broken copies of the first directory must fail.
broken_overlay() { # name patch-ops
  mkdir -p "$work/broken/$1"
  cat >"$work/broken/$1/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $(python3 -c 'import os,sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' \
    "${dirs[0]}" "$work/broken/$1")
patches:
  - target:
      kind: Deployment
    patch: |-
      ${2//$'\n'/$'\n'      }
EOF
  echo "$work/broken/$1"
}
unknown="$(broken_overlay unknown-field '- op: add
  path: /spec/template/spec/containers/0/bogusField
  value: "x"')"
if check_apply "$unknown" --dry-run=server 2>/dev/null; then
  die "self-test: a container with an unknown field was applied"
fi
hostnet="$(broken_overlay host-network '- op: add
  path: /spec/template/spec/hostNetwork
  value: true')"
prepare_namespaces "$hostnet" || die "self-test: cannot render $hostnet"
if check_apply "$hostnet" --dry-run=server 2>/dev/null; then
  die "self-test: a hostNetwork Deployment was applied without a Pod Security warning"
fi
if check_pods "$hostnet" 2>/dev/null; then
  die "self-test: a hostNetwork pod was admitted under \"restricted\""
fi
# `add` sets the field whether or not the Deployment has one (an autoscaled one has none).
scaled="$(broken_overlay scaled '- op: add
  path: /spec/replicas
  value: 7')"
if check_diff "$scaled" 2>/dev/null; then
  die "self-test: kubectl diff missed a changed replica count"
fi
say "self-test: unknown field, hostNetwork pod and a changed object caught"

say "passed in $(($(date +%s) - started))s"
