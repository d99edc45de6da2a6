#!/usr/bin/env bash
# The fuzz targets of fuzz/ (cargo fuzz, libFuzzer): every parser of untrusted input.
#
#   scripts/fuzz.sh smoke [SECONDS]   build, seed, run every target SECONDS (default 5); CI runs this
#   scripts/fuzz.sh campaign [RUNS]   run every target RUNS executions (default 1000000) and print
#                                     a table of executions, seconds and corpus sizes
#
# FUZZ_TARGETS (space-separated) picks targets; FUZZ_ARGS adds libFuzzer flags.
#
# Corpora grow in fuzz/corpus/<target> (not committed); seeds come from a demo election's
# record and the pinned vectors (scripts/fuzz_seeds.py), and every input that once crashed
# a target is kept in fuzz/regressions/<target> and run again each time. cargo-fuzz is
# installed if missing; on a stable toolchain the build needs RUSTC_BOOTSTRAP=1 (set here).
# A crash stops the run with libFuzzer's report and the input under fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-smoke}
export RUSTC_BOOTSTRAP=1
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "== installing cargo-fuzz" >&2
  cargo install cargo-fuzz --version 0.13.2 >/dev/null
fi
targets=${FUZZ_TARGETS:-$(sed -n 's/^name = "\([a-z_]*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^zkvote-fuzz$')}

echo "== building the fuzz targets"
(cd fuzz && cargo fuzz build -O >/dev/null)

seeds=$(mktemp -d /tmp/zkvote-fuzz-seeds.XXXXXX)
trap 'rm -rf "$seeds"' EXIT
zkvote=${ZKVOTE:-target/debug/zkvote}
[ -x "$zkvote" ] || cargo build -q -p zkvote-cli
"$zkvote" demo --voters 3 --roll-depth 2 --quiet --record-out "$seeds/record.jsonl" >/dev/null
python3 scripts/fuzz_seeds.py "$seeds/record.jsonl" core/tests/vectors/ballot-v1.json "$zkvote" "$seeds/corpus"

case "$mode" in
  smoke) limit="-max_total_time=${2:-5}" ;;
  campaign) limit="-runs=${2:-1000000}" ;;
  *) echo "usage: scripts/fuzz.sh smoke [SECONDS] | campaign [RUNS]" >&2; exit 2 ;;
esac
printf '%-24s %12s %9s %8s\n' target executions seconds corpus
for t in $targets; do
  mkdir -p "fuzz/corpus/$t" "$seeds/corpus/$t"
  if [ -d "fuzz/regressions/$t" ]; then cp "fuzz/regressions/$t"/* "$seeds/corpus/$t"/; fi
  log="$seeds/$t.log"
  start=$(date +%s)
  if ! (cd fuzz && cargo fuzz run -O "$t" "corpus/$t" "$seeds/corpus/$t" -- $limit -print_final_stats=1 ${FUZZ_ARGS:-}) >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz target $t failed" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  printf '%-24s %12s %9s %8s\n' "$t" "${runs:-?}" "$(( $(date +%s) - start ))" "$(ls "fuzz/corpus/$t" | wc -l)"
done
