#!/usr/bin/env bash
# Builds the Go tools the Kubernetes checks need, at the versions pinned in this folder's two
# modules, and prints the directory that holds them:
#   PATH="$(tools/k8s/build-tools.sh kube-apiserver etcd kubectl):$PATH"
# Tools: kube-apiserver, etcd, kubectl (module apiserver/: k8s.io/kubernetes v1.37.2 with its staging
# modules replaced by v0.37.2, etcd v3.7.0 as kubernetes itself requires) and promtool, kubeconform,
# crane (module cli/, kept apart because promtool pulls client-go at another version).
#
# Binaries live in ${XDG_CACHE_HOME:-~/.cache}/techtrade/k8s-tools/<key>/bin, where <key> hashes
# both modules' go.mod and go.sum, the Go version and the build flags: a second run with the same
# inputs builds nothing. The cache sits outside the work tree because CI runs in a fresh clone on
# the same machine. GOCACHE and GOMODCACHE stay at Go's defaults so other Go builds share them.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
K8S_VERSION=v1.37.2
PROMETHEUS_VERSION=3.16.0 # github.com/prometheus/prometheus v0.316.0 in cli/go.mod
GO_MIN=1.26.7             # cli/go.mod says go 1.26.7; GOTOOLCHAIN=local must not download one

usage() {
  echo "usage: $0 [--print-key] TOOL..." >&2
  echo "tools: kube-apiserver etcd kubectl promtool kubeconform crane (or 'all')" >&2
  exit 2
}

# Per tool: module folder, package, build tags.
tool_spec() {
  case "$1" in
    kube-apiserver) echo "apiserver k8s.io/kubernetes/cmd/kube-apiserver -" ;;
    kubectl) echo "apiserver k8s.io/kubernetes/cmd/kubectl -" ;;
    etcd) echo "apiserver go.etcd.io/etcd/server/v3 -" ;;
    # Without remove_all_sd promtool compiles every cloud's service-discovery SDK (2.5x the code);
    # rule checks and rule tests need none of them.
    promtool) echo "cli github.com/prometheus/prometheus/cmd/promtool remove_all_sd" ;;
    kubeconform) echo "cli github.com/yannh/kubeconform/cmd/kubeconform -" ;;
    crane) echo "cli github.com/google/go-containerregistry/cmd/crane -" ;;
    *) return 1 ;;
  esac
}

find_go() {
  local go
  for go in "$(command -v go || true)" /usr/local/go/bin/go; do
    [[ -n "$go" && -x "$go" ]] || continue
    if version_ok "$("$go" env GOVERSION)"; then
      echo "$go"
      return 0
    fi
  done
  # Debian's golang-go is far older than the modules need, so there is no packaged install to fall
  # back on: a machine without Go >= GO_MIN must get it from go.dev first.
  echo "build-tools: need Go >= $GO_MIN (found: $(go version 2>/dev/null || echo none));" \
    "install it from https://go.dev/dl/ into /usr/local/go" >&2
  return 1
}

version_ok() { # go1.26.8 >= GO_MIN ?
  local have="${1#go}"
  [[ "$(printf '%s\n%s\n' "$GO_MIN" "$have" | sort -V | head -1)" == "$GO_MIN" ]]
}

print_key=0
tools=()
for arg in "$@"; do
  case "$arg" in
    --print-key) print_key=1 ;;
    all) tools+=(kube-apiserver etcd kubectl promtool kubeconform crane) ;;
    -*) usage ;;
    *)
      tool_spec "$arg" >/dev/null || usage
      tools+=("$arg")
      ;;
  esac
done
[[ ${#tools[@]} -gt 0 || $print_key -eq 1 ]] || usage

GO="$(find_go)"
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0

# component-base's version is what kube-apiserver and kubectl report; without these it reads
# v0.0.0-master. Prometheus' version package does the same for promtool.
KVER="k8s.io/component-base/version"
k8s_minor="${K8S_VERSION#v*.}"
k8s_minor="${k8s_minor%%.*}"
LDFLAGS_K8S="-s -w -X $KVER.gitVersion=$K8S_VERSION -X $KVER.gitMajor=1 -X $KVER.gitMinor=$k8s_minor"
LDFLAGS_K8S+=" -X $KVER.gitTreeState=clean -X $KVER.buildDate=1970-01-01T00:00:00Z"
LDFLAGS_CLI="-s -w -X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION"
BUILD_FLAGS="-trimpath"

key="$({
  cat "$HERE/apiserver/go.mod" "$HERE/apiserver/go.sum" "$HERE/cli/go.mod" "$HERE/cli/go.sum"
  "$GO" env GOVERSION GOOS GOARCH
  echo "$BUILD_FLAGS|$LDFLAGS_K8S|$LDFLAGS_CLI|$CGO_ENABLED"
  declare -f tool_spec
} | sha256sum | cut -c1-16)"
if [[ $print_key -eq 1 ]]; then
  echo "$key"
  exit 0
fi

root="${XDG_CACHE_HOME:-$HOME/.cache}/techtrade/k8s-tools"
bin="$root/$key/bin"
mkdir -p "$bin"

missing=()
for t in "${tools[@]}"; do
  [[ -x "$bin/$t" && -f "$bin/.stamp-$t" ]] || missing+=("$t")
done

if [[ ${#missing[@]} -gt 0 ]]; then
  # One build at a time: kube-apiserver's link alone needs 1-2 GB and the machine has 2 cores.
  exec 9>"$root/.lock"
  flock 9
  for t in "${missing[@]}"; do
    [[ -x "$bin/$t" && -f "$bin/.stamp-$t" ]] && continue # built by whoever held the lock
    read -r mod pkg tags < <(tool_spec "$t")
    ldflags="$LDFLAGS_CLI"
    [[ "$mod" == apiserver ]] && ldflags="$LDFLAGS_K8S"
    tagflag=()
    [[ "$tags" != - ]] && tagflag=(-tags "$tags")
    echo "build-tools: building $t ($pkg) into $bin" >&2
    start=$(date +%s)
    tmp="$(mktemp -d "$root/$key/tmp.XXXXXX")"
    (cd "$HERE/$mod" && nice -n 19 "$GO" build -p 2 $BUILD_FLAGS "${tagflag[@]}" \
      -ldflags "$ldflags" -o "$tmp/$t" "$pkg") || {
      rm -rf "$tmp"
      echo "build-tools: building $t failed" >&2
      exit 1
    }
    mv -f "$tmp/$t" "$bin/$t"
    rm -rf "$tmp"
    echo "$pkg $("$GO" env GOVERSION) built $(date -u +%FT%TZ) in $(($(date +%s) - start))s" \
      >"$bin/.stamp-$t"
    echo "build-tools: $t built in $(($(date +%s) - start))s" >&2
  done
fi

echo "$bin"
