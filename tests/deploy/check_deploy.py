#!/usr/bin/python3
"""Checks the Kubernetes manifests (k8s/), the container image (deploy/images/) and the Grafana
dashboard (deploy/dashboards/) against the code.

Nothing here can start a cluster or build an image (neither exists on a development machine), so
this checks what can be checked without them: the prod overlay's render (`kubectl kustomize`, from
PATH or tools/k8s/build-tools.sh's cache; the Manifests tests are skipped without it), every
file of k8s/ is used, every setting they pass is one a service reads, probes and ports agree
with the settings, the shutdown timing fits in the grace period, Services select real pods and ports, the image builds
the binaries the Deployments run, its runtime packages cover every library those binaries
load, and the dashboard charts only metrics the services export.

Usage: check_deploy.py ROOT BINARY...   (BINARY: built service executables)
"""
import functools
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import unittest

import yaml

ROOT = ""
BINARIES = []
SERVICES = ["registry", "listings", "transactions", "fund"]


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def kubectl():
    """kubectl from PATH, else tools/k8s/build-tools.sh's cached build (never built here)."""
    if shutil.which("kubectl"):
        return shutil.which("kubectl")
    key = subprocess.run([os.path.join(ROOT, "tools/k8s/build-tools.sh"), "--print-key"],
                         capture_output=True, text=True).stdout.strip()
    cache = os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))
    path = os.path.join(cache, "techtrade/k8s-tools", key, "bin/kubectl")
    return path if key and os.access(path, os.X_OK) else None


@functools.cache
def render():
    """The objects `kubectl apply -k k8s/overlays/prod` would create (components, generated
    ConfigMap and all), or SkipTest without kubectl."""
    binary = kubectl()
    if binary is None:
        raise unittest.SkipTest("no kubectl: on PATH or from `make k8s-tools`")
    out = subprocess.run([binary, "kustomize", os.path.join(ROOT, "k8s/overlays/prod")],
                         check=True, capture_output=True, text=True).stdout
    return None, [o for o in yaml.safe_load_all(out) if o]


def known_settings():
    """Every TECHTRADE_* variable a service process reads."""
    names = set()
    for path in glob.glob(os.path.join(ROOT, "common", "*.cc")) + glob.glob(
            os.path.join(ROOT, "services", "*", "main.cc")):
        with open(path, encoding="utf-8") as f:
            names |= set(re.findall(r'"(TECHTRADE_[A-Z0-9_]+)"', f.read()))
    # libpq's own: the TLS of every PostgreSQL connection (docs/security.md).
    return names | {"PGSSLMODE", "PGSSLROOTCERT", "PGSSLCERT", "PGSSLKEY"}


class Manifests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        _, cls.objects = render()
        cls.by_kind = {}
        for o in cls.objects:
            cls.by_kind.setdefault(o["kind"], {})[o["metadata"]["name"]] = o
        # Generated: techtrade-config-<hash of its content>.
        (cls.config,) = [c["data"] for name, c in cls.by_kind["ConfigMap"].items()
                         if name.startswith("techtrade-config-")]

    def deployments(self):
        return self.by_kind["Deployment"].items()

    def env_of(self, container):
        """name -> value (or the source of a value) the container gets."""
        env = {}
        for source in container.get("envFrom", []):
            name = source["configMapRef"]["name"]
            env.update(self.by_kind["ConfigMap"][name]["data"])
        for e in container.get("env", []):
            env[e["name"]] = e.get("value", e.get("valueFrom"))
        return env

    def test_every_file_is_used_and_every_reference_exists(self):
        for path in glob.glob(os.path.join(ROOT, "k8s", "**", "kustomization.yaml"),
                              recursive=True):
            directory = os.path.dirname(path)
            with open(path, encoding="utf-8") as f:
                k = yaml.safe_load(f)
            used = [r for r in k.get("resources", []) if not r.startswith("..")]
            used += [p["path"] for p in k.get("patches", []) if "path" in p]
            used += [e for g in k.get("configMapGenerator", []) for e in g.get("envs", [])]
            for name in used:
                self.assertTrue(os.path.isfile(os.path.join(directory, name)), (path, name))
            present = {os.path.basename(p) for p in glob.glob(os.path.join(directory, "*"))
                       if os.path.isfile(p)} - {"kustomization.yaml"}
            self.assertEqual(sorted(present - set(used)), [], f"{path}: files it does not use")

    def test_one_deployment_per_service_running_its_binary(self):
        self.assertEqual(sorted(self.by_kind["Deployment"]), sorted(SERVICES))
        for name, d in self.deployments():
            (container,) = d["spec"]["template"]["spec"]["containers"]
            self.assertEqual(container["command"], [name])
            self.assertTrue(container["image"].startswith("techtrade:"), container["image"])
            labels = d["spec"]["template"]["metadata"]["labels"]
            for key, value in d["spec"]["selector"]["matchLabels"].items():
                self.assertEqual(labels.get(key), value, name)

    def test_every_setting_is_one_a_service_reads(self):
        known = known_settings()
        self.assertIn("TECHTRADE_PG_URL", known)  # the extraction itself works
        for name, d in self.deployments():
            (container,) = d["spec"]["template"]["spec"]["containers"]
            env = self.env_of(container)
            self.assertEqual(sorted(set(env) - known), [], f"{name}: settings no service reads")
            for required in ["TECHTRADE_PG_URL", "TECHTRADE_KAFKA_BROKERS", "TECHTRADE_REDIS_URL",
                             "TECHTRADE_GRPC_PORT", "TECHTRADE_METRICS_PORT"]:
                self.assertIn(required, env, name)
            # A container must listen beyond its own loopback to be probed and called.
            self.assertEqual(env.get("TECHTRADE_LISTEN_HOST"), "0.0.0.0", name)
            pg = env["TECHTRADE_PG_URL"]["secretKeyRef"]
            self.assertEqual((pg["name"], pg["key"]), ("techtrade-postgres", name))

    def test_probes_and_ports_agree_with_the_settings(self):
        for name, d in self.deployments():
            template = d["spec"]["template"]
            (container,) = template["spec"]["containers"]
            env = self.env_of(container)
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            self.assertEqual(ports["grpc"], int(env["TECHTRADE_GRPC_PORT"]), name)
            self.assertEqual(ports["metrics"], int(env["TECHTRADE_METRICS_PORT"]), name)
            # Probes go to the plaintext health port: the gRPC port requires a client certificate.
            self.assertEqual(ports["health"], int(env["TECHTRADE_HEALTH_PORT"]), name)
            for probe in ["startupProbe", "readinessProbe", "livenessProbe"]:
                self.assertEqual(container[probe]["grpc"]["port"], ports["health"], (name, probe))
            annotations = template["metadata"]["annotations"]
            self.assertEqual(int(annotations["prometheus.io/port"]), ports["metrics"], name)
            self.assertEqual(annotations["prometheus.io/path"], "/metrics")

    def test_tls_files_come_from_the_services_secret_mounted_whole(self):
        for name, d in self.deployments():
            spec = d["spec"]["template"]["spec"]
            (container,) = spec["containers"]
            env = self.env_of(container)
            self.assertEqual(env.get("PGSSLMODE"), "verify-full", name)
            volumes = {v["name"]: v for v in spec.get("volumes", [])}
            mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
            for setting in ["TECHTRADE_TLS_CA", "TECHTRADE_TLS_CERT", "TECHTRADE_TLS_KEY",
                            "TECHTRADE_KAFKA_CA", "TECHTRADE_KAFKA_CERT", "TECHTRADE_KAFKA_KEY",
                            "PGSSLROOTCERT"]:
                path = env.get(setting)
                self.assertIsNotNone(path, (name, setting))
                mount = mounts.get(os.path.dirname(path))
                self.assertIsNotNone(mount, (name, setting, path))
                # A subPath mount never sees a rotated Secret.
                self.assertNotIn("subPath", mount, (name, setting))
                self.assertEqual(volumes[mount["name"]]["secret"]["secretName"], f"{name}-tls")

    def test_shutdown_fits_in_the_grace_period(self):
        for name, d in self.deployments():
            spec = d["spec"]["template"]["spec"]
            (container,) = spec["containers"]
            env = self.env_of(container)
            command = container["lifecycle"]["preStop"]["exec"]["command"]
            self.assertEqual(command[0], "sleep")
            pause = int(command[1])
            drain = int(env.get("TECHTRADE_SHUTDOWN_GRACE_SECONDS", "10"))
            self.assertGreaterEqual(spec["terminationGracePeriodSeconds"], pause + drain + 5, name)
            rolling = d["spec"]["strategy"]["rollingUpdate"]
            self.assertEqual(rolling["maxUnavailable"], 0, name)

    def test_containers_are_locked_down_and_bounded(self):
        for name, d in self.deployments():
            spec = d["spec"]["template"]["spec"]
            self.assertTrue(spec["securityContext"]["runAsNonRoot"], name)
            self.assertFalse(spec["automountServiceAccountToken"], name)
            (container,) = spec["containers"]
            security = container["securityContext"]
            self.assertTrue(security["readOnlyRootFilesystem"], name)
            self.assertFalse(security["allowPrivilegeEscalation"], name)
            self.assertEqual(security["capabilities"]["drop"], ["ALL"], name)
            self.assertIn("memory", container["resources"]["limits"], name)
            self.assertIn("cpu", container["resources"]["requests"], name)

    def test_services_select_pods_and_named_ports(self):
        pods = {name: d["spec"]["template"] for name, d in self.deployments()}
        for name, service in self.by_kind["Service"].items():
            selector = service["spec"]["selector"]
            matches = [p for p, t in pods.items()
                       if all(t["metadata"]["labels"].get(k) == v for k, v in selector.items())]
            self.assertEqual(len(matches), 1, f"Service {name} selects {matches}")
            (container,) = pods[matches[0]]["spec"]["containers"]
            names = {p["name"] for p in container["ports"]}
            for port in service["spec"]["ports"]:
                self.assertIn(port["targetPort"], names, name)
        for name, pdb in self.by_kind["PodDisruptionBudget"].items():
            self.assertEqual(pdb["spec"]["selector"]["matchLabels"],
                             self.by_kind["Deployment"][name]["spec"]["selector"]["matchLabels"])
            # One at a time, whatever the replica count (an HPA's, or one in dev).
            self.assertEqual(pdb["spec"].get("maxUnavailable"), 1, name)

    def test_in_cluster_addresses_name_headless_services(self):
        for key in ["TECHTRADE_REGISTRY_ADDR", "TECHTRADE_LISTINGS_ADDR"]:
            match = re.fullmatch(r"dns:///([a-z0-9-]+):(\d+)", self.config[key])
            self.assertIsNotNone(match, key)
            service = self.by_kind["Service"].get(match.group(1))
            self.assertIsNotNone(service, key)
            self.assertEqual(service["spec"].get("clusterIP"), "None", key)  # every pod's address
            self.assertIn(int(match.group(2)), [p["port"] for p in service["spec"]["ports"]], key)


class Image(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dockerfile = read("deploy/images/Dockerfile")

    def test_builds_the_binaries_the_deployments_run(self):
        targets = re.search(r'ARG TARGETS="([^"]+)"', self.dockerfile).group(1).split()
        executables = set()
        for path in glob.glob(os.path.join(ROOT, "**", "CMakeLists.txt"), recursive=True):
            if "/build/" in path or "/.run/" in path:
                continue
            with open(path, encoding="utf-8") as f:
                executables |= set(re.findall(r"add_executable\(([\w-]+)", f.read()))
        self.assertEqual(sorted(set(targets) - executables), [])
        for service in SERVICES:
            self.assertIn(service, targets)

    def test_ports_match_the_manifests(self):
        _, objects = render()
        (registry,) = [o for o in objects
                       if o["kind"] == "Deployment" and o["metadata"]["name"] == "registry"]
        ports = {p["name"]: p["containerPort"]
                 for p in registry["spec"]["template"]["spec"]["containers"][0]["ports"]}
        self.assertIn(f'TECHTRADE_GRPC_PORT={ports["grpc"]}', self.dockerfile)
        self.assertIn(f'TECHTRADE_METRICS_PORT={ports["metrics"]}', self.dockerfile)
        self.assertRegex(self.dockerfile, rf'EXPOSE {ports["grpc"]} {ports["metrics"]}')
        self.assertRegex(self.dockerfile, r"\nUSER [1-9]")

    def test_runtime_packages_cover_every_library_the_services_load(self):
        script = os.path.join(ROOT, "deploy/images/runtime-packages.sh")
        result = subprocess.run([script] + BINARIES, capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        packages = result.stdout.split()
        # The libraries we link on purpose, and the allocator every service relies on.
        for package in ["libgrpc++1.51", "libpqxx-6.4", "librdkafka1", "libhiredis0.14",
                        "libtcmalloc-minimal4", "libprotobuf32"]:
            self.assertIn(package, packages)

    def test_runtime_packages_refuses_what_is_not_an_executable(self):
        script = os.path.join(ROOT, "deploy/images/runtime-packages.sh")
        result = subprocess.run([script, os.path.join(ROOT, "README.md")], capture_output=True,
                                text=True)
        self.assertNotEqual(result.returncode, 0)


class Dashboard(unittest.TestCase):
    def test_charts_only_metrics_the_services_export(self):
        exported = set()
        for path in glob.glob(os.path.join(ROOT, "common", "*.cc")) + glob.glob(
                os.path.join(ROOT, "services", "**", "*.cc"), recursive=True):
            with open(path, encoding="utf-8") as f:
                exported |= set(re.findall(r'\.Name\("(techtrade_[a-z0-9_]+)"\)', f.read()))
        self.assertIn("techtrade_rpc_requests_total", exported)  # the extraction itself works
        dashboard = json.loads(read("deploy/dashboards/techtrade.json"))
        charted = set()
        for panel in dashboard["panels"]:
            self.assertEqual(panel["datasource"]["uid"], "${datasource}", panel["title"])
            for target in panel["targets"]:
                for name in re.findall(r"techtrade_[a-z0-9_]+", target["expr"]):
                    charted.add(re.sub(r"_(bucket|sum|count)$", "", name))
        self.assertEqual(sorted(charted - exported), [])
        # And every metric a service exports has a chart.
        self.assertEqual(sorted(exported - charted), [])


class Alerts(unittest.TestCase):
    def test_alerts_use_only_metrics_the_services_export_and_say_what_to_do(self):
        exported = set()
        for path in glob.glob(os.path.join(ROOT, "common", "*.cc")) + glob.glob(
                os.path.join(ROOT, "services", "**", "*.cc"), recursive=True):
            with open(path, encoding="utf-8") as f:
                exported |= set(re.findall(r'\.Name\("(techtrade_[a-z0-9_]+)"\)', f.read()))
        _, objects = render()
        rules = [r for o in objects if o["kind"] == "PrometheusRule"
                 for g in o["spec"]["groups"] for r in g["rules"]]
        self.assertIn("TechtradeDeadLetters", [r.get("alert") for r in rules])
        for rule in rules:
            used = {re.sub(r"_(bucket|sum|count)$", "", name)
                    for name in re.findall(r"techtrade_[a-z0-9_]+", rule["expr"])}
            self.assertTrue(used, rule["alert"])
            self.assertEqual(sorted(used - exported), [], rule["alert"])
            self.assertIn("docs/operations.md", rule["annotations"]["description"], rule["alert"])


if __name__ == "__main__":
    ROOT = os.path.abspath(sys.argv[1])
    BINARIES = sys.argv[2:]
    unittest.main(argv=[sys.argv[0], "-v"])
