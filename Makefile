# Vesper — a thin wrapper over meson.  Run as root on Debian 12.
#   make run    install what is missing, build, prepare hugepages, start vesperd
#   make test   install, build, run every suite, then again under ASan+UBSan,
#               then the unit suites under TSan
#   make bench  the benchmark against dpdk-testpmd and OVS-DPDK (tests/bench)
#   make soak   vesperd under traffic and churn for SOAK_SECS (default 600;
#               tests/soak/soak.sh), RSS, fds, mbufs, tables and p99 sampled
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
MESON_OPTS ?=

.PHONY: all deps build run test test-unit test-integration test-asan test-tsan bench soak fuzz clean

all: build

deps:
	@scripts/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	@scripts/hugepages.sh
	@echo
	@echo "Starting vesperd in the foreground (Ctrl-C stops it). In another shell:"
	@echo "  $(BUILD)/tools/vesperctl/vesperctl switch list"
	@echo "  $(BUILD)/tools/vesperctl/vesperctl port list"
	@echo "  $(BUILD)/tools/vesperctl/vesperctl stats"
	@echo "  ip addr show vesper0        # the host vNIC, 192.168.100.1/24"
	@echo
	$(BUILD)/tools/vesperd/vesperd

test: build
	@scripts/hugepages.sh
	meson test -C $(BUILD) --print-errorlogs --num-processes 2
	tests/integration/run.sh $(BUILD)
	$(MAKE) test-asan
	$(MAKE) test-tsan

test-unit: build
	meson test -C $(BUILD) --print-errorlogs

test-integration: build
	tests/integration/run.sh $(BUILD)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Dbuildtype=debug $(MESON_OPTS)

test-asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  meson test -C $(ASAN_BUILD) --print-errorlogs --num-processes 2
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  tests/integration/run.sh $(ASAN_BUILD)

# ThreadSanitizer over the unit suites (the threaded ones: FDB stress, the
# datapath on DPDK lcores, the VM NIC ports, the guest agent loop).
# hv-ring_doublefetch runs here too (TESTS.md #3): its "guest" thread
# rewrites the ring while the host copies it out, and both sides go through
# common/vsa_shm.h's relaxed-atomic copies, so TSan must stay silent.
$(TSAN_BUILD)/build.ninja:
	meson setup $(TSAN_BUILD) -Db_sanitize=thread -Db_lundef=false $(MESON_OPTS)

test-tsan: deps $(TSAN_BUILD)/build.ninja
	ninja -C $(TSAN_BUILD)
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp" \
	  meson test -C $(TSAN_BUILD) --print-errorlogs --num-processes 2

soak: build
	@scripts/hugepages.sh
	@mkdir -p $(BUILD)/soak-logs
	bash -c 'set -o pipefail; tests/soak/soak.sh $(BUILD) 2>&1 | tee $(BUILD)/soak-logs/soak.log'

bench: build
	@scripts/deps.sh --bench
	BUILD=$(abspath $(BUILD)) tests/bench/run.sh

fuzz: deps
	CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false 2>/dev/null || true
	ninja -C build-fuzz
	@echo "fuzzers: build-fuzz/tests/fuzz/*-fuzzer (corpus in tests/fuzz/corpus/<name>)"

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) build-fuzz
