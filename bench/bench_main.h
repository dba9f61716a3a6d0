// The one main() of every bench program (bench_main.cc): it parses the flags, calls the program's
// Run and, when Run succeeded, prints the table and merges the JSON (--out).
#pragma once

#include <vector>

#include "bench/load.h"

namespace techtrade::bench {

// What a bench measured: its scenarios and the figures checked against their targets.
struct BenchRun {
  std::vector<ScenarioResult> results;
  std::vector<Figure> figures;
};

// Defined by each bench program: fills `run`; 0, or 1 when a scenario could not be run.
int Run(BenchRun& run);

}  // namespace techtrade::bench
