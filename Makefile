# anonmerge — every command a person or CI needs. `make help` lists them.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# The services follow the ports the stack scripts use, so overriding one (e.g. KAFKA_PORT=19092)
# moves both sides.
KAFKA_PORT ?= 9092
REGISTRY_PORT ?= 8081
REDIS_PORT ?= 6380
export KAFKA_PORT REGISTRY_PORT REDIS_PORT
export ANONMERGE_KAFKA_BROKERS ?= 127.0.0.1:$(KAFKA_PORT)
export ANONMERGE_REGISTRY_URL ?= http://127.0.0.1:$(REGISTRY_PORT)/apis/ccompat/v7
export ANONMERGE_REDIS_URL ?= redis://127.0.0.1:$(REDIS_PORT)

INSTALL_STAMP := node_modules/.anonmerge-installed
BUILD_STAMP := dist/.anonmerge-built
SOURCES := $(shell find services bench -name '*.ts' -not -path 'services/shared/generated/*' 2>/dev/null) $(wildcard schemas/*.avsc) scripts/generate-avro-types.js tsconfig.json tsconfig.build.json

.PHONY: help install build typecheck infra-up infra-down infra-status up down status logs run test test-unit schema-check bench bench-merger bench-planes bench-latency bench-ingest bench-bridge bench-admin bench-state bench-sequences bench-tenants bench-cluster cluster-up cluster-down browser chaos security clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  make %-14s %s\n", $$1, $$2 }'

install: $(INSTALL_STAMP) ## install npm dependencies from the lock file
$(INSTALL_STAMP): package.json package-lock.json $(wildcard patches/*.patch)
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

build: $(BUILD_STAMP) ## compile the services to dist/
$(BUILD_STAMP): $(INSTALL_STAMP) $(SOURCES)
	node scripts/generate-avro-types.js
	npx tsc -p tsconfig.build.json
	@touch $@

typecheck: $(INSTALL_STAMP) ## type-check sources and tests (strict)
	node scripts/generate-avro-types.js
	npx tsc -p tsconfig.json --noEmit

infra-up: ## start Kafka, the schema registry and Redis (idempotent), wait until healthy
	@bash infra/stack.sh up

infra-down: ## stop the local stack (data stays under .local/)
	@bash infra/stack.sh down

infra-status: ## one line per part of the stack
	@bash infra/stack.sh status

up: infra-up build ## stack + both services in the background, returns once healthy
	@bash infra/services.sh start

down: ## stop everything of ours: the services (graceful), then the stack (data stays under .local/)
	@bash infra/services.sh stop
	@bash infra/redis-cluster.sh stop
	@bash infra/stack.sh down

status: ## the stack and each service's pid, uptime and readiness
	@rc=0; bash infra/stack.sh status || rc=1; echo; bash infra/services.sh status || rc=1; exit $$rc

logs: ## follow the services' logs, pretty-printed (Ctrl-C stops)
	@bash infra/services.sh logs

run: infra-up build ## the stack, both services, sample traffic and a live feed (Ctrl-C stops)
	@bash infra/run.sh

test: install infra-up browser typecheck build ## type-check, schema check, then unit, integration and (short) fault tests against the real stack
	node dist/services/cli/main.js schemas check
	npx jest --ci --selectProjects unit integration
	npx jest --ci --selectProjects chaos

schema-check: infra-up build ## each schema against its released versions, by the registry's compatibility API (docs/consuming.md)
	node dist/services/cli/main.js schemas check

browser: ## Debian's chromium for the snippet's browser test (installed once when missing)
	@bash infra/chromium.sh ensure >/dev/null

test-unit: install ## unit tests only (no stack needed)
	node scripts/generate-avro-types.js
	npx jest --ci --selectProjects unit

chaos: install infra-up build ## the fault matrix (long: 50 kills, zombies, Redis/Kafka kills, …) and its table
	CHAOS_FULL=1 npx jest --ci --selectProjects chaos

security: up browser ## the attack corpus (issue 14) against the running stack: attack, expected, got, and ingest's memory
	node dist/bench/security.js

clean: ## remove build output (not the stack's downloads or data)
	rm -rf dist

bench: infra-up build ## every benchmark: table on the terminal, docs/benchmarks.md, bench/results/all.json, an SVG plot
	node dist/bench/run.js

bench-merger: infra-up build ## merger throughput alone (BENCH_RECORDS, default 1M) beside the raw pass-through, with CPU per part
	node dist/bench/merger.js

bench-planes: infra-up build ## two-plane merger beside legacy, alternated pairs on the same records (BENCH_RECORDS 1M, BENCH_PAIRS 5)
	node dist/bench/planes.js

bench-latency: infra-up build ## merge latency against pending backlog (10 … 3,000 events; 100 identifies each), recent and days old out of the page cache, p50/p99, and its plot
	node dist/bench/latency.js

bench-ingest: infra-up build ## HTTP load on ingest (single events, batches of 100) beside a raw kafkajs producer
	node dist/bench/ingest.js

bench-sequences: infra-up build ## back-to-back identify/delete, merge, alias sequences through the API, each against the reference model (BENCH_SEQUENCES, default 100)
	node dist/bench/sequences.js

bench-bridge: infra-up build ## the request bridge's records/s and CPU per record (BENCH_BRIDGE_RECORDS, default 200k) beside ingest's HTTP figures
	node dist/bench/bridge.js

bench-admin: infra-up build ## time from a workspace change through the admin API to its effect on two ingest replicas (BENCH_ADMIN_CHANGES, default 200): p50/p90/p99
	node dist/bench/adminChanges.js

bench-state: infra-up build ## Redis bytes per pending event beside its Avro size
	node dist/bench/stateCost.js

bench-tenants: infra-up build ## another workspace's p99 while one floods at 10x its rate limit
	node dist/bench/noisyNeighbour.js

bench-cluster: infra-up cluster-up build ## merger throughput on the single Redis beside a local Redis Cluster
	node dist/bench/cluster.js

cluster-up: ## a local Redis Cluster (3 masters, 3 replicas) on 6390-6395, for cluster mode
	bash infra/redis-cluster.sh start && bash infra/redis-cluster.sh wait && bash infra/redis-cluster.sh status

cluster-down: ## stop the local Redis Cluster
	bash infra/redis-cluster.sh stop
