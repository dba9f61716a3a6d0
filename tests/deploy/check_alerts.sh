#!/usr/bin/env bash
# Checks the alert rules (k8s/components/monitoring/alerts.yaml) and the Grafana dashboard's queries with promtool:
#  - `promtool check rules` on the PrometheusRule's spec.groups, written out as a rules file;
#  - `promtool test rules` on tests/deploy/alerts_test.yaml, where every alert fires in a case;
#  - every dashboard query parses: each panel's expr, with Grafana's variables filled in, becomes a
#    recording rule of a generated rules file that `promtool check rules` parses;
#  - every alert links a runbook section that exists in docs/operations.md and is fired by a test.
#
# Usage: check_alerts.sh ROOT
# promtool comes from $PROMTOOL, else from tools/k8s/build-tools.sh (cached after the first
# build). Exits 77 (a skip for ctest) only when neither can provide it.
set -euo pipefail

ROOT="$(cd "${1:?usage: $0 ROOT}" && pwd)"
SKIP=77

if [[ -z "${PROMTOOL:-}" ]]; then
  builder="$ROOT/tools/k8s/build-tools.sh"
  if [[ ! -x "$builder" ]]; then
    echo "SKIP: no promtool: set PROMTOOL, or provide $builder" >&2
    exit $SKIP
  fi
  if ! bin="$("$builder" promtool)"; then
    echo "SKIP: no promtool: $builder promtool failed (see above)" >&2
    exit $SKIP
  fi
  PROMTOOL="$bin/promtool"
fi
if [[ ! -x "$PROMTOOL" ]]; then
  echo "SKIP: no promtool at $PROMTOOL" >&2
  exit $SKIP
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/test"

/usr/bin/python3 - "$ROOT" "$work" <<'EOF'
import copy
import json
import re
import sys

import yaml

root, work = sys.argv[1], sys.argv[2]
failures = []

with open(f"{root}/k8s/components/monitoring/alerts.yaml", encoding="utf-8") as f:
    groups = yaml.safe_load(f)["spec"]["groups"]
with open(f"{work}/alerts.rules.yaml", "w", encoding="utf-8") as f:
    yaml.safe_dump({"groups": groups}, f, sort_keys=False)

# The tests compare every annotation: they state the summary (its labels and values rendered),
# not the runbook prose, which check rules still parses from the full file.
summaries = copy.deepcopy(groups)
for group in summaries:
    for rule in group["rules"]:
        rule["annotations"] = {"summary": rule["annotations"]["summary"]}
with open(f"{work}/test/alerts.rules.yaml", "w", encoding="utf-8") as f:
    yaml.safe_dump({"groups": summaries}, f, sort_keys=False)

with open(f"{root}/tests/deploy/alerts_test.yaml", encoding="utf-8") as f:
    tests = yaml.safe_load(f)
fired = {case["alertname"] for t in tests["tests"] for case in t.get("alert_rule_test", [])
         if case.get("exp_alerts")}
with open(f"{root}/docs/operations.md", encoding="utf-8") as f:
    headings = {m.group(1).strip() for m in re.finditer(r"^#+ (.+)$", f.read(), re.M)}
for group in groups:
    for rule in group["rules"]:
        name = rule["alert"]
        if name not in fired:
            failures.append(f"{name}: no case of alerts_test.yaml fires it")
        if name not in headings:
            failures.append(f"{name}: docs/operations.md has no section '### {name}'")
        url = rule.get("annotations", {}).get("runbook_url", "")
        if url != f"docs/operations.md#{name.lower()}":
            failures.append(f"{name}: runbook_url is {url!r}, not docs/operations.md#{name.lower()}")

# Grafana's variables, as a query would see them: any service, any namespace.
variables = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h",
             "${service}": ".*", "$service": ".*", "${namespace}": ".*", "$namespace": ".*"}
with open(f"{root}/deploy/dashboards/techtrade.json", encoding="utf-8") as f:
    dashboard = json.load(f)
rules = []
for i, panel in enumerate(dashboard["panels"]):
    for j, target in enumerate(panel.get("targets", [])):
        expr = target["expr"]
        for name, value in variables.items():
            expr = expr.replace(name, value)
        if "$" in expr:
            failures.append(f"panel {panel['title']!r}: unknown variable in {expr}")
        rules.append({"record": f"dashboard:panel{i}:target{j}", "expr": expr})
with open(f"{work}/dashboard.rules.yaml", "w", encoding="utf-8") as f:
    yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f, sort_keys=False)
print(f"{len(rules)} dashboard queries written as recording rules")

for failure in failures:
    print(f"FAIL: {failure}", file=sys.stderr)
sys.exit(1 if failures else 0)
EOF

cp "$ROOT/tests/deploy/alerts_test.yaml" "$work/test/"
"$PROMTOOL" check rules "$work/alerts.rules.yaml"
# Recording-rule names in the generated file carry colons on purpose; lint only the syntax.
"$PROMTOOL" check rules --lint=none "$work/dashboard.rules.yaml"
"$PROMTOOL" test rules "$work/test/alerts_test.yaml"
echo "alerts and dashboard: OK"
