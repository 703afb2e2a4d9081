# motia-core: every target installs what it needs first.
#   make install   .venv (Python deps + motia-core editable), node_modules for sdk-node, runners/node, and the
#                  Workbench bundle (core/workbench-ui -> core/motia_core/workbench/static/)
#   make serve     serve $(EXAMPLE) on port $(PORT) with the embedded default (SQLite under .motia/)
#   make test      the whole suite (real core, real runners)
#   make lint      ruff, mypy --strict, tsc --strict, generated code freshness
#   make proto     regenerate checked-in protobuf code from proto/
#   make dist      build the wheel into dist/ (scripts/build_wheel.py)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
EXAMPLE ?= examples/quickstart
PORT ?= 3000
PYTEST_ARGS ?=
# make test: two pytest-xdist workers, one test file each at a time (docs/testing.md); 0 runs serially
PYTEST_WORKERS ?= 2

PY_STAMP := $(VENV)/.installed
NODE_RUNNER_STAMP := runners/node/node_modules/.installed
SDK_NODE_STAMP := sdk-node/node_modules/.installed
STREAM_CLIENT_STAMP := tests/stream_client/node_modules/.installed
NODE_BUILD := runners/node/dist/runner.cjs
SDK_NODE_TYPES := sdk-node/dist/types/index.d.ts
WORKBENCH_STAMP := core/workbench-ui/node_modules/.installed
WORKBENCH_BUILD := core/motia_core/workbench/static/index.html
GO_RUNNER_STAMP := $(VENV)/.go-runner-installed

.PHONY: install serve test lint proto system-deps codegen-deps go-deps clean

install: system-deps $(PY_STAMP) $(NODE_RUNNER_STAMP) $(SDK_NODE_STAMP) $(SDK_NODE_TYPES) $(NODE_BUILD) $(STREAM_CLIENT_STAMP) $(WORKBENCH_BUILD) $(GO_RUNNER_STAMP)
	@# Bytecode for our own packages, refreshed for the files that changed: an environment with
	@# PYTHONDONTWRITEBYTECODE set would otherwise compile ~60 modules from source at every core start (~0.2 s).
	@$(PY) -m compileall -q -j 0 core/motia_core sdk-python/motia runners/python/motia_runner >/dev/null

# System packages, installed with apt-get when running as root, else we print the exact command.
SYSTEM_PACKAGES := ruby ruby-grpc redis-server chromium
CODEGEN_PACKAGES := protobuf-compiler ruby-grpc-tools
# Go steps (runners/go): Debian's toolchain and grpc-go/protobuf-go sources; no Go module proxy is needed.
GO_PACKAGES := golang-go golang-google-grpc-dev golang-google-protobuf-dev protobuf-compiler
GO_ENV := GO111MODULE=off GOPATH=$(CURDIR)/runners/go:/usr/share/gocode GOCACHE=$${MOTIA_GO_CACHE:-$$HOME/.cache/motia-go}/gocache GOFLAGS= CGO_ENABLED=0
define apt_install
	@missing=""; \
	for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo ">> installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "missing system packages:$$missing -- run: sudo apt-get install -y$$missing"; exit 1; fi; \
	fi
endef

system-deps:
	$(call apt_install,$(SYSTEM_PACKAGES))

codegen-deps:
	$(call apt_install,$(CODEGEN_PACKAGES))

go-deps:
	$(call apt_install,$(GO_PACKAGES))

# The go runner package (runners/go/python), installed into .venv the way a third-party runner package is:
# its entry point registers the go runner. Then grpc-go and the motia Go library are compiled once into the
# Go build cache, so a project's first build only compiles the project.
$(GO_RUNNER_STAMP): $(PY_STAMP) runners/go/python/pyproject.toml | go-deps
	@echo ">> installing the go runner package (runners/go/python) and warming the Go build cache"
	@$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e runners/go/python
	@$(PY) -m motia_runner_go warm
	@touch $@

$(PY_STAMP): pyproject.toml
	@command -v node >/dev/null || { echo "node (>= 20) is required"; exit 1; }
	@test -x $(PY) || { echo ">> creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo ">> installing Python packages into $(VENV)"
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

$(NODE_RUNNER_STAMP): runners/node/package.json runners/node/package-lock.json
	@echo ">> npm ci (runners/node)"
	@cd runners/node && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(SDK_NODE_STAMP): sdk-node/package.json sdk-node/package-lock.json
	@echo ">> npm ci (sdk-node)"
	@cd sdk-node && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The .d.ts files a project's node_modules/motia points editors and tsc at (core/motia_core/sdk_link.py).
$(SDK_NODE_TYPES): $(SDK_NODE_STAMP) sdk-node/tsconfig.json sdk-node/tsconfig.types.json $(shell find sdk-node/src -type f 2>/dev/null)
	@echo ">> building sdk-node's type declarations"
	@cd sdk-node && rm -rf dist/types && node_modules/.bin/tsc -p tsconfig.types.json
	@touch $@

# Motia's real stream client, used by tests/test_streams*.py to prove the WebSocket protocol.
$(STREAM_CLIENT_STAMP): tests/stream_client/package.json tests/stream_client/package-lock.json
	@echo ">> npm ci (tests/stream_client)"
	@cd tests/stream_client && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(NODE_BUILD): $(NODE_RUNNER_STAMP) $(shell find runners/node/src sdk-node/src -type f 2>/dev/null) proto/motia/runner/v1/runner.proto
	@echo ">> building the node runner"
	@cd runners/node && npm run --silent build
	@touch $@

# The Workbench (docs/workbench.md): React + @xyflow/react bundled by esbuild into static files the core
# serves at /__workbench; no CDN, no dev server.
$(WORKBENCH_STAMP): core/workbench-ui/package.json core/workbench-ui/package-lock.json
	@echo ">> npm ci (core/workbench-ui)"
	@cd core/workbench-ui && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(WORKBENCH_BUILD): $(WORKBENCH_STAMP) $(shell find core/workbench-ui/src core/workbench-ui/scripts -type f 2>/dev/null)
	@echo ">> building the Workbench"
	@cd core/workbench-ui && npm run --silent build
	@touch $@

serve: install
	$(VENV)/bin/motia-core serve --dir $(EXAMPLE) --port $(PORT)

# The wheel (docs/dev.md "Install from a wheel"): dist/motia_core-<version>-py3-none-<platform>.whl with the prebuilt
# Node runner and its node_modules, the Ruby runner, sdk-node, the templates and the Workbench inside.
.PHONY: dist
dist: install
	$(PY) scripts/build_wheel.py dist

test: install
	@$(VENV)/bin/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

lint: install codegen-deps
	$(VENV)/bin/ruff check core sdk-python runners/python tests
	$(VENV)/bin/mypy core/motia_core sdk-python/motia runners/python/motia_runner
	cd runners/node && npm run --silent typecheck && npm run --silent check-generated
	cd sdk-node && npm run --silent typecheck
	cd core/workbench-ui && npm run --silent typecheck
	@tmp=$$(mktemp -d); PYTHON=$(PY) scripts/gen_proto.sh $$tmp >/dev/null; \
	if ! diff -r -q -x __pycache__ $$tmp/core/motia_core/_proto core/motia_core/_proto >/dev/null; then \
	  diff -r -x __pycache__ $$tmp/core/motia_core/_proto core/motia_core/_proto | head -20; rm -rf $$tmp; \
	  echo "generated protobuf code is stale: run 'make proto' and commit"; exit 1; fi; rm -rf $$tmp
	@tmp=$$(mktemp -d); runners/ruby/scripts/gen_proto.sh $$tmp >/dev/null && \
	  diff -r $$tmp/motia/runner/v1 runners/ruby/lib/motia/runner/v1 || { rm -rf $$tmp; \
	  echo "generated Ruby protobuf code is stale: run 'make proto' and commit"; exit 1; }; rm -rf $$tmp
	$(VENV)/bin/ruff check runners/go/python
	MYPYPATH=runners/go/python $(VENV)/bin/mypy -p motia_runner_go
	@test -z "$$(gofmt -l runners/go/src runners/go/conformance tests/fixtures/go_* bench/projects/bench-go)" || { \
	  gofmt -l runners/go/src runners/go/conformance tests/fixtures/go_* bench/projects/bench-go; \
	  echo "Go files need gofmt -w"; exit 1; }
	cd runners/go && $(GO_ENV) go vet motia
	@tmp=$$(mktemp -d); runners/go/scripts/gen_proto.sh $$tmp >/dev/null && \
	  diff -r $$tmp/motia/internal/runnerpb runners/go/src/motia/internal/runnerpb || { rm -rf $$tmp; \
	  echo "generated Go protobuf code is stale: run 'make proto' and commit"; exit 1; }; rm -rf $$tmp
	@echo "lint clean"

proto: $(PY_STAMP) $(NODE_RUNNER_STAMP) codegen-deps
	PYTHON=$(PY) scripts/gen_proto.sh
	cd runners/node && npm run --silent gen
	runners/ruby/scripts/gen_proto.sh
	runners/go/scripts/gen_proto.sh

clean:
	rm -rf $(VENV) runners/node/node_modules runners/node/dist sdk-node/node_modules tests/stream_client/node_modules \
	  core/workbench-ui/node_modules core/motia_core/workbench/static

# -- benchmark suite (bench/README.md) -------------------------------------------------------------
#   make bench         full suite, <= 10 min: bench/results/<timestamp>/ and bench/LATEST.md
#   make bench-quick   <= 60 s: API TS and Python at c16, bare aiohttp, event chain, streams k4
# Timings never run in `make test`. matplotlib and py-spy go into .venv only here; classic Motia into the
# git-ignored bench/.motia-classic (a failed install is reported by the bench, not fatal); BullMQ (the
# redis scenario's anchor, versions pinned in bench/bullmq/package-lock.json) into bench/bullmq/node_modules.
BENCH_SYSTEM_PACKAGES := wrk redis-server
BENCH_PY_STAMP := $(VENV)/.bench-installed-2
BENCH_BULLMQ_STAMP := bench/bullmq/node_modules/.installed
MOTIA_CLASSIC_VERSION := 0.17.6-beta.187

.PHONY: bench bench-quick bench-system-deps bench-classic bench-bullmq

bench-system-deps:
	@missing=""; \
	for p in $(BENCH_SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo ">> installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "missing system packages:$$missing -- run: sudo apt-get install -y$$missing"; exit 1; fi; \
	fi

$(BENCH_PY_STAMP): $(PY_STAMP)
	@echo ">> installing matplotlib (bench charts) and py-spy (profile of the core) into $(VENV)"
	@$(PY) -m pip install -q --disable-pip-version-check 'matplotlib>=3.8,<4' 'py-spy>=0.4,<1'
	@touch $@

bench-classic:
	@PYTHON=$(PYTHON) bench/install_classic.sh $(MOTIA_CLASSIC_VERSION)

$(BENCH_BULLMQ_STAMP): bench/bullmq/package.json bench/bullmq/package-lock.json
	@echo ">> npm ci (bench/bullmq: bullmq + ioredis for the redis scenario)"
	@cd bench/bullmq && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

bench-bullmq: $(BENCH_BULLMQ_STAMP)

bench: install bench-system-deps $(BENCH_PY_STAMP) bench-classic bench-bullmq
	$(PY) bench/run.py $(BENCH_ARGS)

bench-quick: install bench-system-deps $(BENCH_PY_STAMP)
	$(PY) bench/run.py --quick
