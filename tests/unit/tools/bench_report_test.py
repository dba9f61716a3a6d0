#!/usr/bin/env python3
"""tools/bench_report.py: the generated section of docs/benchmarks.md, from a small sample."""

import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "tools"))
import bench_report  # noqa: E402

SAMPLE = {
    "scenarios": {
        "echo": {"qps": 20000, "p50_ms": 1.2, "p99_ms": 3.4, "calls": 100000, "errors": 0,
                 "note": "gRPC | no work"},
        "registry.get_cached": {"qps": 15000, "p50_ms": 1.5, "p99_ms": 4, "calls": 75000,
                                "errors": 0, "note": ""},
        "registry.register_c8": {"qps": 900, "calls": 4500, "errors": 0},
        "postgres.raw_insert_c8": {"qps": 2000, "calls": 10000, "errors": 0,
                                   "cpu_us_per_call": {"postgres": 174.4, "idle": 13}},
        "transactions.open_deal": {"qps": 1000, "calls": 5000, "errors": 0,
                                   "cpu_us_per_call": {"postgres": 151, "transactions": 195,
                                                       "idle": 41}},
        "transactions.raw_insert": {"qps": 2000, "calls": 10000, "errors": 0},
        "transactions.accept_milestone": {"qps": 800, "calls": 4000, "errors": 0},
        "transactions.raw_insert_with_accept": {"qps": 2000, "calls": 10000, "errors": 0},
    },
    "figures": {
        "registry.cached_get_vs_echo": 0.75,
        "registry.register_vs_raw_insert_c8": 0.45,
        "registry.outbox_p99_ms": 73.8,
        "transactions.command_vs_raw_insert": 0.4,
        "fund.reconcile_1m_s": 1.6,
    },
    "targets": {
        "registry.cached_get_vs_echo": {"target": ">= 0.50", "met": True},
        "registry.register_vs_raw_insert_c8": {"target": "info", "met": True},
        "registry.outbox_p99_ms": {"target": "<= 50", "met": False},
        "transactions.command_vs_raw_insert": {"target": ">= 0.40", "met": True},
        "fund.reconcile_1m_s": {"target": "<= 10", "met": True},
    },
    "machine": {"cores": 2},
}

DOC = "# Benchmarks\n\nMethod.\n\n<!-- bench:begin -->\nstale\n<!-- bench:end -->\n\nAfter.\n"


def row(section, figure):
    lines = [l for l in section.splitlines() if f"| `{figure}` |" in l]
    assert len(lines) == 1, (figure, lines)
    return [c.strip() for c in lines[0].strip("|").split("|")]


class BenchReportTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.json = os.path.join(self.dir.name, "latest.json")
        self.doc = os.path.join(self.dir.name, "benchmarks.md")
        with open(self.json, "w") as f:
            json.dump(SAMPLE, f)
        with open(self.doc, "w") as f:
            f.write(DOC)

    def tearDown(self):
        self.dir.cleanup()

    def run_report(self):
        self.assertEqual(bench_report.main(["bench_report", self.json, self.doc]), 0)
        with open(self.doc) as f:
            return f.read()

    def test_replaces_only_between_markers_and_is_stable(self):
        text = self.run_report()
        self.assertTrue(text.startswith("# Benchmarks\n\nMethod.\n\n<!-- bench:begin -->\n"))
        self.assertTrue(text.endswith("<!-- bench:end -->\n\nAfter.\n"))
        self.assertNotIn("stale", text)
        self.assertEqual(self.run_report(), text)  # a second run rewrites the same section

    def test_ratio_rows_show_both_sides(self):
        text = self.run_report()
        self.assertEqual(row(text, "registry.cached_get_vs_echo"),
                         ["registry", "`registry.cached_get_vs_echo`",
                          "`registry.get_cached` 15,000/s", "`echo` 20,000/s", "0.750", "≥ 0.50",
                          "yes"])
        # _c<N>: the same pair at N in flight; informative figures have no verdict.
        self.assertEqual(row(text, "registry.register_vs_raw_insert_c8")[2:],
                         ["`registry.register_c8` 900/s", "`postgres.raw_insert_c8` 2,000/s",
                          "0.450", "info", "—"])
        # A figure over two pairs shows the pair it reads: the lower ratio.
        self.assertEqual(row(text, "transactions.command_vs_raw_insert")[2:4],
                         ["`transactions.accept_milestone` 800/s",
                          "`transactions.raw_insert_with_accept` 2,000/s"])

    def test_absolute_figures_and_unmet_targets(self):
        text = self.run_report()
        self.assertEqual(row(text, "registry.outbox_p99_ms")[2:],
                         ["73.8 ms", "—", "—", "≤ 50 ms", "**NO**"])
        self.assertEqual(row(text, "fund.reconcile_1m_s")[2:],
                         ["1.60 s", "—", "—", "≤ 10 s", "yes"])
        self.assertIn("Targets not met: `registry.outbox_p99_ms`.", text)
        self.assertIn("on a machine with 2 cores", text)
        # In the order make bench runs them: registry, transactions, fund.
        self.assertLess(text.index("`registry.outbox_p99_ms`"),
                        text.index("`transactions.command_vs_raw_insert`"))
        self.assertLess(text.index("`transactions.command_vs_raw_insert`"),
                        text.index("`fund.reconcile_1m_s`"))

    def test_scenarios_and_cpu_tables(self):
        text = self.run_report()
        self.assertIn("| `echo` | 20,000 | 1.20 | 3.40 | 100,000 | 0 | gRPC \\| no work |", text)
        self.assertIn("| scenario | postgres | transactions | idle |", text)
        self.assertIn("| `postgres.raw_insert_c8` | 174 | — | 13 |", text)

    def test_missing_markers_fail_and_leave_the_doc(self):
        with open(self.doc, "w") as f:
            f.write("# Benchmarks\n\nno markers\n")
        self.assertEqual(bench_report.main(["bench_report", self.json, self.doc]), 1)
        with open(self.doc) as f:
            self.assertEqual(f.read(), "# Benchmarks\n\nno markers\n")

    def test_missing_json_fails(self):
        os.remove(self.json)
        self.assertEqual(bench_report.main(["bench_report", self.json, self.doc]), 1)
        with open(self.doc) as f:
            self.assertEqual(f.read(), DOC)


if __name__ == "__main__":
    unittest.main()
