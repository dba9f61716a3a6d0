#!/usr/bin/python3
"""What every overlay's render must hold beyond its schemas (issue #23), for check_overlays.sh:

  check_overlay_rules.py RENDER.yaml

- the namespace enforces Pod Security "restricted";
- each service runs as its own ServiceAccount, which mounts no token;
- its pods spread over nodes and zones;
- its settings come from a generated ConfigMap (a name with a content hash), so that a changed
  setting rolls the pods;
- a Deployment that does not migrate at start-up has a Job running `<service> --migrate-only`.
Exits 1 listing what fails.
"""
import sys

import yaml


def failures(objects):
    found = []
    by_kind = {}
    for o in objects:
        by_kind.setdefault(o["kind"], {})[o["metadata"]["name"]] = o
    for name, ns in by_kind.get("Namespace", {}).items():
        labels = ns["metadata"].get("labels", {})
        if labels.get("pod-security.kubernetes.io/enforce") != "restricted":
            found.append(f"namespace {name}: Pod Security 'restricted' not enforced")
    if not by_kind.get("Namespace"):
        found.append("no Namespace in the render")
    # The migration may be a Job's initContainer (prod's: the seal follows as its container).
    jobs = [c.get("command", []) for j in by_kind.get("Job", {}).values()
            for c in j["spec"]["template"]["spec"].get("initContainers", []) +
            j["spec"]["template"]["spec"]["containers"]]
    generated = {n for n, c in by_kind.get("ConfigMap", {}).items()
                 if n.startswith("techtrade-config-")}
    for name, d in by_kind.get("Deployment", {}).items():
        spec = d["spec"]["template"]["spec"]
        account = spec.get("serviceAccountName", "default")
        sa = by_kind.get("ServiceAccount", {}).get(account)
        if account != name or sa is None:
            found.append(f"{name}: runs as ServiceAccount {account}, not its own")
        elif sa.get("automountServiceAccountToken") is not False:
            found.append(f"{name}: its ServiceAccount mounts a token")
        keys = {c["topologyKey"] for c in spec.get("topologySpreadConstraints", [])}
        for key in ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]:
            if key not in keys:
                found.append(f"{name}: no topology spread over {key}")
        (container,) = spec["containers"]
        refs = [s["configMapRef"]["name"] for s in container.get("envFrom", [])
                if "configMapRef" in s]
        if not refs or any(r not in generated for r in refs):
            found.append(f"{name}: settings from {refs}, not a generated techtrade-config-<hash>")
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        if env.get("TECHTRADE_MIGRATE_ON_START") == "false" and \
                [name, "--migrate-only"] not in jobs:
            found.append(f"{name}: migrates nothing at start-up, and no Job runs "
                         f"`{name} --migrate-only`")
    return found


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        objects = [o for o in yaml.safe_load_all(f) if o]
    found = failures(objects)
    for failure in found:
        print(f"check_overlay_rules: FAILED: {failure}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
