#!/usr/bin/env bash
# Crash test (issue 8): kill -9 the server in the middle of 50 concurrent uploads and 50
# concurrent downloads, start it again, and check what a crash may leave:
#   - `assetport fsck` finds nothing missing or damaged (orphans alone are allowed: binaries
#     written before their row; `fsck --repair --grace-secs 0` removes them, then it is clean);
#   - every upload the server acknowledged (201) downloads byte-identical after the restart;
#   - nothing half-made is visible: the library holds exactly the preloaded assets plus the
#     acknowledged uploads.
# Writes bench/out/crash.md; exits 1 if any check fails.
#
#   bash bench/crash.sh                    # 50 + 50 transfers, kill after 1.5 s
#   ROUNDS=5 bash bench/crash.sh           # repeat with fresh data dirs
#   ASSETPORT_BIN=/path/to/assetport bash bench/crash.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="$ROOT/bench/out"; mkdir -p "$OUT"
N=${N:-50}
ROUNDS=${ROUNDS:-1}
KILL_AFTER=${KILL_AFTER:-1.5}
RATE=${RATE:-2M}           # per transfer, so that many are in flight when the kill comes
if [ -n "${ASSETPORT_BIN:-}" ]; then AP=$ASSETPORT_BIN; else cargo build --release --quiet; AP="$ROOT/target/release/assetport"; fi

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
FAILS=0
REPORT=""
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); REPORT+="- FAIL: $*"$'\n'; }

one_round() {
  local W PORT PID API AUTH FOLDER
  W=$(mktemp -d /tmp/assetport-crash.XXXXXX)
  PORT=$(free_port)
  export ASSETPORT_DATA_DIR="$W/data" ASSETPORT_BIND="127.0.0.1:$PORT" ASSETPORT_CONFIG="$W/none.toml" \
    ASSETPORT_DIGEST_HOUR=off RUST_LOG=assetport=warn
  unset ASSETPORT_DATABASE_URL ASSETPORT_STORAGE
  echo 'crash test password' | "$AP" user create --email admin@crash.example --name Admin --role admin --password-stdin >/dev/null
  AUTH="Authorization: Bearer $("$AP" token create --email admin@crash.example --name crash)"
  API="http://127.0.0.1:$PORT/api/v1"
  start() {
    "$AP" serve >>"$W/server.log" 2>&1 & PID=$!
    for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/readyz" && return 0; sleep 0.1; done
    echo "server did not start" >&2; exit 1
  }
  start
  FOLDER=$(curl -sf -H "$AUTH" -H 'content-type: application/json' -d '{"name":"Crash"}' "$API/folders" | json '["id"]')
  mkdir -p "$W/pre" "$W/up" "$W/res"
  # Preloaded assets, downloaded while the kill comes.
  local ids=()
  for i in $(seq 1 "$N"); do
    head -c $((1024 * 1024)) /dev/urandom >"$W/pre/p$i.bin"
    ids+=("$(curl -sf -H "$AUTH" -F "file=@$W/pre/p$i.bin" "$API/folders/$FOLDER/assets" | json '["id"]')")
  done
  # Uploads of 0.5 to 5 MiB: at $RATE some finish before the kill, most are cut.
  for i in $(seq 1 "$N"); do
    head -c $(( (i % 10 + 1) * 512 * 1024 )) /dev/urandom >"$W/up/u$i.bin"
  done
  for i in $(seq 1 "$N"); do
    curl -s --limit-rate "$RATE" -o "$W/res/u$i.json" -w '%{http_code}' -H "$AUTH" \
      -F "file=@$W/up/u$i.bin" "$API/folders/$FOLDER/assets" >"$W/res/u$i.code" 2>/dev/null &
    curl -s --limit-rate "$RATE" -o /dev/null -H "$AUTH" "$API/assets/${ids[$((i - 1))]}/original" 2>/dev/null &
  done
  sleep "$KILL_AFTER"
  kill -9 "$PID"
  wait 2>/dev/null || true

  local acked=() code
  for i in $(seq 1 "$N"); do
    code=$(cat "$W/res/u$i.code" 2>/dev/null || echo 000)
    [ "$code" = 201 ] && acked+=("$i")
  done
  echo "killed with uploads in flight: ${#acked[@]} of $N acknowledged before the kill"

  # Storage against the database, before the server runs again.
  local fsck_out
  # The server is down: nothing is in flight, so no grace period for young binaries.
  fsck_out=$("$AP" fsck --grace-secs 0 2>&1) || fail "fsck after the crash: $fsck_out"
  local orphans; orphans=$(grep -c '^orphan' <<<"$fsck_out" || true)
  start
  for i in "${acked[@]}"; do
    local id; id=$(json '["id"]' <"$W/res/u$i.json")
    local got; got=$(curl -sf -H "$AUTH" "$API/assets/$id/original" | sha256sum | cut -d' ' -f1)
    [ "$got" = "$(sha256sum "$W/up/u$i.bin" | cut -d' ' -f1)" ] || fail "acknowledged upload u$i differs after the restart"
  done
  local assets; assets=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM assets').fetchone()[0])" "$W/data/assetport.db")
  [ "$assets" -eq $(( N + ${#acked[@]} )) ] || fail "$assets assets in the library, expected $N preloaded + ${#acked[@]} acknowledged"
  kill "$PID"; wait "$PID" 2>/dev/null || true
  "$AP" fsck --repair --grace-secs 0 >/dev/null 2>&1 || fail "fsck --repair"
  local after; after=$("$AP" fsck --grace-secs 0 2>&1) || fail "fsck after repair: $after"
  grep -q '^orphan' <<<"$after" && fail "orphans left after repair"
  REPORT+="- round: ${#acked[@]} of $N uploads acknowledged before kill -9 (after ${KILL_AFTER} s, $N downloads in flight too); fsck: nothing missing or damaged, $orphans orphans (binaries of cut uploads), removed by --repair; all acknowledged uploads byte-identical after the restart; $assets assets = $N preloaded + ${#acked[@]} acknowledged"$'\n'
  rm -rf "$W"
}

for r in $(seq 1 "$ROUNDS"); do
  echo "== round $r/$ROUNDS"
  one_round
done
{
  echo "# Crash test — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
  echo
  echo "kill -9 during $N concurrent uploads and $N concurrent downloads (curl, ${RATE}B/s each), restart."
  echo
  printf '%s' "$REPORT"
  echo
  echo "Result: $([ "$FAILS" -eq 0 ] && echo "all checks passed" || echo "**$FAILS checks failed**")."
} | tee "$OUT/crash.md"
[ "$FAILS" -eq 0 ]
