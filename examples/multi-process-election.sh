#!/usr/bin/env bash
# The demo's election as separate processes talking over HTTP: one board server, two
# witnesses (each its own key and store; both must cosign every checkpoint), a mirror
# (its own verified copy of the record, served read-only), the commission, three trustees (threshold 2), an outside contributor to the setup ceremony
# and several voters, each with their own key or credential file.
# Usage: examples/multi-process-election.sh [VOTERS] (default 5). ROLL_DEPTH (default 20,
# as in examples/election.toml) sets the voter roll's depth and so the ceremony's cost.
# Uses target/release/zkvote (built if missing) unless ZKVOTE points at another binary.
set -euo pipefail
cd "$(dirname "$0")/.."

voters=${1:-5}
if [ "$voters" -lt 3 ]; then echo "need at least 3 voters" >&2; exit 1; fi
zkvote=${ZKVOTE:-target/release/zkvote}
if [ ! -x "$zkvote" ]; then
  cargo build --release -p zkvote-cli
fi
work=$(mktemp -d /tmp/zkvote-example.XXXXXX)
board_pid=""
trustee_pids=()
witness_pids=()
mirror_pid=""
cleanup() {
  for p in "${trustee_pids[@]}" "${witness_pids[@]}" $mirror_pid $board_pid; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n== [%ss] %s\n' "$SECONDS" "$*"; }
# Waits for a server's "listening on http://..." line in its log; prints the address.
listening() {
  for _ in $(seq 1 100); do
    grep -q "listening on" "$1" && break
    sleep 0.1
  done
  local url
  url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$1")
  [ -n "$url" ] || { cat "$1" >&2; exit 1; }
  echo "$url"
}

step "board: key and server (SQLite in $work), open to the commission's key only"
commission_key=$("$zkvote" commission keygen --key "$work/commission.key")
board_key=$("$zkvote" board keygen --key "$work/board.key")
"$zkvote" board serve --db "sqlite://$work/board.db" --listen 127.0.0.1:0 \
  --key "$work/board.key" --commission-key "$commission_key" >"$work/board.log" 2>&1 &
board_pid=$!
board=$(listening "$work/board.log")
echo "board at $board"

step "witnesses: two organizations each run one, trusting the board's key"
printf '\n[witnesses]\nthreshold = 2\n' >"$work/witnesses.toml"
for w in 1 2; do
  witness_key=$("$zkvote" witness keygen --key "$work/witness$w.key")
  "$zkvote" witness serve --db "$work/witness$w.db" --listen 127.0.0.1:0 \
    --key "$work/witness$w.key" --name "witness-$w.example.org/zkvote" \
    --board-key "$board_key" >"$work/witness$w.log" 2>&1 &
  witness_pids+=($!)
  url=$(listening "$work/witness$w.log")
  echo "witness $w at $url"
  printf '\n[[witnesses.members]]\nname = "witness-%s.example.org/zkvote"\npublic_key = "%s"\nurl = "%s"\n' \
    "$w" "$witness_key" "$url" >>"$work/witnesses.toml"
done

step "trustees: keys, manifest; the commission creates the election"
sed "s/^roll_depth = .*/roll_depth = ${ROLL_DEPTH:-20}/" examples/election.toml >"$work/election.toml"
for i in 1 2 3; do
  "$zkvote" trustee keygen --index "$i" --name "Trustee $i" --key "$work/trustee$i.key" \
    >>"$work/election.toml"
done
cat "$work/witnesses.toml" >>"$work/election.toml"
election=$("$zkvote" commission create --board "$board" --key "$work/commission.key" \
  --manifest "$work/election.toml")
echo "election $election"
at=(--board "$board" --election "$election")

step "mirror: another organization keeps its own verified copy of the record"
"$zkvote" mirror serve --db "$work/mirror.db" --listen 127.0.0.1:0 --board "$board" \
  --election "$election" --interval-ms 200 >"$work/mirror.log" 2>&1 &
mirror_pid=$!
mirror=$(listening "$work/mirror.log")
echo "mirror at $mirror"

step "ceremonies: each trustee contributes to both phases of the setup ceremony, then deals"
for i in 1 2 3; do
  "$zkvote" trustee ceremony "${at[@]}" --key "$work/trustee$i.key" \
    --share-out "$work/share$i.json" &
  trustee_pids+=($!)
done
echo "a civic group contributes to the setup ceremony under its own key:"
"$zkvote" setup keygen --key "$work/civic.key" >/dev/null
"$zkvote" setup contribute "${at[@]}" --key "$work/civic.key" --name "Civic Watch" --phase 2
"$zkvote" commission close-setup "${at[@]}" --key "$work/commission.key" --wait 1200
"$zkvote" setup verify "${at[@]}"

step "registration: $voters voters, one code each"
"$zkvote" commission codes "${at[@]}" --key "$work/commission.key" --count "$voters" \
  --out "$work/codes.txt"
for v in $(seq 1 "$voters"); do
  "$zkvote" voter keygen --credential "$work/voter$v.cred" >/dev/null
  "$zkvote" voter register "${at[@]}" --credential "$work/voter$v.cred" \
    --code "$(sed -n "${v}p" "$work/codes.txt")" --registration-out "$work/registration$v.json"
done
"$zkvote" commission freeze "${at[@]}" --key "$work/commission.key"

step "open once every trustee has dealt"
"$zkvote" commission open "${at[@]}" --key "$work/commission.key" --wait-dealings 300 \
  --complaint-window 2
for p in "${trustee_pids[@]}"; do wait "$p"; done
trustee_pids=()

step "voting"
mayors=(ada bo cy dee)
parks=(river-walk playground trees pool skatepark)
echo "voter 1 audits a ballot first (Benaloh's challenge; not cast):"
"$zkvote" vote "${at[@]}" --credential "$work/voter1.cred" --choice mayor=bo \
  --choice parks=trees --audit
echo "each voter downloads only the bucket of the frozen roll that holds it:"
for v in $(seq 1 "$voters"); do
  "$zkvote" vote "${at[@]}" --credential "$work/voter$v.cred" \
    --registration "$work/registration$v.json" --choice "mayor=${mayors[$((v % 4))]}" --choice "parks=${parks[$((v % 5))]},${parks[$(((v + 2) % 5))]}" \
    --receipt-out "$work/receipt$v.json"
done
echo "voter 2 tries to vote again:"
if "$zkvote" vote "${at[@]}" --credential "$work/voter2.cred" --choice mayor=ada \
  --receipt-out "$work/again.json"; then
  echo "a second ballot was accepted" >&2
  exit 1
fi
"$zkvote" receipt check --receipt "$work/receipt1.json"

step "close, two of three trustees decrypt, the commission publishes the result"
"$zkvote" commission close "${at[@]}" --key "$work/commission.key"
for i in 1 2; do
  "$zkvote" trustee decrypt "${at[@]}" --key "$work/trustee$i.key" --share "$work/share$i.json"
done
"$zkvote" commission tally "${at[@]}" --key "$work/commission.key"

step "anyone: export and verify the record"
"$zkvote" record export "${at[@]}" --out "$work/record.jsonl"
"$zkvote" verify --record "$work/record.jsonl"

step "the mirror holds the same record, and serves receipts and the record without the board"
for _ in $(seq 1 150); do
  if "$zkvote" record export --board "$mirror" --election "$election" \
    --out "$work/mirrored.jsonl" >/dev/null 2>&1 && cmp -s "$work/record.jsonl" "$work/mirrored.jsonl"; then
    break
  fi
  sleep 0.2
done
cmp "$work/record.jsonl" "$work/mirrored.jsonl"
echo "the mirror's record is the board's, byte for byte"
kill "$board_pid"
wait "$board_pid" 2>/dev/null || true
board_pid=""
echo "the board is stopped; voter 1 checks the receipt with the mirror:"
"$zkvote" receipt check --receipt "$work/receipt1.json" --board "$mirror"
"$zkvote" verify --board "$mirror" --election "$election" --quiet
