# WOLO Senegal backend. `make help` lists the targets.
#
# Every target that needs a database gets one from scripts/ensure-db.sh: DATABASE_URL when
# set, else the PostgreSQL on 127.0.0.1:5432, else a throwaway cluster it starts itself.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
WOLO := $(or $(CARGO_TARGET_DIR),target)/debug/wolo
# Development-only defaults; real deployments set their own (see .env.example).
export WOLO_JWT_SECRET ?= dev-only-jwt-secret-change-me-0123456789
export WOLO_HTTP_ADDR ?= 127.0.0.1:8080
export RUST_LOG ?= info,sqlx=warn
DB = export DATABASE_URL="$$(scripts/ensure-db.sh)"

.PHONY: help run build migrate seed serve test cluster-test clients-deps fmt lint check-env bench

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

build: ## build every crate
	$(CARGO) build --workspace --bins

run: build ## build, migrate, seed the demo data and serve all ten services
	@$(DB); \
	$(WOLO) migrate; \
	$(WOLO) seed; \
	echo; \
	echo "WOLO is starting on http://$$WOLO_HTTP_ADDR (database $${DATABASE_URL%%\?*})"; \
	echo "  try: curl http://$$WOLO_HTTP_ADDR/"; \
	echo "       curl http://$$WOLO_HTTP_ADDR/pots/health"; \
	echo "       curl http://$$WOLO_HTTP_ADDR/donations/ready"; \
	echo "  a pot page: http://$$WOLO_HTTP_ADDR/p/00000000-0000-4000-a000-040100000002 (Moussa's, public)"; \
	echo "  a feature phone (USSD, SMS; the pot code is on the pot page): $(WOLO) ussd"; \
	echo "       $(WOLO) sms \"<pot code> 5000 FREE\""; \
	echo "  the walk of README.md shows every step"; \
	echo; \
	exec $(WOLO) serve

migrate: build ## apply pending migrations
	@$(DB); $(WOLO) migrate

seed: build ## load the demo data (idempotent)
	@$(DB); $(WOLO) seed

test: clients-deps ## the whole test suite against a real PostgreSQL, then the cluster tests
	@$(DB); $(CARGO) test --workspace --no-fail-fast
	@$(MAKE) --no-print-directory cluster-test

cluster-test: ## replicas, a streaming standby, PgBouncer and a failover on loopback (scripts/cluster-test.sh)
	scripts/cluster-test.sh

# The client tests (suite/tests/clients) run postgrest-js, postgrest-py and headless
# Chromium; each step runs only when its dependency is missing or out of date.
clients-deps: ## install the client tests' npm, pip and chromium dependencies when missing
	@if [ ! -f clients/node_modules/.package-lock.json ] || [ clients/package-lock.json -nt clients/node_modules/.package-lock.json ]; then \
	  echo "clients-deps: npm ci --prefix clients"; \
	  npm ci --prefix clients --no-audit --no-fund --loglevel=error >/dev/null; \
	fi
	@if ! python3 -c "import postgrest" >/dev/null 2>&1; then \
	  echo "clients-deps: pip install -r clients/requirements.txt"; \
	  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -r clients/requirements.txt \
	    || python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --break-system-packages -r clients/requirements.txt; \
	fi
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "clients-deps: apt-get install chromium"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo="sudo -n"; fi; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium >/dev/null \
	    || echo "clients-deps: could not install chromium (apt-get install chromium); the browser test will fail" >&2; \
	fi

fmt: ## format the code
	$(CARGO) fmt --all

lint: ## clippy with warnings as errors, and a format check
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

bench: ## every workload users wait for (reads, webhooks + outbox lag, checkout with a slow Wave, QR redemption and rendering, footprint), release build; writes docs/benchmarks.md, fails only on a correctness check
	bench/run.sh
