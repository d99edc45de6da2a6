#!/usr/bin/env bash
# Builds the web booth's bundle into booth/dist (or OUT_DIR): the zkvote-booth crate for
# wasm32-unknown-unknown (release), `wasm-opt -O3` on cargo's output, wasm-bindgen
# (`--target no-modules`, for the worker), then scripts/bundle-booth.py (versioned names,
# integrity pins, bundle.json). Prints the bundle's SHA-256 last.
#
#   scripts/build-booth.sh [--board URL] [OUT_DIR]
#
# `--board URL` makes a static bundle that any web server can host, talking to that board;
# without it the bundle talks to its own origin (what `zkvote board serve` embeds when
# built with `--features booth`).
#
# Installs what is missing: the wasm32 target (rustup), wasm-bindgen-cli at exactly the
# version of the wasm-bindgen crate in Cargo.lock (cargo install), binaryen's wasm-opt
# (apt, as root). Paths are remapped so that the module does not depend on where the
# source or the registry lives: a build from the same source and toolchain gives the same
# bundle hash.
set -euo pipefail
cd "$(dirname "$0")/.."
board_args=()
if [ "${1:-}" = "--board" ]; then board_args=(--board "$2"); shift 2; fi
out=${1:-booth/dist}

rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
  || rustup target add wasm32-unknown-unknown
want=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/"/, "", $3); print $3; exit}' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
  echo "== installing wasm-bindgen-cli $want" >&2
  cargo install -q wasm-bindgen-cli --version "$want"
fi
if ! command -v wasm-opt >/dev/null 2>&1; then
  echo "== installing binaryen (wasm-opt)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq binaryen >/dev/null
fi

export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="--remap-path-prefix=$PWD=/zkvote --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo"
cargo build -q --locked --release --target wasm32-unknown-unknown -p zkvote-booth
work=$(mktemp -d /tmp/zkvote-booth.XXXXXX)
trap 'rm -rf "$work"' EXIT
wasm-opt -O3 --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals target/wasm32-unknown-unknown/release/zkvote_booth.wasm -o "$work/zkvote_booth.wasm"
wasm-bindgen --target no-modules --no-typescript --out-dir "$work/bindgen" "$work/zkvote_booth.wasm"
python3 scripts/bundle-booth.py "$work/bindgen" booth/web "$out" "${board_args[@]}"
