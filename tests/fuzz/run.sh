#!/usr/bin/env bash
# Runs every libFuzzer harness of a fuzz build for a bounded time (`make fuzz`; docs/testing.md,
# "Fuzzing"): usage: tests/fuzz/run.sh <build-fuzz dir> <seconds per harness>.
# Each harness starts from a scratch copy of its seed corpus (tests/fuzz/corpus/<name>/, which is
# never written), one at a time; the new inputs it finds stay in <build>/fuzz-work/<name>/corpus
# and are not committed. A crash, leak, timeout or failed check fails the run; the input that
# caused it is in <build>/fuzz-work/<name>/, and the command that reproduces it is printed.
set -euo pipefail

BUILD="${1:?usage: $0 <build-fuzz dir> <seconds>}"
SECONDS_EACH="${2:?usage: $0 <build-fuzz dir> <seconds>}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
BUILD="$(cd "${BUILD}" && pwd -P)"
WORK="${BUILD}/fuzz-work"

# UBSan's reports abort (the build uses -fno-sanitize-recover); ASan's and its leak checker's
# are libFuzzer's crashes.
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export ASAN_OPTIONS="detect_leaks=1"

failed=()
for corpus in "${ROOT}"/tests/fuzz/corpus/*/; do
  name="$(basename "${corpus}")"
  fuzzer="${BUILD}/bin/${name}_fuzzer"
  [[ -x "${fuzzer}" ]] || { echo "fuzz: ${fuzzer} is missing (build the target fuzzers)" >&2; exit 1; }
  dir="${WORK}/${name}"
  rm -rf "${dir}"
  mkdir -p "${dir}/corpus"
  cp -R "${corpus}." "${dir}/corpus/"
  echo "==> fuzzing ${name} for ${SECONDS_EACH}s"
  rc=0
  (cd "${dir}" && "${fuzzer}" -max_total_time="${SECONDS_EACH}" -timeout=25 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="${dir}/" corpus >"${dir}/log" 2>&1) || rc=$?
  # The last coverage line (cov: edges, ft: features, exec/s) and the totals.
  grep -E "^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE)" "${dir}/log" | tail -n 1 || true
  grep -E "^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)" "${dir}/log" || true
  if ((rc != 0)); then
    failed+=("${name}")
    echo "fuzz: ${name} FAILED (exit ${rc}); log: ${dir}/log" >&2
    grep -E "^(==[0-9]+==ERROR|SUMMARY|.*runtime error|.*_fuzzer: )" "${dir}/log" | head -n 5 >&2 || true
    for artifact in "${dir}"/crash-* "${dir}"/leak-* "${dir}"/timeout-* "${dir}"/oom-*; do
      [[ -e "${artifact}" ]] || continue
      echo "fuzz: input: ${artifact}" >&2
      echo "fuzz: reproduce: ${fuzzer} ${artifact}" >&2
    done
  fi
done

if ((${#failed[@]} > 0)); then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: every harness ran ${SECONDS_EACH}s without a crash"
