#!/usr/bin/env bash
# Prints a directory of Kubernetes v1.37 JSON schemas (strict: no field a kind lacks), named as
# kubeconform's {{ .ResourceKind }}{{ .KindSuffix }}.json, for tests/deploy/check_overlays.sh.
# They come from the `kubernetes-validate` package on PyPI (it ships them for each Kubernetes
# version), fetched once with pip at a pinned version and sha256 and unpacked into
# ${XDG_CACHE_HOME:-~/.cache}/techtrade/k8s-schemas/: later runs print the cached directory.
set -euo pipefail

VERSION=1.37.0
SHA256=85136d018a27b50ec7fc049d902bfa5193f5976807e6c0f408e3ab6fe078cad9
SCHEMAS=v1.37.0-local-strict # the API server's version (tools/k8s/README.md)

cache="${XDG_CACHE_HOME:-$HOME/.cache}/techtrade/k8s-schemas/kubernetes-validate-$VERSION"
dir="$cache/kubernetes_validate/kubernetes-json-schema/$SCHEMAS"
if [[ -f "$dir/deployment-apps-v1.json" ]]; then
  echo "$dir"
  exit 0
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/k8s-schemas.XXXXXX")"
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$work" \
  "kubernetes-validate==$VERSION" >&2
wheel="$work/kubernetes_validate-$VERSION-py3-none-any.whl"
echo "$SHA256  $wheel" | sha256sum --check --quiet >&2 ||
  { echo "k8s-schemas.sh: $wheel is not the pinned sha256 $SHA256" >&2; exit 1; }
# Unpacked beside the cache and moved in whole, so that a run never sees half of it.
mkdir -p "$(dirname "$cache")"
python3 -m zipfile -e "$wheel" "$work/unpacked" >&2
mkdir -p "$work/keep/kubernetes_validate/kubernetes-json-schema"
mv "$work/unpacked/kubernetes_validate/kubernetes-json-schema/$SCHEMAS" \
  "$work/keep/kubernetes_validate/kubernetes-json-schema/"
# The schemas refer to their shared definitions as /api/_definitions.json (kubernetes-validate
# resolves that itself); kubeconform needs a URL it can open: the file where it will be.
find "$work/keep" -name '*.json' -exec sed -i \
  "s|\"/api/_definitions.json#|\"file://$dir/_definitions.json#|g" {} +
rm -rf "$cache"
mv "$work/keep" "$cache"
echo "$dir"
