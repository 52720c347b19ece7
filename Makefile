# facegate - top-level commands. CMake does the building; this file wires the steps together.
#   make            build build/facegate and build/libfacegate.{a,so}
#   make run        install what is missing, build, build the web app, start the server
#   make test       every test suite (unit, sanitizers, fuzzing, server, web, end-to-end)
#   make bench      speed and memory, side by side with the reference implementation
#   make install    binary, systemd unit, models, web app, example config (PREFIX, DESTDIR)
#   make fuzz       every fuzz harness for FUZZ_SECONDS (default 300) each

BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc)
HOST       ?= 127.0.0.1
PORT       ?= 8080
DATA_DIR   ?= data
MODELS     := node_modules/@vladmandic/face-api/model
FAST_MODELS := node_modules/@vladmandic/human/models
PREFIX     ?= /usr/local
# /etc for a system install (PREFIX=/usr), else under the prefix.
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR    ?= $(PREFIX)/lib/systemd/system
DATADIR    := $(PREFIX)/share
DOCDIR     := $(PREFIX)/share/doc/facegate
MODEL_FILES := $(foreach m,ssd_mobilenetv1_model tiny_face_detector_model face_landmark_68_model \
                 face_recognition_model,$(MODELS)/$(m)-weights_manifest.json $(MODELS)/$(m).bin) \
               $(foreach m,blazeface facemesh iris,$(FAST_MODELS)/$(m).json $(FAST_MODELS)/$(m).bin)
SUBST      := sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
                  -e 's|@DATADIR@|$(DATADIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g'

.PHONY: all setup build run test test-unit test-sanitize test-fuzz test-server test-web test-docs \
        test-e2e bench fuzz web install format clean

all: build

setup:
	@scripts/setup.sh

# Configure every time (a second or so): it picks up third_party/xnnpack once that is built.
build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) -- --no-print-directory

web: setup
	@if [ -f web/package.json ]; then cd web && npm run --silent build; fi

run: setup build web
	$(BUILD)/facegate serve --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR) --models $(MODELS) \
	    --fast-models $(FAST_MODELS)

test: setup build
	@scripts/test.sh

test-unit: setup build
	@scripts/test.sh unit

test-sanitize: setup
	@scripts/test.sh sanitize

test-fuzz: setup
	@scripts/test.sh fuzz

fuzz: setup
	@scripts/fuzz.sh $(or $(FUZZ_SECONDS),300)

test-server: setup build
	@scripts/test.sh server

test-web: setup
	@scripts/test.sh web

test-docs: setup
	@scripts/test.sh docs

test-e2e: setup build web
	@scripts/test.sh e2e

bench: setup build
	@scripts/bench.sh

# Everything under $(DESTDIR)$(PREFIX) (and $(SYSCONFDIR)); an existing serve.conf is kept.
install: build web
	@DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix $(PREFIX) >/dev/null
	@install -d -m 0755 $(DESTDIR)$(DATADIR)/facegate/models $(DESTDIR)$(DATADIR)/facegate/web \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/facegate $(DESTDIR)$(DOCDIR)
	@install -m 0644 $(MODEL_FILES) $(DESTDIR)$(DATADIR)/facegate/models/
	@cp -R web/dist/. $(DESTDIR)$(DATADIR)/facegate/web/
	@$(SUBST) packaging/facegate.service.in >$(DESTDIR)$(UNITDIR)/facegate.service
	@$(SUBST) packaging/serve.conf.in >$(DESTDIR)$(DOCDIR)/serve.conf.example
	@[ -e $(DESTDIR)$(SYSCONFDIR)/facegate/serve.conf ] || \
	    install -m 0644 $(DESTDIR)$(DOCDIR)/serve.conf.example $(DESTDIR)$(SYSCONFDIR)/facegate/serve.conf
	@install -m 0644 README.md docs/OPERATIONS.md $(DESTDIR)$(DOCDIR)/
	@echo "installed facegate into $(DESTDIR)$(PREFIX) (unit $(UNITDIR)/facegate.service, config $(SYSCONFDIR)/facegate/serve.conf)"

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) build-fuzz
