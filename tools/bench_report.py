#!/usr/bin/env python3
"""Rewrites the "latest figures" section of docs/benchmarks.md from bench/out/latest.json.

usage: tools/bench_report.py [JSON] [DOC]   (defaults: bench/out/latest.json docs/benchmarks.md)

`make bench` runs it last, so the document's figures are always the last run's, never typed by
hand. Only the text between the markers <!-- bench:begin --> and <!-- bench:end --> is replaced;
a document without both markers is left alone and the script fails.

The JSON is what bench/load.cc's Report() merges into the file: "scenarios" (per scenario: qps,
p50_ms, p99_ms, calls, errors, note, optional cpu_us_per_call), "figures" (name -> value),
"targets" (name -> {target, met}) and "machine" ({cores}). Standard library only: it runs on
the machine's python3 with nothing installed.
"""

import datetime
import json
import os
import re
import sys

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"

# A ratio figure is one scenario's calls/s over its baseline's, both measured in the same run;
# the JSON keeps only the quotient, so the pair is named here to show both sides. A figure with
# the suffix _c<N> (N calls in flight) compares the same scenarios with that suffix. A figure
# with several pairs reads the lowest of their ratios.
RATIO_PAIRS = {
    "registry.cached_get_vs_echo": [("registry.get_cached", "echo")],
    "registry.redis_get_vs_echo": [("registry.get_redis", "echo")],
    "registry.register_vs_raw_insert": [("registry.register", "postgres.raw_insert")],
    "listings.cached_get_vs_echo": [("listings.get_offer_cached", "listings.echo")],
    "transactions.open_deal_vs_raw_insert": [("transactions.open_deal", "transactions.raw_insert")],
    "transactions.accept_milestone_vs_raw_insert": [
        ("transactions.accept_milestone", "transactions.raw_insert_with_accept")
    ],
    "transactions.command_vs_raw_insert": [
        ("transactions.open_deal", "transactions.raw_insert"),
        ("transactions.accept_milestone", "transactions.raw_insert_with_accept"),
    ],
    "fund.applications_vs_raw_insert": [("fund.submit_application", "fund.raw_insert")],
}

# The bench that writes a figure, where its name does not say (the echo server is the
# registry bench's baseline), and the order `make bench` runs them in.
BENCH_OF_PREFIX = {"echo": "registry", "postgres": "registry"}
BENCH_ORDER = ["registry", "listings", "transactions", "fund"]

# Units by the end of a figure's name, first match wins.
UNITS = [
    ("_per_s_one_client", "/s"),
    ("_per_s", "/s"),
    ("_ms", " ms"),
    ("_ms_100k", " ms"),
    ("_ms_1m", " ms"),
    ("_mb", " MB"),
    ("_ns", " ns"),
    ("_s", " s"),
    ("_qps", "/s"),
]


def number(value, digits=None):
    """A figure with as many decimals as it needs to be read: 13,150 / 17.0 / 0.415 / 0.0007."""
    if value is None:
        return "—"
    if digits is None:
        magnitude = abs(value)
        digits = 0 if magnitude >= 100 else 1 if magnitude >= 10 else 2 if magnitude >= 1 else 3
        if 0 < magnitude < 0.01:
            digits = 4 if magnitude >= 0.0001 else 6
    return f"{value:,.{digits}f}"


def unit_of(name):
    if "bytes_per" in name:
        return " B"
    for suffix, unit in UNITS:
        if name.endswith(suffix):
            return unit
    return ""


def pairs_of(name):
    """The (scenario, baseline) pairs a ratio figure divides, or [] for an absolute figure."""
    if name in RATIO_PAIRS:
        return RATIO_PAIRS[name]
    match = re.fullmatch(r"(.*)(_c\d+)", name)
    if match and match.group(1) in RATIO_PAIRS:
        suffix = match.group(2)
        return [(a + suffix, b + suffix) for a, b in RATIO_PAIRS[match.group(1)]]
    return []


def target_text(target):
    if not target or target == "info":
        return "info"
    return target.replace(">=", "≥").replace("<=", "≤")


def scenario_rate(scenarios, name):
    scenario = scenarios.get(name)
    if not scenario or "qps" not in scenario:
        return None
    return f"`{name}` {number(scenario['qps'], 0)}/s"


def bench_of(name):
    prefix = name.split(".")[0]
    return BENCH_OF_PREFIX.get(prefix, prefix)


def figure_order(targets):
    """In the order `make bench` runs the benches; in each, figures with a target first."""

    def key(name):
        bench = bench_of(name)
        rank = BENCH_ORDER.index(bench) if bench in BENCH_ORDER else len(BENCH_ORDER)
        informative = targets.get(name, {}).get("target", "info") == "info"
        return (rank, bench, informative, name)

    return key


def figure_rows(doc):
    figures = doc.get("figures", {})
    targets = doc.get("targets", {})
    scenarios = doc.get("scenarios", {})
    rows = []
    for name in sorted(figures, key=figure_order(targets)):
        value = figures[name]
        bench = bench_of(name)
        target = targets.get(name, {})
        shown = target_text(target.get("target"))
        met = "—" if shown == "info" else ("yes" if target.get("met") else "**NO**")
        pairs = pairs_of(name)
        if pairs:
            # The pair whose ratio is the figure (the lowest, for a figure over several pairs).
            def ratio(pair):
                a, b = scenarios.get(pair[0], {}), scenarios.get(pair[1], {})
                return a.get("qps", 0) / b["qps"] if b.get("qps") else float("inf")

            scenario, baseline = min(pairs, key=ratio)
            measured = scenario_rate(scenarios, scenario) or "—"
            base = scenario_rate(scenarios, baseline) or "—"
            rows.append([bench, f"`{name}`", measured, base, number(value, 3), shown, met])
        else:
            unit = unit_of(name)
            target_shown = with_unit(shown, unit)
            rows.append([bench, f"`{name}`", number(value) + unit, "—", "—", target_shown, met])
    return rows


def with_unit(target, unit):
    if target == "info" or not unit:
        return target
    return target + unit


def scenario_rows(doc):
    rows = []
    for name, s in sorted(doc.get("scenarios", {}).items()):
        rows.append(
            [
                f"`{name}`",
                number(s.get("qps"), 0 if s.get("qps", 0) >= 10 else 2),
                number(s.get("p50_ms"), 2),
                number(s.get("p99_ms"), 2),
                number(s.get("calls"), 0),
                number(s.get("errors"), 0),
                (s.get("note") or "").replace("|", "\\|"),
            ]
        )
    return rows


def cpu_table(doc):
    measured = {n: s["cpu_us_per_call"] for n, s in doc.get("scenarios", {}).items()
                if s.get("cpu_us_per_call")}
    if not measured:
        return []
    processes = sorted({p for cpu in measured.values() for p in cpu} - {"postgres", "idle"})
    columns = (["postgres"] if any("postgres" in c for c in measured.values()) else [])
    columns += processes + ["idle"]
    lines = table(["scenario"] + columns,
                  [[f"`{n}`"] + [number(cpu[c], 0) if c in cpu else "—" for c in columns]
                   for n, cpu in sorted(measured.items())])
    return ["", "CPU per call, µs (every process above 1 % of the scenario's CPU; `postgres` sums "
            "all backends; `idle` is what the machine left unused per call):", ""] + lines


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def render(doc, written):
    cores = doc.get("machine", {}).get("cores")
    failed = [n for n, t in doc.get("targets", {}).items()
              if t.get("target") not in (None, "info") and not t.get("met")]
    lines = [
        BEGIN,
        "<!-- Generated by tools/bench_report.py from bench/out/latest.json; `make bench` rewrites"
        " it. Do not edit by hand. -->",
        "",
        f"Last `make bench`: {written}"
        + (f", on a machine with {cores} cores" if cores else "")
        + ". "
        + ("Every target met." if not failed else
           "Targets not met: " + ", ".join(f"`{n}`" for n in sorted(failed)) + "."),
        "",
    ]
    lines += table(["bench", "figure", "value", "baseline", "ratio", "target", "met"],
                   figure_rows(doc))
    lines += ["", "Scenarios:", ""]
    lines += table(["scenario", "calls/s", "p50 ms", "p99 ms", "calls", "errors", "note"],
                   scenario_rows(doc))
    lines += cpu_table(doc)
    lines += ["", END]
    return "\n".join(lines)


def rewrite(text, section):
    begin, end = text.find(BEGIN), text.find(END)
    if begin < 0 or end < begin:
        raise ValueError(f"markers {BEGIN} ... {END} not found")
    return text[:begin] + section + text[end + len(END):]


def main(argv):
    json_path = argv[1] if len(argv) > 1 else "bench/out/latest.json"
    doc_path = argv[2] if len(argv) > 2 else "docs/benchmarks.md"
    try:
        with open(json_path, encoding="utf-8") as f:
            doc = json.load(f)
        written = datetime.datetime.fromtimestamp(
            os.path.getmtime(json_path), datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        with open(doc_path, encoding="utf-8") as f:
            text = f.read()
        updated = rewrite(text, render(doc, written))
    except (OSError, ValueError) as e:  # json.JSONDecodeError is a ValueError
        print(f"bench_report: {e}", file=sys.stderr)
        return 1
    with open(doc_path, "w", encoding="utf-8") as f:
        f.write(updated)
    print(f"bench_report: {doc_path} rewritten from {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
