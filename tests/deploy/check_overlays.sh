#!/usr/bin/env bash
# Checks every overlay of k8s/overlays/ without a cluster:
#  - it renders (`kubectl kustomize`);
#  - `kubeconform -strict` passes on the render, against the Kubernetes v1.37 schemas
#    (tools/k8s/k8s-schemas.sh) and schemas made from the CRDs of its components
#    (tools/k8s/crds.sh, tools/k8s/crd_schemas.py): no unknown field, no wrong type;
#  - it holds what schemas cannot say (check_overlay_rules.py: Pod Security enforced, a
#    ServiceAccount per service without a token, spread, generated config, migration Jobs);
#  - its PostgreSQL connection budget fits (check_budget.py; check_budget_test.py tests that check);
#  - and kubeconform itself catches broken copies (an unknown field in a Deployment's container,
#    a KafkaTopic and a Certificate), so that a passing run means something.
#
# Usage: check_overlays.sh ROOT
# The tools come from tools/k8s/build-tools.sh (cached after the first build), the schemas from
# PyPI and the Go module proxy (cached after the first fetch). Exits 77 (a skip for ctest) only
# when one of them cannot be had.
set -euo pipefail

ROOT="$(cd "${1:?usage: $0 ROOT}" && pwd)"
SKIP=77
skip() {
  echo "SKIP: $*" >&2
  exit $SKIP
}

bin="$("$ROOT/tools/k8s/build-tools.sh" kubectl kubeconform)" ||
  skip "no kubectl/kubeconform: tools/k8s/build-tools.sh failed (see above)"
k8s_schemas="$("$ROOT/tools/k8s/k8s-schemas.sh")" ||
  skip "no Kubernetes schemas: tools/k8s/k8s-schemas.sh failed (see above)"
crd_list="$("$ROOT/tools/k8s/crds.sh")" || skip "no CRDs: tools/k8s/crds.sh failed (see above)"
mapfile -t crds <<<"$crd_list"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$ROOT/tools/k8s/crd_schemas.py" "$work/crd-schemas" "${crds[@]}"

crd_template='{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json'
kubeconform() { # file
  "$bin/kubeconform" -strict -summary \
    -schema-location "$k8s_schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    -schema-location "$work/crd-schemas/$crd_template" "$1"
}

failed=0
overlays=("$ROOT"/k8s/overlays/*/)
if [[ ${#overlays[@]} -lt 2 ]]; then
  echo "FAILED: fewer than two overlays in k8s/overlays" >&2
  exit 1
fi
for dir in "${overlays[@]}"; do
  name="$(basename "$dir")"
  echo "--- $name"
  if ! "$bin/kubectl" kustomize "$dir" >"$work/$name.yaml"; then
    echo "FAILED: $name does not render" >&2
    failed=1
    continue
  fi
  kubeconform "$work/$name.yaml" || { echo "FAILED: $name: kubeconform" >&2; failed=1; }
  /usr/bin/python3 "$ROOT/tests/deploy/check_overlay_rules.py" "$work/$name.yaml" || failed=1
  # The server's max_connections: the render's CloudNativePG Cluster's, else PostgreSQL's default
  # 100 - 3 reserved, as docs/operations.md ("Connection budget") assumes for prod.
  /usr/bin/python3 "$ROOT/tests/deploy/check_budget.py" "$work/$name.yaml" \
    --max-connections 100 --reserved 3 || { echo "FAILED: $name: connection budget" >&2; failed=1; }
done

echo "--- check_budget.py's own tests, on prod's render"
/usr/bin/python3 "$ROOT/tests/deploy/check_budget_test.py" "$work/prod.yaml" || failed=1

echo "--- kubeconform catches broken copies of prod's render"
/usr/bin/python3 - "$work" <<'PY'
import sys
import yaml

work = sys.argv[1]
with open(f"{work}/prod.yaml", encoding="utf-8") as f:
    objects = [o for o in yaml.safe_load_all(f) if o]


def broken(name, kind, change):
    (target,) = [o for o in objects if o["kind"] == kind][:1]
    change(target)
    with open(f"{work}/broken-{name}.yaml", "w", encoding="utf-8") as f:
        yaml.safe_dump(target, f)


broken("container", "Deployment",
       lambda d: d["spec"]["template"]["spec"]["containers"][0].update(bogusField="x"))
broken("kafkatopic", "KafkaTopic", lambda t: t["spec"].update(replicationFactor=3))
broken("certificate", "Certificate", lambda c: c["spec"].update(dnsName="x"))

# And check_overlay_rules.py a render with the issue's defects: no Pod Security label, the default
# ServiceAccount.
for o in objects:
    if o["kind"] == "Namespace":
        del o["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
    if o["kind"] == "Deployment" and o["metadata"]["name"] == "fund":
        del o["spec"]["template"]["spec"]["serviceAccountName"]
with open(f"{work}/broken-rules.yaml", "w", encoding="utf-8") as f:
    yaml.safe_dump_all(objects, f)
PY
rules_check="$ROOT/tests/deploy/check_overlay_rules.py"
if rules="$(/usr/bin/python3 "$rules_check" "$work/broken-rules.yaml" 2>&1)"; then
  echo "FAILED: check_overlay_rules.py passed a render without Pod Security" >&2
  failed=1
fi
for want in "Pod Security 'restricted' not enforced" "fund: runs as ServiceAccount default"; do
  if ! grep -qF "$want" <<<"$rules"; then
    echo "FAILED: check_overlay_rules.py missed: $want" >&2
    failed=1
  fi
done
# Refused for the field, not for a schema it could not find.
for name in container kafkatopic certificate; do
  out="$(kubeconform "$work/broken-$name.yaml" 2>&1)" || true
  if ! grep -q "additional properties .* not allowed" <<<"$out"; then
    echo "FAILED: kubeconform did not refuse the unknown field of broken-$name.yaml" >&2
    failed=1
  fi
done

if [[ $failed -ne 0 ]]; then
  echo "check_overlays: FAILED (above)" >&2
  exit 1
fi
echo "check_overlays: every overlay renders, validates and fits its connection budget"
