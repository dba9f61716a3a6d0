#!/usr/bin/env bash
# Prints the CRD files the manifests of k8s/ use, one path a line, for k8s-check.sh (applied to its
# API server) and tests/deploy/check_overlays.sh (schemas for kubeconform). Taken from the projects
# that publish them, as Go modules from the module proxy at pinned versions (the h1: sum pins the
# content; go also checks it against sum.golang.org), into the Go module cache:
#   prometheus-operator v0.85.0: PrometheusRule, PodMonitor (components/monitoring);
#   cert-manager v1.21.2: Issuer, Certificate (components/cert-manager, components/cnpg).
# Strimzi and CloudNativePG publish theirs nowhere this can fetch (no Go module, nor in a Maven
# jar): crds/*-minimal.yaml are written here instead, for the fields k8s/ uses, marked as such.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
go="$(command -v go || echo /usr/local/go/bin/go)" # as build-tools.sh looks for it
empty="$(mktemp -d "${TMPDIR:-/tmp}/crds.XXXXXX")"
trap 'rm -rf "$empty"' EXIT

module() { # module@version h1-sum dir-in-module file...
  local mod="$1" sum="$2" sub="$3" out dir got f
  shift 3
  # Outside any module (an empty directory), so nothing but this module is resolved.
  out="$(cd "$empty" && GOTOOLCHAIN=local GOFLAGS=-mod=mod "$go" mod download -json "$mod")" || {
    echo "crds.sh: go mod download $mod failed" >&2
    return 1
  }
  read -r dir got < <(python3 -c \
    'import json,sys; d=json.load(sys.stdin); print(d["Dir"], d["Sum"])' <<<"$out")
  if [[ "$got" != "$sum" ]]; then
    echo "crds.sh: $mod: sum $got is not the pinned $sum" >&2
    return 1
  fi
  for f; do echo "$dir/$sub/$f"; done
}

module github.com/prometheus-operator/prometheus-operator@v0.85.0 \
  "h1:M5xLCLEoaW2IJfnuCwFzzpL+jSVQu3KGT84Pye+fW8s=" example/prometheus-operator-crd \
  monitoring.coreos.com_prometheusrules.yaml monitoring.coreos.com_podmonitors.yaml
module github.com/cert-manager/cert-manager@v1.21.2 \
  "h1:UWgoYM+KLNtRlqmoWOKjKBOBUPVHeepQ6/ac3ERJW68=" deploy/crds \
  cert-manager.io_issuers.yaml cert-manager.io_certificates.yaml
echo "$HERE/crds/strimzi-minimal.yaml"
echo "$HERE/crds/cnpg-minimal.yaml"
