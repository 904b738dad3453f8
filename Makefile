# Entry points for people and CI. Every target installs what it needs from
# Debian first (apt-get, as root or through sudo), so a fresh Debian 12 machine
# needs nothing but make and this checkout.

BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

# Build and test dependencies, all from Debian 12.
DEPS := cmake g++ make pkg-config libpoco-dev libsqlite3-dev libboost-program-options-dev \
        libgtest-dev sqlite3 curl python3 python3-websockets node-ws

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps configure build test test-unit test-integration run clean

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

# The gateway on its built-in defaults: ws + push on :5000, stat on 127.0.0.1:6000,
# database ./wsgw.db (created on first start). Ctrl-C stops it cleanly.
run: build
	$(BUILD)/gateway/wsgw

clean:
	rm -rf $(BUILD)
