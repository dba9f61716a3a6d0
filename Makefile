# The commands people type. Each works from a fresh clone on a fresh Debian 12 machine: missing
# packages are installed (apt-get), Kafka's jars fetched (Maven), the tree built, the stack started.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
STACK := deploy/local/stack.sh

.PHONY: help deps lint build test unit-test test-asan test-tsan chaos up down status run bench format clean \
        fuzz k8s-tools k8s-check image

help:
	@echo "make run    - install, build, start the platform (dev instance) and play a short demo"
	@echo "make test   - install, build, start a test stack, run every test, stop the stack"
	@echo "make test-asan / make test-tsan - make test's tests but the chaos suite's, built with"
	@echo "             AddressSanitizer+UBSan (build-asan/) or ThreadSanitizer (build-tsan/)"
	@echo "make bench  - benchmarks on a bench stack; table on stdout, JSON in bench/out/latest.json"
	@echo "make chaos  - the chaos suite on its own stack (docs/chaos.md); CHAOS_ARGS='--seed N ...'"
	@echo "make up / make down / make status - the dev platform in the background"
	@echo "make lint   - shellcheck, clang-format, buf lint and buf breaking (tools/lint/lint.sh)"
	@echo "make fuzz   - the libFuzzer harnesses (build-fuzz/, clang), FUZZ_SECONDS each (default 60)"
	@echo "make k8s-check - k8s/ against a real kube-apiserver and etcd on 127.0.0.1 (docs/operations.md)"
	@echo "make k8s-tools - build (once; cached in ~/.cache/techtrade/k8s-tools) the Go tools it uses"
	@echo "make image - the container image, without a container engine: an OCI layout in build/image/"
	@echo "make deps / make build / make unit-test / make format / make clean"

# Cheap when nothing is missing: deps.sh then only compares a stamp (see there), so every build
# can run it.
deps:
	@deploy/local/deps.sh

# The checks CI runs before the tests; every one runs, any failure fails it. LINT_AGAINST=<commit>
# compares proto/ with another commit than HEAD~1.
lint: deps
	@tools/lint/lint.sh

# Warnings in our own code fail the build (generated code is exempt); WERROR=OFF to build anyway,
# e.g. with another compiler. Takes effect when a build dir is configured.
WERROR ?= ON
$(BUILD_DIR)/build.ninja:
	@echo "==> configuring ($(BUILD_TYPE)) in $(BUILD_DIR)/"
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DTECHTRADE_WERROR=$(WERROR) > /dev/null

build: deps $(BUILD_DIR)/build.ninja
	@echo "==> building (first build takes a few minutes on 2 cores)"
	@cmake --build $(BUILD_DIR)

unit-test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -LE "integration|e2e|chaos" -j2

# The test stack (instance "test", ports 254xx) is started for the run and stopped afterwards.
test: build
	@echo "==> starting the test stack"
	@TECHTRADE_INSTANCE=test TECHTRADE_SKIP_DEPS=1 TECHTRADE_NO_SERVICES=1 $(STACK) up
	@set -a; source .run/test/env; set +a; \
	  rc=0; (cd $(BUILD_DIR) && ctest --output-on-failure -j2 --timeout 300) || rc=$$?; \
	  echo "==> stopping the test stack"; TECHTRADE_INSTANCE=test $(STACK) down; exit $$rc

# The chaos suite (docs/chaos.md) on a stack instance of its own (chaos, ports 294xx), which it
# kills and restarts piece by piece: two replicas of each service, >= 5,000 operations, every kind
# of fault 20 times, bounded to 30 minutes. Another seed or length: make chaos CHAOS_ARGS='--seed 42
# --operations 10000'. The seed is printed first; the last line is the verdict.
CHAOS_ARGS ?=
chaos: build
	@echo "==> starting the chaos stack"
	@TECHTRADE_INSTANCE=chaos TECHTRADE_PORT_BASE=29400 TECHTRADE_SKIP_DEPS=1 TECHTRADE_NO_SERVICES=1 \
	  $(STACK) up
	@set -a; source .run/chaos/env; set +a; export TECHTRADE_PORT_BASE=29400; \
	  rc=0; $(BUILD_DIR)/bin/chaos --operations 5000 --faults_per_kind 20 --max_minutes 30 \
	    $(CHAOS_ARGS) || rc=$$?; \
	  echo "==> stopping the chaos stack"; \
	  TECHTRADE_INSTANCE=chaos TECHTRADE_PORT_BASE=29400 $(STACK) down; exit $$rc

# Sanitizer runs (docs/operations.md, "Sanitizer builds"): the tests and the service binaries they
# start built with AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/) or ThreadSanitizer
# (build-tsan/), tested on a stack instance of their own (asan, tsan: ports 264xx, 274xx), so that
# they never clash with `make test`, `make bench` or each other. The options below reach every
# process the tests start. ASan, LeakSanitizer and TSan write each report to a file of its own in
# <build dir>/sanitizer-reports/ (named after the program and its pid); UBSan writes to the
# process's stderr (a service's log, in <build dir>/test-tmp/). Any report fails the run.
# SAN_TESTS selects the tests (ctest arguments): all but the chaos suite's (its fault schedules
# would add 3.5 minutes under ASan on 2 cores) and the deploy checks (scripts: nothing of ours to
# sanitize; the image's would carry the sanitizer runtime) by default; SAN_TESTS= runs them too.
SAN_TESTS ?= -LE chaos -E '^deploy\.'
SAN_SUPP := $(CURDIR)/tests/sanitizers
test-asan: SAN := asan
test-asan: SAN_CMAKE := address
test-asan: SAN_ENV = \
  ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:log_exe_name=1:log_path=$(CURDIR)/build-asan/sanitizer-reports/asan \
  LSAN_OPTIONS=suppressions=$(SAN_SUPP)/lsan.supp:print_suppressions=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
test-tsan: SAN := tsan
test-tsan: SAN_CMAKE := thread
test-tsan: SAN_ENV = \
  TSAN_OPTIONS=ignore_noninstrumented_modules=1:suppressions=$(SAN_SUPP)/tsan.supp:print_suppressions=0:second_deadlock_stack=1:history_size=4:log_exe_name=1:log_path=$(CURDIR)/build-tsan/sanitizer-reports/tsan
test-asan test-tsan: deps
	@if [[ ! -f build-$(SAN)/build.ninja ]]; then \
	  echo "==> configuring (-DTECHTRADE_SANITIZE=$(SAN_CMAKE)) in build-$(SAN)/"; \
	  cmake -S . -B build-$(SAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	    -DTECHTRADE_SANITIZE=$(SAN_CMAKE) -DTECHTRADE_BUILD_BENCH=OFF > /dev/null; fi
	@echo "==> building build-$(SAN)/ (a first build takes a while: every target again, instrumented)"
	@cmake --build build-$(SAN)
	@echo "==> starting the $(SAN) stack"
	@TECHTRADE_INSTANCE=$(SAN) TECHTRADE_SKIP_DEPS=1 TECHTRADE_NO_SERVICES=1 $(STACK) up
	@reports=build-$(SAN)/sanitizer-reports; tmp=build-$(SAN)/test-tmp; \
	  rm -rf $$reports $$tmp; mkdir -p $$reports $$tmp; \
	  set -a; source .run/$(SAN)/env; set +a; export TEST_TMPDIR=$(CURDIR)/$$tmp $(SAN_ENV); \
	  rc=0; (cd build-$(SAN) && ctest --output-on-failure -j2 --timeout 600 $(SAN_TESTS)) || rc=$$?; \
	  echo "==> stopping the $(SAN) stack"; TECHTRADE_INSTANCE=$(SAN) $(STACK) down; \
	  grep -l "runtime error: " -r $$tmp > $$reports/ubsan-in-logs || true; \
	  [[ -s $$reports/ubsan-in-logs ]] || rm -f $$reports/ubsan-in-logs; \
	  if compgen -G "$$reports/*" > /dev/null; then \
	    echo "==> sanitizer reports (in $$reports/ and the logs named in ubsan-in-logs):"; \
	    grep -h -r -e "^SUMMARY: " -e "runtime error: " $$reports $$tmp | sort | uniq -c \
	      | sort -rn || true; \
	    ls -1 $$reports; rc=1; \
	  fi; exit $$rc

# The libFuzzer harnesses (docs/testing.md, "Fuzzing"), built with clang, ASan and UBSan in
# build-fuzz/ (only they and the pure libraries they feed), each run FUZZ_SECONDS on a scratch copy
# of its seed corpus; any crash fails, naming the input that caused it.
FUZZ_SECONDS ?= 60
fuzz: deps
	@if [[ ! -f build-fuzz/build.ninja ]]; then \
	  echo "==> configuring (clang, -DTECHTRADE_FUZZ=ON) in build-fuzz/"; \
	  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	    -DTECHTRADE_SANITIZE=address -DTECHTRADE_FUZZ=ON -DTECHTRADE_BUILD_TESTS=OFF > /dev/null; fi
	@echo "==> building the fuzzers in build-fuzz/"
	@cmake --build build-fuzz --target fuzzers
	@tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

up: build
	@$(STACK) up

down:
	@$(STACK) down

status:
	@$(STACK) status

run: build
	@$(STACK) up
	@tools/demo.sh
	@echo
	@echo "The platform keeps running (addresses above; settings in .run/dev/env)."
	@echo "Stop it with: make down"

# The bench instance and the JSON are started afresh, so that every run measures the same thing
# and reports only what it measured. Its broker runs the JVM's full JIT, as a production broker
# does (the dev and test stacks compile with C1 only, which answers sooner after a start but
# costs about twice the CPU per request). The C2 compiler needs minutes of load before a request
# costs what it will, and compiles again for the next topic's traffic: the registry's and the
# transactions' warm-ups give it a minute and a half and a minute, so that its compiling is not
# charged to the scenarios measured. Last, docs/benchmarks.md's figures are rewritten from the
# JSON (tools/bench_report.py), also when a bench failed, so that the failure shows there.
bench: build
	@TECHTRADE_INSTANCE=bench $(STACK) down >/dev/null
	@rm -f bench/out/latest.json
	@TECHTRADE_INSTANCE=bench TECHTRADE_SKIP_DEPS=1 TECHTRADE_NO_SERVICES=1 TECHTRADE_KAFKA_JIT=full \
	  $(STACK) up
	@set -a; source .run/bench/env; set +a; \
	  rc=0; $(BUILD_DIR)/bin/registry_bench --out bench/out/latest.json --warmup_seconds 90 || rc=$$?; \
	  $(BUILD_DIR)/bin/listings_bench --out bench/out/latest.json || rc=$$?; \
	  $(BUILD_DIR)/bin/transactions_bench --out bench/out/latest.json --warmup_seconds 60 \
	    || rc=$$?; \
	  $(BUILD_DIR)/bin/fund_bench --out bench/out/latest.json || rc=$$?; \
	  TECHTRADE_INSTANCE=bench $(STACK) down; \
	  python3 tools/bench_report.py bench/out/latest.json docs/benchmarks.md || rc=$$?; exit $$rc

# Go tools built from tools/k8s/'s pinned modules: kube-apiserver's first build takes many
# minutes on 2 cores, later runs find the binaries cached and build nothing.
k8s-tools:
	@tools/k8s/build-tools.sh all

k8s-check:
	@tools/k8s/k8s-check.sh

# The container image (docs/operations.md, "Container image") from the built binaries and their
# libraries, assembled without a container engine: an OCI layout in $(BUILD_DIR)/image/oci/, the
# same as one tar file, the digest printed last. The same build and commit give the same digest.
# IMAGE_SOURCE: the org.opencontainers.image.source label (default: the git remote origin).
IMAGE_SOURCE ?= $(shell git config --get remote.origin.url 2>/dev/null)
image: build
	@python3 tools/image/build_image.py --root . --bin-dir $(BUILD_DIR)/bin \
	  --out $(BUILD_DIR)/image --source "$(IMAGE_SOURCE)"

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
