#!/usr/bin/env bash
# Soak test (issue 8): SOAK_SECONDS (default 600) of mixed traffic from wrk at 64 connections:
# folder browsing and search through the API, share-link pages, and downloads of originals.
# Passes when every response is a 2xx (no 5xx above all) and the server's RSS and open file descriptors stay flat
# (the last sample within 25% + 8 MiB / + 16 fds of the one taken after the first minute).
# Writes bench/out/soak.md with the samples; exits 1 if a check fails.
#
#   bash bench/soak.sh                     # 10 minutes
#   SOAK_SECONDS=60 bash bench/soak.sh     # a quick look
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="$ROOT/bench/out"; mkdir -p "$OUT"
SOAK_SECONDS=${SOAK_SECONDS:-600}
CONNS=${CONNS:-64}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
if [ -n "${ASSETPORT_BIN:-}" ]; then AP=$ASSETPORT_BIN; else cargo build --release --quiet; AP="$ROOT/target/release/assetport"; fi
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
W=$(mktemp -d /tmp/assetport-soak.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export ASSETPORT_DATA_DIR="$W/data" ASSETPORT_BIND="127.0.0.1:$PORT" ASSETPORT_CONFIG="$W/none.toml" \
  ASSETPORT_DIGEST_HOUR=off RUST_LOG=assetport=warn
unset ASSETPORT_DATABASE_URL ASSETPORT_STORAGE
trap 'kill $PID $SAMPLER 2>/dev/null; rm -rf "$W"' EXIT
SAMPLER=""
echo 'soak test password' | "$AP" user create --email admin@soak.example --name Admin --role admin --password-stdin >/dev/null
TOKEN=$("$AP" token create --email admin@soak.example --name soak)
"$AP" serve >"$W/server.log" 2>&1 & PID=$!
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/readyz" && break; sleep 0.1; done
API="http://127.0.0.1:$PORT/api/v1"; AUTH="Authorization: Bearer $TOKEN"

# A small library: 3 folders, 30 assets (100 KiB to 1 MiB), approved, with words to search.
WORDS=(spring summer autumn winter poster banner flyer logo)
PATHS=()
for f in 1 2 3; do
  FOLDER=$(curl -sf -H "$AUTH" -H 'content-type: application/json' -d "{\"name\":\"Area $f\"}" "$API/folders" | json '["id"]')
  PATHS+=("A /api/v1/folders/$FOLDER")
  for i in $(seq 1 10); do
    head -c $(( (i % 10 + 1) * 100 * 1024 )) /dev/urandom >"$W/f.bin"
    w=${WORDS[$(( (f * 10 + i) % 8 ))]}
    ID=$(curl -sf -H "$AUTH" -F "title=$w $f-$i" -F "keywords=$w" -F "file=@$W/f.bin;filename=$w-$f-$i.bin" "$API/folders/$FOLDER/assets" | json '["id"]')
    curl -sf -X POST -H "$AUTH" "$API/assets/$ID/approve" >/dev/null
    PATHS+=("A /api/v1/assets/$ID/original")
    LAST=$ID
  done
done
for w in "${WORDS[@]}"; do PATHS+=("A /api/v1/search?q=$w"); done
LINK=$(curl -sf -H "$AUTH" -H 'content-type: application/json' -d "{\"asset_ids\":[\"$LAST\"]}" "$API/links" | json '["url"]')
LINK_PATH="/${LINK#http://*/}"
for _ in 1 2 3 4 5 6; do PATHS+=("- $LINK_PATH"); done

# wrk cycles through the paths; "A" ones carry the token. 5xx are counted per thread.
{
  echo "local paths = {"
  for p in "${PATHS[@]}"; do echo "  {auth = $([ "${p%% *}" = A ] && echo true || echo false), path = \"${p#* }\"},"; done
  echo "}"
  cat <<LUA
local token = "Bearer $TOKEN"
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) i = math.random(#paths); fivexx = 0 end
function request()
  i = i % #paths + 1
  local p = paths[i]
  local headers = {}
  if p.auth then headers["Authorization"] = token end
  return wrk.format("GET", p.path, headers)
end
function response(status, headers, body) if status >= 500 then fivexx = fivexx + 1 end end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("fivexx") end
  io.write(string.format("5xx: %d\n", n))
end
LUA
} >"$W/mix.lua"

sample() {  # seconds rss_kib fds
  while kill -0 "$PID" 2>/dev/null; do
    echo "$SECONDS $(awk '/VmRSS/ {print $2}' "/proc/$PID/status") $(ls "/proc/$PID/fd" | wc -l)"
    sleep 10
  done
}
SECONDS=0
sample >"$W/samples.txt" & SAMPLER=$!
wrk -t2 -c"$CONNS" -d"${SOAK_SECONDS}s" -s "$W/mix.lua" "http://127.0.0.1:$PORT" >"$W/wrk.txt"
kill "$SAMPLER" 2>/dev/null || true
cp "$W/wrk.txt" "$OUT/soak-wrk.txt"
python3 - "$W/wrk.txt" "$W/samples.txt" "$SOAK_SECONDS" "$CONNS" <<'PY' | tee "$OUT/soak.md"
import re, sys
wrk = open(sys.argv[1]).read()
samples = [tuple(int(x) for x in l.split()) for l in open(sys.argv[2]) if len(l.split()) == 3]
secs, conns = sys.argv[3], sys.argv[4]
fivexx = int(re.search(r"5xx: (\d+)", wrk).group(1))
rps = re.search(r"Requests/sec:\s+([\d.]+)", wrk).group(1)
total = re.search(r"(\d+) requests in", wrk).group(1)
sock = re.search(r"Socket errors: (.*)", wrk)
non2xx = int((re.search(r"Non-2xx or 3xx responses: (\d+)", wrk) or re.search(r"()", "")).group(1) or 0)
base = next((s for s in samples if s[0] >= 60), samples[0])
last = samples[-1]
rss_ok = last[1] <= base[1] * 1.25 + 8 * 1024
fds_ok = last[2] <= base[2] + 16
ok = fivexx == 0 and non2xx == 0 and rss_ok and fds_ok
print(f"# Soak — {secs} s of mixed traffic, wrk -t2 -c{conns}")
print()
print(f"{total} requests, {rps} req/s; 5xx: **{fivexx}**; other non-2xx: {non2xx}; socket errors: {sock.group(1) if sock else 'none'}.")
print(f"RSS after the first minute {base[1]//1024} MiB, at the end {last[1]//1024} MiB ({'flat' if rss_ok else '**grew**'}); "
      f"open fds {base[2]} then {last[2]} ({'flat' if fds_ok else '**grew**'}).")
print()
print("| s | RSS MiB | open fds |")
print("|---|---|---|")
for s in samples[:: max(1, len(samples) // 20)]:
    print(f"| {s[0]} | {s[1] // 1024} | {s[2]} |")
print()
print("Result: " + ("all checks passed." if ok else "**failed**."))
sys.exit(0 if ok else 1)
PY
