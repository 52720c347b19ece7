# facegate - top-level commands. CMake does the building; this file wires the steps together.
#   make            build build/facegate and build/libfacegate.{a,so}
#   make run        install what is missing, build, build the web app, start the server
#   make test       every test suite (unit, sanitizers, server, web, end-to-end)
#   make bench      speed and memory, side by side with the reference implementation

BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc)
HOST       ?= 127.0.0.1
PORT       ?= 8080
DATA_DIR   ?= data
MODELS     := node_modules/@vladmandic/face-api/model

.PHONY: all setup build run test test-unit test-sanitize test-server test-web test-e2e bench \
        web format clean

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
	$(BUILD)/facegate serve --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR) --models $(MODELS)

test: setup build
	@scripts/test.sh

test-unit: setup build
	@scripts/test.sh unit

test-sanitize: setup
	@scripts/test.sh sanitize

test-server: setup build
	@scripts/test.sh server

test-web: setup
	@scripts/test.sh web

test-e2e: setup build web
	@scripts/test.sh e2e

bench: setup build
	@scripts/bench.sh

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
