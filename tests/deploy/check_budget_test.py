#!/usr/bin/python3
"""Tests of check_budget.py: the prod overlay's render fits, and deliberately broken copies of it
(over budget, an HPA's count reset by a replicas field, a wrong TECHTRADE_EXPECTED_REPLICAS) fail.

Usage: check_budget_test.py PROD_RENDER.yaml
"""
import copy
import os
import sys
import unittest

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_budget  # noqa: E402

RENDER = ""


def named(objects, kind, name=None):
    return [o for o in objects
            if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


class Budget(unittest.TestCase):
    def setUp(self):
        with open(RENDER, encoding="utf-8") as f:
            self.objects = [o for o in yaml.safe_load_all(f) if o]
        (self.config,) = named(self.objects, "ConfigMap")

    def check(self, objects=None):
        return check_budget.budget(self.objects if objects is None else objects, 100, 3)

    def test_the_prod_overlay_fits_and_its_expected_replicas_agree(self):
        lines, failures = self.check()
        self.assertEqual(failures, [], lines)
        self.assertIn("15 service processes", lines[-1])

    def test_the_default_pool_is_over_budget(self):
        self.config["data"]["TECHTRADE_DB_POOL_SIZE"] = "16"
        _, failures = self.check()
        self.assertTrue(any("connections needed > 97 available" in f for f in failures), failures)

    def test_a_higher_hpa_maximum_is_over_budget_and_disagrees_with_expected_replicas(self):
        (hpa,) = named(self.objects, "HorizontalPodAutoscaler", "registry")
        hpa["spec"]["maxReplicas"] = 5
        _, failures = self.check()
        self.assertTrue(any("connections needed" in f for f in failures), failures)
        self.assertTrue(any("TECHTRADE_EXPECTED_REPLICAS 15, but 17" in f for f in failures),
                        failures)

    def test_an_autoscaled_deployment_with_replicas_fails(self):
        (deployment,) = named(self.objects, "Deployment", "fund")
        deployment["spec"]["replicas"] = 2
        _, failures = self.check()
        self.assertTrue(any(f.startswith("fund: autoscaled") for f in failures), failures)

    def test_the_surged_pod_counts(self):
        (deployment,) = named(self.objects, "Deployment", "listings")
        deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"] = "100%"
        _, failures = self.check()  # listings 2 + 2: 16 processes, 96 + 5 > 97
        self.assertTrue(any("connections needed" in f for f in failures), failures)

    def test_the_issues_example_is_over_budget(self):
        # 4 services x 2 replicas x (pool 16 + 2) = 144 > 97, not rolling, no HPA.
        objects = []
        for name in ["registry", "listings", "transactions", "fund"]:
            (d,) = named(self.objects, "Deployment", name)
            d = copy.deepcopy(d)
            d["spec"]["replicas"] = 2
            d["spec"]["strategy"] = {"type": "Recreate"}
            d["spec"]["template"]["spec"]["containers"][0]["envFrom"] = []
            objects.append(d)
        lines, failures = self.check(objects)
        self.assertIn("total 145 of 97", lines[-1])
        self.assertEqual(len(failures), 1, failures)

    def test_a_cloudnativepg_clusters_max_connections_is_the_servers(self):
        self.config["data"]["TECHTRADE_DB_POOL_SIZE"] = "16"
        cluster = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
                   "metadata": {"name": "pg"},
                   "spec": {"postgresql": {"parameters": {"max_connections": "400"}}}}
        lines, failures = self.check(self.objects + [cluster])
        self.assertIn("of 397", lines[-1])
        self.assertEqual(failures, [])


if __name__ == "__main__":
    RENDER = sys.argv[1]
    unittest.main(argv=[sys.argv[0], "-v"])
