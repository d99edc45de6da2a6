#!/usr/bin/env bash
# The web booth's end-to-end test in a real browser: builds the booth's bundle
# (scripts/build-booth.sh) and `zkvote` with it embedded (`--features booth`), then runs
# booth/e2e/booth.test.mjs (playwright-core driving Debian's Chromium, headless) against
# `zkvote demo --web` on loopback. Screenshots, the downloaded credential and receipt and
# the election record are left in booth/e2e/artifacts/.
#
#   scripts/booth-e2e.sh [CARGO_ARGS...]     e.g. --locked
#
# Installs what is missing: Chromium and a Korean font (apt, as root), playwright-core
# (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build-booth.sh >/dev/null
# `zkvote` is built as the test command builds it (the whole workspace's features, the test
# profile) with the booth embedded, so that after the test command only the board and the
# CLI compile again, not every dependency under other features.
cargo test -q "$@" --workspace --features zkvote-cli/booth --no-run --test cli
# The embedded bundle's own test (its hash, its pins), which needs the feature.
cargo test -q "$@" --workspace --features zkvote-cli/booth --lib booth
if ! command -v "${CHROMIUM:-/usr/bin/chromium}" >/dev/null 2>&1 || ! fc-list | grep -qi nanum; then
  echo "== installing chromium and a Korean font (for the screenshots)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-nanum >/dev/null
fi
(cd booth/e2e && npm ci --no-audit --no-fund --silent)
rm -rf booth/e2e/artifacts
node booth/e2e/booth.test.mjs target/debug/zkvote booth/e2e/artifacts
