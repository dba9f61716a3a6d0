#!/usr/bin/python3
"""The PostgreSQL connection budget of a rendered overlay (docs/operations.md, "Connection
budget"): every process that may run at once against the one server, times its connections,
must fit in max_connections less superuser_reserved_connections.

  check_budget.py RENDER.yaml [--max-connections N] [--reserved N]

Processes per Deployment: its HPA's maxReplicas (else its replicas, 1 when unset) plus the pods a
rolling update surges. Connections per process: TECHTRADE_DB_POOL_SIZE (16 unless set) + 2 (the
outbox relay and the maintenance worker); a Job's pod (`--migrate-only`) opens 1; and 1 is kept
for an operator's session. max_connections is the render's CloudNativePG Cluster's when it has
one, else --max-connections (PostgreSQL's default, 100, as the docs assume).
Also checked: TECHTRADE_EXPECTED_REPLICAS, where set, is that number of processes (the services'
own start-up check then agrees with this one), and no autoscaled Deployment has a replica count
(applying it would reset the HPA's). Exits 1 with the figures when anything fails.
"""
import argparse
import math
import sys

import yaml

DEFAULT_POOL = 16
PER_PROCESS_EXTRA = 2  # outbox relay + maintenance worker
JOB_CONNECTIONS = 1  # --migrate-only opens one
OPERATOR_SESSION = 1


def env_of(container, config_maps):
    env = {}
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef")
        if ref:
            env.update(config_maps.get(ref["name"], {}))
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = e["value"]
    return env


def surge(deployment, replicas):
    strategy = deployment["spec"].get("strategy", {})
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return 0
    value = strategy.get("rollingUpdate", {}).get("maxSurge", "25%")
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(replicas * int(value[:-1]) / 100)
    return int(value)


def budget(objects, max_connections, reserved):
    """(lines of the computation, list of failures)."""
    by_kind = {}
    for o in objects:
        by_kind.setdefault(o["kind"], []).append(o)
    config_maps = {c["metadata"]["name"]: c.get("data", {}) for c in by_kind.get("ConfigMap", [])}
    hpa_max = {h["spec"]["scaleTargetRef"]["name"]: h["spec"]["maxReplicas"]
               for h in by_kind.get("HorizontalPodAutoscaler", [])
               if h["spec"]["scaleTargetRef"]["kind"] == "Deployment"}
    for cluster in by_kind.get("Cluster", []):
        if cluster["apiVersion"].startswith("postgresql.cnpg.io/"):
            params = cluster["spec"].get("postgresql", {}).get("parameters", {})
            max_connections = int(params.get("max_connections", max_connections))
    lines, failures, processes, needed, expected = [], [], 0, 0, {}
    for d in by_kind.get("Deployment", []):
        name = d["metadata"]["name"]
        if name in hpa_max:
            if "replicas" in d["spec"]:
                failures.append(f"{name}: autoscaled, yet its Deployment sets replicas "
                                f"({d['spec']['replicas']}): every apply resets the HPA's count")
            count = hpa_max[name]
        else:
            count = d["spec"].get("replicas", 1)
        count += surge(d, count)
        (container,) = d["spec"]["template"]["spec"]["containers"]
        env = env_of(container, config_maps)
        per = int(env.get("TECHTRADE_DB_POOL_SIZE", DEFAULT_POOL)) + PER_PROCESS_EXTRA
        if "TECHTRADE_EXPECTED_REPLICAS" in env:
            expected[name] = int(env["TECHTRADE_EXPECTED_REPLICAS"])
        processes += count
        needed += count * per
        lines.append(f"{name}: {count} processes x {per} = {count * per}")
    for job in by_kind.get("Job", []):
        pods = job["spec"].get("parallelism", 1)
        needed += pods * JOB_CONNECTIONS
        lines.append(f"job {job['metadata']['name']}: {pods} x {JOB_CONNECTIONS}")
    needed += OPERATOR_SESSION
    available = max_connections - reserved
    lines.append(f"an operator's session: {OPERATOR_SESSION}")
    lines.append(f"total {needed} of {available} (max_connections {max_connections} - "
                 f"{reserved} reserved), {processes} service processes")
    if needed > available:
        failures.append(f"{needed} connections needed > {available} available: lower the pools "
                        "or the replica maxima, or raise max_connections")
    for name, value in sorted(expected.items()):
        if value != processes:
            failures.append(f"{name}: TECHTRADE_EXPECTED_REPLICAS {value}, but {processes} "
                            "service processes may run at once")
    return lines, failures


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("render")
    parser.add_argument("--max-connections", type=int, default=100)
    parser.add_argument("--reserved", type=int, default=3)
    args = parser.parse_args(argv)
    with open(args.render, encoding="utf-8") as f:
        objects = [o for o in yaml.safe_load_all(f) if o]
    lines, failures = budget(objects, args.max_connections, args.reserved)
    print("\n".join(lines))
    for failure in failures:
        print(f"check_budget: FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
