# The commands people type. Each works from a fresh clone on a fresh Debian 12 machine: missing
# packages are installed (apt-get), Kafka's jars fetched (Maven), the tree built, the stack started.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
STACK := deploy/local/stack.sh

.PHONY: help deps build test unit-test up down status run bench format clean

help:
	@echo "make run    - install, build, start the platform (dev instance) and play a short demo"
	@echo "make test   - install, build, start a test stack, run every test, stop the stack"
	@echo "make bench  - benchmarks on a bench stack; table on stdout, JSON in bench/out/latest.json"
	@echo "make up / make down / make status - the dev platform in the background"
	@echo "make deps / make build / make unit-test / make format / make clean"

deps:
	@deploy/local/deps.sh

$(BUILD_DIR)/build.ninja:
	@echo "==> configuring ($(BUILD_TYPE)) in $(BUILD_DIR)/"
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) > /dev/null

build: deps $(BUILD_DIR)/build.ninja
	@echo "==> building (first build takes a few minutes on 2 cores)"
	@cmake --build $(BUILD_DIR)

unit-test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -LE "integration|e2e" -j2

# The test stack (instance "test", ports 254xx) is started for the run and stopped afterwards.
test: build
	@echo "==> starting the test stack"
	@TECHTRADE_INSTANCE=test TECHTRADE_SKIP_DEPS=1 TECHTRADE_NO_SERVICES=1 $(STACK) up
	@set -a; source .run/test/env; set +a; \
	  rc=0; (cd $(BUILD_DIR) && ctest --output-on-failure -j2 --timeout 300) || rc=$$?; \
	  echo "==> stopping the test stack"; TECHTRADE_INSTANCE=test $(STACK) down; exit $$rc

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

# The bench instance is started afresh, so that every run measures the same thing. Its broker
# runs the JVM's full JIT, as a production broker does (the dev and test stacks compile with C1
# only, which answers sooner after a start but costs about twice the CPU per request; on these
# two cores that was a fifth of a transactions command's CPU). The C2 compiler needs minutes of
# load before a request costs what it will, and compiles again for the next topic's traffic: the
# registry's and the transactions' warm-ups give it a minute and a half and a minute, so that its
# compiling is not charged to the scenarios measured.
bench: build
	@TECHTRADE_INSTANCE=bench $(STACK) down >/dev/null
	@TECHTRADE_INSTANCE=bench TECHTRADE_SKIP_DEPS=1 TECHTRADE_NO_SERVICES=1 TECHTRADE_KAFKA_JIT=full \
	  $(STACK) up
	@set -a; source .run/bench/env; set +a; \
	  rc=0; $(BUILD_DIR)/bin/registry_bench --out bench/out/latest.json --warmup_seconds 90 || rc=$$?; \
	  $(BUILD_DIR)/bin/listings_bench --out bench/out/latest.json || rc=$$?; \
	  $(BUILD_DIR)/bin/transactions_bench --out bench/out/latest.json --warmup_seconds 60 \
	    || rc=$$?; \
	  $(BUILD_DIR)/bin/fund_bench --out bench/out/latest.json || rc=$$?; \
	  TECHTRADE_INSTANCE=bench $(STACK) down; exit $$rc

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
