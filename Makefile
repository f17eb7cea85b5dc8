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
# `make install` (issue 17, item 4): where, GNU style; both can be given at
# install time (`make install PREFIX=/usr DESTDIR=/tmp/pkg`).
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/portcullis
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
INSTALL    ?= install
# Every unit in contrib/systemd (the server, its socket, the audit prune
# and its timer), ExecStart pointed at BINDIR.
UNITS      := $(wildcard contrib/systemd/*.service contrib/systemd/*.socket contrib/systemd/*.timer)
# Seconds per harness for `make fuzz` (FUZZ_SECONDS=30 make fuzz).
FUZZ_SECONDS ?= 600

.PHONY: all build run test torture unit e2e lint fuzz bench format clean deps test-deps install uninstall

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

# The release binary, the man pages (built by meson from docs/man/*.scd),
# the example configuration, the systemd units of contrib/systemd
# (ExecStart pointed at BINDIR) and the service user's sysusers.d entry. Nothing in /etc and no
# user is created: README "Run it in production" does that.
install: build
	@test -f $(BUILD)/docs/man/portcullis.8 || { echo "install: no man pages in $(BUILD): install scdoc (scripts/deps.sh run) and run make again" >&2; exit 1; }
	$(INSTALL) -d -m 0755 "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)/man8" \
	  "$(DESTDIR)$(MANDIR)/man5" "$(DESTDIR)$(DOCDIR)" \
	  "$(DESTDIR)$(SYSTEMDUNITDIR)" "$(DESTDIR)$(SYSUSERSDIR)"
	$(INSTALL) -m 0755 $(BUILD)/src/portcullis "$(DESTDIR)$(BINDIR)/portcullis"
	$(INSTALL) -m 0644 $(BUILD)/docs/man/portcullis.8 "$(DESTDIR)$(MANDIR)/man8/portcullis.8"
	$(INSTALL) -m 0644 $(BUILD)/docs/man/portcullis.conf.5 "$(DESTDIR)$(MANDIR)/man5/portcullis.conf.5"
	$(INSTALL) -m 0644 contrib/portcullis.conf.example "$(DESTDIR)$(DOCDIR)/portcullis.conf.example"
	@for u in $(UNITS); do \
	  echo "install -m 0644 $$u $(DESTDIR)$(SYSTEMDUNITDIR)/ (ExecStart in $(BINDIR))"; \
	  sed 's|/usr/local/bin/|$(BINDIR)/|g' $$u > $(BUILD)/$${u##*/} && \
	  $(INSTALL) -m 0644 $(BUILD)/$${u##*/} "$(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/}" || exit 1; \
	done
	$(INSTALL) -m 0644 contrib/systemd/portcullis.sysusers "$(DESTDIR)$(SYSUSERSDIR)/portcullis.conf"

# Removes what install installed (same PREFIX and DESTDIR); never the
# configuration in /etc/portcullis nor the data in /var/lib/portcullis.
uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/portcullis" \
	  "$(DESTDIR)$(MANDIR)/man8/portcullis.8" \
	  "$(DESTDIR)$(MANDIR)/man5/portcullis.conf.5" \
	  "$(DESTDIR)$(DOCDIR)/portcullis.conf.example" \
	  $(foreach u,$(notdir $(UNITS)),"$(DESTDIR)$(SYSTEMDUNITDIR)/$(u)") \
	  "$(DESTDIR)$(SYSUSERSDIR)/portcullis.conf"
	-rmdir "$(DESTDIR)$(DOCDIR)" 2>/dev/null

clean:
	rm -rf $(BUILD) $(TESTBUILD) $(FUZZBUILD)
