# WOLO Senegal backend. `make help` lists the targets.
#
# Every target that needs a database gets one from scripts/ensure-db.sh: DATABASE_URL when
# set, else the PostgreSQL on 127.0.0.1:5432, else a throwaway cluster it starts itself.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
WOLO := target/debug/wolo
# Development-only defaults; real deployments set their own (see .env.example).
export WOLO_JWT_SECRET ?= dev-only-jwt-secret-change-me-0123456789
export WOLO_HTTP_ADDR ?= 127.0.0.1:8080
export RUST_LOG ?= info,sqlx=warn
DB = export DATABASE_URL="$$(scripts/ensure-db.sh)"

.PHONY: help run build migrate seed serve test fmt lint check-env

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
	echo; \
	exec $(WOLO) serve

migrate: build ## apply pending migrations
	@$(DB); $(WOLO) migrate

seed: build ## load the demo data (idempotent)
	@$(DB); $(WOLO) seed

test: ## the whole test suite against a real PostgreSQL
	@$(DB); $(CARGO) test --workspace --no-fail-fast

fmt: ## format the code
	$(CARGO) fmt --all

lint: ## clippy with warnings as errors, and a format check
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
