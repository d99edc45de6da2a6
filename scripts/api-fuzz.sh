#!/usr/bin/env bash
# Fuzzes the board's HTTP API from its own OpenAPI description with schemathesis, against
# a real board (SQLite in a temporary folder) holding one election in each phase (its setup
# ceremony open, setup, frozen, open, closed, tallied), whose ids and a real ballot tracker are given to
# schemathesis as examples of the path parameters so that it reaches the real handlers.
# Commission requests are signed (scripts/api_fuzz_hooks.py), so they reach the handlers
# too. Checks: no server error; every status code, content type, header and body as the
# description says; schema-invalid requests, and requests missing a required header, must
# be refused; a method the description does not list gets 405 with its Allow header.
#
#   scripts/api-fuzz.sh [MAX_EXAMPLES]   (default 30 per operation and phase)
#
# Installs schemathesis (PyPI) if missing. Uses target/debug/zkvote unless ZKVOTE is set.
set -euo pipefail
cd "$(dirname "$0")/.."
examples=${1:-30}
zkvote=${ZKVOTE:-target/debug/zkvote}
[ -x "$zkvote" ] || cargo build -q -p zkvote-cli
python3 -c 'import schemathesis' 2>/dev/null || python3 -m pip install -q 'schemathesis==4.32.5'

work=$(mktemp -d /tmp/zkvote-api-fuzz.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

"$zkvote" board keygen --key "$work/board.key" >/dev/null
"$zkvote" board serve --db "sqlite://$work/board.db" --listen 127.0.0.1:0 --key "$work/board.key" \
  --any-commission --rate-limit 100000 >"$work/board.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q "listening on" "$work/board.log" && break; sleep 0.1; done
board=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/board.log")
[ -n "$board" ] || { cat "$work/board.log" >&2; exit 1; }

# One election per phase; a small roll and one trustee keep the ceremonies quick.
"$zkvote" commission keygen --key "$work/commission.key" >/dev/null
"$zkvote" trustee keygen --index 1 --name "Trustee" --key "$work/trustee.key" >"$work/trustee.toml"
sed -e 's/^roll_depth = .*/roll_depth = 2/' -e 's/^threshold = .*/threshold = 1/' \
  examples/election.toml >"$work/election.toml"
cat "$work/trustee.toml" >>"$work/election.toml"
declare -A ids
tracker=""
for phase in ceremony setup frozen open closed tallied; do
  id=$("$zkvote" commission create --board "$board" --key "$work/commission.key" \
    --manifest "$work/election.toml")
  ids[$phase]=$id
  at=(--board "$board" --election "$id")
  [ "$phase" = ceremony ] && continue
  # The trustee contributes to the setup ceremony, then deals once the commission closed it.
  "$zkvote" trustee ceremony "${at[@]}" --key "$work/trustee.key" \
    --share-out "$work/share-$phase.json" >/dev/null &
  ceremony=$!
  pids+=($ceremony)
  "$zkvote" commission close-setup "${at[@]}" --key "$work/commission.key" --wait 300 >/dev/null
  [ "$phase" = setup ] && continue
  "$zkvote" commission codes "${at[@]}" --key "$work/commission.key" --count 2 --out "$work/codes-$phase.txt"
  "$zkvote" voter keygen --credential "$work/voter-$phase.cred" >/dev/null
  "$zkvote" voter register "${at[@]}" --credential "$work/voter-$phase.cred" \
    --registration-out "$work/registration-$phase.json" \
    --code "$(head -n 1 "$work/codes-$phase.txt")" >/dev/null
  "$zkvote" commission freeze "${at[@]}" --key "$work/commission.key" >/dev/null
  [ "$phase" = frozen ] && continue
  "$zkvote" commission open "${at[@]}" --key "$work/commission.key" --wait-dealings 120 \
    --complaint-window 0 >/dev/null
  wait "$ceremony"
  "$zkvote" vote "${at[@]}" --credential "$work/voter-$phase.cred" --choice mayor=ada \
    --choice parks=trees --receipt-out "$work/receipt-$phase.json" >/dev/null
  tracker=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tracker"])' "$work/receipt-$phase.json")
  [ "$phase" = open ] && continue
  "$zkvote" commission close "${at[@]}" --key "$work/commission.key" >/dev/null
  [ "$phase" = closed ] && continue
  "$zkvote" trustee decrypt "${at[@]}" --key "$work/trustee.key" --share "$work/share-$phase.json" >/dev/null
  "$zkvote" commission tally "${at[@]}" --key "$work/commission.key" >/dev/null
done

# The description with the real ids and tracker as examples of the path parameters.
python3 -c 'import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1]).read())' \
  "$board/v1/openapi.json" >"$work/openapi.json"
python3 - "$work/openapi.json" "$tracker" "${ids[@]}" <<'PY'
import json, sys
path, tracker, ids = sys.argv[1], sys.argv[2], sys.argv[3:]
doc = json.load(open(path))
for item in doc["paths"].values():
    for op in item.values():
        for p in op.get("parameters", []):
            if p.get("in") != "path":
                continue
            if p["name"] == "id":
                p["schema"]["examples"] = ids
            elif p["name"] == "digest":
                p["schema"]["examples"] = [tracker]
json.dump(doc, open(path, "w"), indent=1)
PY
echo "board at $board; elections: ${ids[*]}"
# Commission requests are signed by scripts/api_fuzz_hooks.py with the elections' key.
# schemathesis's health checks judge its own data generation (complete ballots are large
# and slow to generate on a busy machine), not the API: they are off. One worker: with two,
# CPython 3.11's parser, used by the generator from two threads, fails now and then.
# A schema-violating body larger than the operation's limit is refused with 413
# body-too-large before it is parsed: a rejection like the others.
cat >"$work/schemathesis.toml" <<'TOML'
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
TOML
ZKVOTE_COMMISSION_KEY="$work/commission.key" PYTHONPATH=scripts SCHEMATHESIS_HOOKS=api_fuzz_hooks \
  python3 -m schemathesis.cli --config-file "$work/schemathesis.toml" run "$work/openapi.json" --url "$board" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,missing_required_header,unsupported_method,allow_header_conformance \
  --max-examples "$examples" --seed 1 --workers 1 --suppress-health-check=all
