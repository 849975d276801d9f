# Talent Data Hub. `make run` and `make test` do all set-up on a machine with only Python 3.11.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install schema clean-db help chromium nginx bench-stats

help:
	@echo "make run    - install, start the embedded PostgreSQL, migrate, load demo data, serve on :8000"
	@echo "make test   - install, then run the whole test suite against a real PostgreSQL"
	@echo "make schema - re-export graphql/schema.graphql from the code"
	@echo "make bench  - hub (registered, ad hoc) and PostGraphile 4 / 5 side by side on the same database, alternating (~10 min)"
	@echo "make bench-floor - hub (1, 2 workers) vs a hand-written-SQL floor, every bench operation"
	@echo "make bench-compare A B - per-operation deltas of two bench results (default: the two latest)"
	@echo "make bench-memory - hub worker RSS after 10,000 and 100,000 requests (fails above +10 %)"
	@echo "make bench-profile - py-spy profile of the 500-postings and 50-postings shapes, by category"
	@echo "make bench-instructions - instructions per request of each bench operation (callgrind; BENCH_TREES=other checkouts)"
	@echo "make bench-stats - latency of each published-statistics query on the large demo data"
	@echo "make bench-tracing - throughput with tracing off and on (OTLP export), and their ratio"
	@echo "make bench-ingest - bulk ingest of 100,000 postings vs a raw COPY of the same file (rows/s)"
	@echo "make conformance - GraphQL-over-HTTP audit (graphql-http) against a live hub: 0 errors, 0 warnings"
	@echo "make fuzz   - schemathesis against a live hub for FUZZ_SECONDS (120), then the planner's differential test"
	@echo "              on PLAN_FUZZ_EXAMPLES (1000) generated documents; fails on any finding"
	@echo "make soak   - 60 s at concurrency 64 on a mix of operations; prints errors and the hub's RSS"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Signed audit checkpoints (hub.checkpoints): a demo signing key under .hub/, generated once, unless
# HUB_AUDIT_SIGNING_KEY names another; `make run` exports the signed heads to .hub/audit-checkpoints.jsonl
# (check with `hub audit verify --checkpoints .hub/audit-checkpoints.jsonl`).
AUDIT_DEMO_KEY := .hub/audit-demo-signing-key.pem
run test: export HUB_AUDIT_SIGNING_KEY ?= $(AUDIT_DEMO_KEY)
run: export HUB_AUDIT_CHECKPOINT_EXPORT ?= .hub/audit-checkpoints.jsonl

run: $(STAMP)
	$(BIN)/hub audit keygen --if-missing
	$(BIN)/hub serve --migrate --demo small

test: $(STAMP) chromium nginx
	$(BIN)/hub audit keygen --if-missing
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

# headless Chromium for the report page's browser test (skipped, saying why, when it cannot be installed), with a
# Chinese font (one of the report's font list) so its screenshots and printed PDF show the Chinese page as printed
chromium:
	@(command -v chromium && fc-list :lang=zh | grep -q .) >/dev/null 2>&1 \
		|| (apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei) >/dev/null 2>&1 \
		|| echo "chromium could not be installed: the report page's browser test will be skipped"

# nginx for the deploy proxy's tests (deploy/nginx.conf run in front of a live hub; skipped, saying why, without it)
nginx:
	@(command -v nginx || test -x /usr/sbin/nginx) >/dev/null 2>&1 \
		|| (apt-get update -qq && apt-get install -y -qq nginx) >/dev/null 2>&1 \
		|| echo "nginx could not be installed: the deploy proxy's tests will be skipped"

schema: $(STAMP)
	$(BIN)/hub schema export

clean-db:
	rm -rf .hub/pgdata

# --- benchmarks (issue 7; tests/bench, results in .hub/bench/) ---------------------------------------
.PHONY: bench bench-floor bench-compare bench-memory bench-profile bench-instructions wrk valgrind
BENCH_DURATION ?= 8
BENCH_ROUNDS   ?= 2
BENCH_WORKERS  ?= 1,2
BENCH_RATE_LIMIT ?= off
BENCH_HUB_WORKERS ?= 2
BENCH_TREES ?=

wrk:
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
valgrind:
	@command -v valgrind >/dev/null || (apt-get update -qq && apt-get install -y -qq valgrind)

# The hub (BENCH_HUB_WORKERS workers, 2 by default; production settings, tracing off) side by side with PostGraphile
# 4 and 5 (npm, installed into tests/bench/peer/v4|v5/node_modules; PostGraphile 5 where node >= 22 runs; without
# node the hub alone) over the same bench database: checks that both return the same data, then hub registered, hub
# ad hoc and each PostGraphile alternately for BENCH_ROUNDS rounds of BENCH_DURATION s (wrk -c16 -t2); prints every
# round, the ratios to the better PostGraphile and the p99s; JSON in .hub/bench/peer-<timestamp>.json
bench: $(STAMP) wrk
	$(BIN)/python -m tests.bench peer --duration $(BENCH_DURATION) --rounds $(BENCH_ROUNDS) --rate-limit $(BENCH_RATE_LIMIT) \
	  --workers $(BENCH_HUB_WORKERS)

# hub (production settings, 1 and 2 workers) vs the hand-written-SQL floor, every operation of
# graphql/operations/bench/ for BENCH_DURATION s at wrk -c16 -t2; JSON in .hub/bench/<timestamp>.json
bench-floor: $(STAMP) wrk
	$(BIN)/python -m tests.bench run --duration $(BENCH_DURATION) --workers $(BENCH_WORKERS) --rate-limit $(BENCH_RATE_LIMIT)

# make bench-compare A B (two result files; default: the two latest)
ifeq (bench-compare,$(firstword $(MAKECMDGOALS)))
BENCH_FILES := $(wordlist 2,$(words $(MAKECMDGOALS)),$(MAKECMDGOALS))
$(eval $(BENCH_FILES):;@:)
endif
bench-compare: $(STAMP)
	$(BIN)/python -m tests.bench compare $(or $(A),$(word 1,$(BENCH_FILES))) $(or $(B),$(word 2,$(BENCH_FILES)))

# hub worker RSS after 10,000 and 100,000 requests of a mix of the bench operations
bench-memory: $(STAMP) wrk
	$(BIN)/python -m tests.bench memory

# py-spy profile of the widest (500 postings flat) and the 50-postings nested shapes
bench-profile: $(STAMP) wrk
	$(BIN)/python -m tests.bench profile

# instructions per request of each bench operation, counted by callgrind in process: the same within ~1 % on a
# loaded machine; BENCH_TREES: other checkouts of the hub to count too (e.g. a git worktree of another commit)
bench-instructions: $(STAMP) valgrind
	$(BIN)/python -m tests.bench instructions $(foreach t,$(BENCH_TREES),--tree $(t))

# --- published statistics (issue 5) -------------------------------------------------------------------
# loads `large` into the hub_bench_stats database once, refreshes, prints each query's median/p95 latency
BENCH_STATS_RUNS ?= 50
bench-stats: $(STAMP)
	$(BIN)/python -m tests.bench.stats --runs $(BENCH_STATS_RUNS)

# --- tracing overhead (issue 6) -------------------------------------------------------------------------
# the same nested operation with tracing off and on (OTLP/HTTP to a local receiver), alternating rounds in
# one run; prints req/s and the on/off ratio (goal >= 0.85). BENCH_TRACING_FLAGS=--compare-asgi also
# measures opentelemetry-instrumentation-asgi's middleware as the server span.
.PHONY: bench-tracing
BENCH_TRACING_FLAGS ?=
bench-tracing: $(STAMP)
	$(BIN)/python -m tests.bench.tracing $(BENCH_TRACING_FLAGS)

# --- bulk ingest (issue 4) --------------------------------------------------------------------------------
# 100,000 postings: POST /ingest (CSV and NDJSON, over HTTP) vs a raw COPY of the same file, in one run;
# prints rows/s of each and the ingest/COPY ratio (goal >= 0.5). BENCH_INGEST_FLAGS="--rounds 3 --rows N".
.PHONY: bench-ingest
BENCH_INGEST_FLAGS ?=
bench-ingest: $(STAMP)
	$(BIN)/python -m tests.bench.ingest $(BENCH_INGEST_FLAGS)

# --- reliability and conformance (issue 8) -------------------------------------------------------------
# GraphQL over HTTP: graphql-http's serverAudits (npm, pinned in tests/conformance/package.json, installed
# into its git-ignored node_modules) against a live hub; fails unless 0 errors and 0 warnings. Also in
# `make test` (tests/http/test_conformance.py, skipped where node/npm are missing).
.PHONY: conformance fuzz soak
FUZZ_SECONDS ?= 120
SOAK_SECONDS ?= 60
SOAK_CONCURRENCY ?= 64

conformance: $(STAMP)
	$(BIN)/python -m tests.conformance.runner

# schemathesis against a live hub for FUZZ_SECONDS (half as admin, half as labor); fails on any finding;
# then the planner's differential test (tests/api/test_plan_differential.py) on PLAN_FUZZ_EXAMPLES generated
# documents with random seeds (make test runs 60, derandomized), and the masked reader's (tests/governance/test_redteam.py)
PLAN_FUZZ_EXAMPLES ?= 1000
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz --seconds $(FUZZ_SECONDS)
	HUB_PLAN_FUZZ_EXAMPLES=$(PLAN_FUZZ_EXAMPLES) HUB_PLAN_FUZZ_RANDOM=1 $(BIN)/python -m pytest -q -p no:cacheprovider \
		tests/api/test_plan_differential.py
	HUB_REDTEAM_FUZZ_EXAMPLES=$(PLAN_FUZZ_EXAMPLES) HUB_PLAN_FUZZ_RANDOM=1 $(BIN)/python -m pytest -q -p no:cacheprovider \
		tests/governance/test_redteam.py -k never_gets_one_in_clear

# a mix of operations at concurrency SOAK_CONCURRENCY for SOAK_SECONDS; prints the figures and the hub's
# RSS; fails on any unexpected answer or growing memory
soak: $(STAMP)
	$(BIN)/python -m tests.soak --seconds $(SOAK_SECONDS) --concurrency $(SOAK_CONCURRENCY)
