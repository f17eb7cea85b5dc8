# The two commands of the README: `make run` and `make test`.
# Everything else is a convenience around meson and the scripts.

BUILD      ?= build
TESTBUILD  ?= build-test
FUZZBUILD  ?= build-fuzz
DATA_DIR   ?= $(CURDIR)/data
LISTEN     ?= 127.0.0.1:8080
# Empty: scripts/run.sh derives it from LISTEN (http://localhost:PORT for
# a loopback or wildcard address: passkeys need a host name, and no
# client can use 0.0.0.0).
ISSUER     ?=
# Seconds per harness for `make fuzz` (FUZZ_SECONDS=30 make fuzz).
FUZZ_SECONDS ?= 600

.PHONY: all build run test torture unit e2e lint fuzz bench format clean deps test-deps

all: build

deps:
	@scripts/deps.sh run

test-deps:
	@scripts/deps.sh test

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=release -Dtests=false

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	@DATA_DIR="$(DATA_DIR)" LISTEN="$(LISTEN)" ISSUER="$(ISSUER)" \
	  BIN="$(BUILD)/src/portcullis" scripts/run.sh

$(TESTBUILD)/build.ninja:
	meson setup $(TESTBUILD) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

test: test-deps $(TESTBUILD)/build.ninja
	ninja -C $(TESTBUILD)
	@scripts/test.sh $(TESTBUILD)

# Fault injection, exhaustive: every store-level unit test replayed with
# its Nth store call failing, for every N, as error and as busy, on SQLite
# and PostgreSQL (scripts/torture.sh; `make test` runs a sampled pass).
# Long: TORTURE_ARGS=--unique keeps one N per distinct failure point.
TORTURE_ARGS ?=
torture: test-deps $(TESTBUILD)/build.ninja
	ninja -C $(TESTBUILD)
	@scripts/torture.sh $(TORTURE_ARGS) $(TESTBUILD)

lint: test-deps $(TESTBUILD)/build.ninja
	@scripts/lint.sh $(TESTBUILD)

$(FUZZBUILD)/build.ninja:
	CC=clang meson setup $(FUZZBUILD) -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false

fuzz: test-deps $(FUZZBUILD)/build.ninja
	ninja -C $(FUZZBUILD)
	FUZZ_BUILD=$(FUZZBUILD) scripts/fuzz.sh $(FUZZ_SECONDS)

bench: test-deps build
	@bench/run.sh $(BUILD)

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c')

clean:
	rm -rf $(BUILD) $(TESTBUILD) $(FUZZBUILD)
