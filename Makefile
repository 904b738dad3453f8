# Entry points for people and CI. Every target installs what it needs from
# Debian first (apt-get, as root or through sudo), so a fresh Debian 12 machine
# needs nothing but make and this checkout.

BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

# Build and test dependencies, all from Debian 12 (chromium and nodejs for the browser tests).
DEPS := cmake g++ make pkg-config libpoco-dev libsqlite3-dev libboost-program-options-dev \
        libgtest-dev sqlite3 curl python3 python3-websockets nodejs node-ws openssl chromium libhiredis-dev redis-server

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps configure build test test-unit test-integration test-browser test-asan test-tsan run clean

all: build

deps:
	@missing=$$(for p in $(DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		$(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j$(JOBS)

# Every test, unit and integration; prints ctest's summary.
test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 300

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -L unit

test-integration: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -L integration

# wsgw.js under node --test, and the client and the dashboard in headless Chromium.
test-browser: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -L browser

# Unit and integration tests built with AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DWSGW_SANITIZE=address,undefined -DWSGW_BUILD_BENCH=OFF
	cmake --build build-asan -j$(JOBS)
	cd build-asan && ctest --output-on-failure -j$(JOBS) --timeout 600

# The integration tests (loops, permission watcher and HTTP pool together) under ThreadSanitizer.
test-tsan: deps
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DWSGW_SANITIZE=thread -DWSGW_BUILD_BENCH=OFF
	cmake --build build-tsan -j$(JOBS)
	cd build-tsan && TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp" \
		ctest --output-on-failure -j$(JOBS) --timeout 600 -L integration

# The gateway on its built-in defaults: ws + push on :5000, stat on 127.0.0.1:6000,
# database ./wsgw.db (created on first start). Ctrl-C stops it cleanly.
run: build
	$(BUILD)/gateway/wsgw

clean:
	rm -rf $(BUILD)

# libFuzzer targets with ASan+UBSan (clang from Debian). FUZZ_SECONDS per target.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 60
FUZZ_TARGETS := frame_parser_fuzz client_message_fuzz push_body_fuzz member_csv_fuzz http_request_fuzz jwt_verify_fuzz
.PHONY: fuzz fuzz-smoke fuzz-build
fuzz-build:
	@$(MAKE) --no-print-directory deps DEPS="$(DEPS) clang libclang-rt-14-dev"
	CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWSGW_FUZZ=ON \
		-DWSGW_SANITIZE=address,undefined -DWSGW_BUILD_TESTS=OFF
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target $(FUZZ_TARGETS)

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
		echo "== $$t ($(FUZZ_SECONDS) s)"; \
		$(FUZZ_BUILD)/tests/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_BUILD)/$$t- $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

# What CI runs: each target for a short fixed time.
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS)

# Debian package (packaging/debian), built from a staged copy so the tree stays clean.
DEB_DEPS := debhelper dpkg-dev fakeroot help2man lintian systemd adduser
.PHONY: deb deb-test
deb:
	@$(MAKE) --no-print-directory deps DEPS="$(DEPS) $(DEB_DEPS)"
	rm -rf build-deb && mkdir -p build-deb/src
	git ls-files -z | xargs -0 cp --parents -t build-deb/src
	cp -r packaging/debian build-deb/src/debian
	cd build-deb/src && DEB_BUILD_OPTIONS="parallel=$(JOBS)" dpkg-buildpackage -b -us -uc
	@ls build-deb/*.deb

deb-test:
	@$(MAKE) --no-print-directory deps DEPS="$(DEPS) $(DEB_DEPS)"
	packaging/deb-test.sh

# Benchmark against Nchan (bench/README.md): Release build, nginx-light + nchan from Debian.
BENCH_BUILD ?= build-bench
BENCH_DEPS := nginx-light libnginx-mod-nchan util-linux redis-server
.PHONY: bench bench-smoke bench-build
bench-build:
	@$(MAKE) --no-print-directory deps DEPS="$(DEPS) $(BENCH_DEPS)"
	cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=Release -DWSGW_BUILD_TESTS=OFF
	cmake --build $(BENCH_BUILD) -j$(JOBS) --target wsgw wsgw-admin wsgw-bench wsgw-bench-authorizer wsgw-redis-bench

bench: bench-build
	/usr/bin/python3 bench/run.py --build $(BENCH_BUILD)

# A short version for CI: small counts, one repeat; fails only on lost messages or errors.
bench-smoke: bench-build
	/usr/bin/python3 bench/run.py --build $(BENCH_BUILD) --smoke

# One scenario against wsgw under perf, e.g. make bench-profile PROFILE=idle (bench/README.md).
PROFILE ?= members
.PHONY: bench-profile
bench-profile: bench-build
	@$(MAKE) --no-print-directory deps DEPS="$(DEPS) linux-perf"
	/usr/bin/python3 bench/run.py --build $(BENCH_BUILD) --perf $(PROFILE)
