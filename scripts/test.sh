#!/usr/bin/env bash
# Runs every test: `cargo test --workspace` (extra arguments are passed on) with a
# throwaway PostgreSQL for the storage tests (unless ZKVOTE_TEST_POSTGRES_URL is set),
# then examples/multi-process-election.sh with 3 voters on the binary the tests built
# (with a voter roll of depth 2, so that its setup ceremony takes seconds, not minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${ZKVOTE_TEST_POSTGRES_URL:-}" ]; then
  cargo test --workspace "$@"
else
  ./scripts/with-postgres.sh cargo test --workspace "$@"
fi
echo "== examples/multi-process-election.sh 3"
ROLL_DEPTH=2 ZKVOTE=target/debug/zkvote ./examples/multi-process-election.sh 3 >/tmp/zkvote-example.log 2>&1 || {
  cat /tmp/zkvote-example.log >&2
  echo "examples/multi-process-election.sh failed" >&2
  exit 1
}
tail -n 1 /tmp/zkvote-example.log
