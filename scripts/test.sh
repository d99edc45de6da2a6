#!/usr/bin/env bash
# Runs every test: `cargo test --workspace` (extra arguments are passed on) with a
# throwaway PostgreSQL for the storage tests, unless ZKVOTE_TEST_POSTGRES_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${ZKVOTE_TEST_POSTGRES_URL:-}" ]; then
  exec cargo test --workspace "$@"
fi
exec ./scripts/with-postgres.sh cargo test --workspace "$@"
