#include "bench/bench_main.h"

#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/server.h"

ABSL_FLAG(std::string, out, "bench/out/latest.json", "JSON file to merge results into");

int main(int argc, char** argv) {
  techtrade::InitProcess();
  absl::ParseCommandLine(argc, argv);
  techtrade::bench::BenchRun run;
  if (const int rc = techtrade::bench::Run(run); rc != 0) return rc;
  techtrade::bench::Report(run.results, run.figures, absl::GetFlag(FLAGS_out));
  return 0;
}
