#!/usr/bin/env bash
# Benchmark for issue 3: share links, side by side in one run with nginx.
#  1. "Download all" ZIP of N x 1 MiB assets through a folder link vs nginx sending one file of
#     the same total size (sendfile); peak server RSS while zipping.
#  2. The landing page of a 50-asset link under wrk -c64 vs nginx serving a static HTML file of
#     the same size; requests/s and p99 latency of both.
# Writes bench/out/links.md.
#
#   bash bench/links.sh              # 1000 assets (default)
#   ASSETS=200 bash bench/links.sh   # quicker run
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="$ROOT/bench/out"; mkdir -p "$OUT"
ASSETS=${ASSETS:-1000}
RUNS=${RUNS:-3}
WRK_SECONDS=${WRK_SECONDS:-10}
ROUNDS=${ROUNDS:-3}
P_AP=18191; P_NGINX=18192

command -v nginx >/dev/null && command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq nginx-light wrk >/dev/null; }
[ -n "${ASSETPORT_BIN:-}" ] || cargo build --release --quiet   # ASSETPORT_BIN: a binary built already

W=$(mktemp -d /tmp/assetport-bench-links.XXXXXX); chmod 755 "$W"  # nginx workers run as another user
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; nginx -p "$W/nginx" -c "$W/nginx/nginx.conf" -s stop 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
mkdir -p "$W/www" "$W/files" "$W/nginx/logs"

cat > "$W/nginx/nginx.conf" <<NGINX
worker_processes auto;
pid $W/nginx/nginx.pid;
error_log $W/nginx/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on; tcp_nopush on;
  types { text/html html; application/zip zip; }
  server { listen 127.0.0.1:$P_NGINX; root $W/www; }
}
NGINX
nginx -p "$W/nginx" -c "$W/nginx/nginx.conf"

export ASSETPORT_DATA_DIR="$W/ap" ASSETPORT_BIND=127.0.0.1:$P_AP ASSETPORT_CONFIG="$W/none.toml"
AP="${ASSETPORT_BIN:-$ROOT/target/release/assetport}"
echo 'bench password 123' | "$AP" user create --email admin@bench.example --name Admin --role admin --password-stdin >/dev/null
ADMIN=$("$AP" token create --email admin@bench.example --name bench)
"$AP" serve >/dev/null 2>&1 & AP_PID=$!; PIDS+=($AP_PID)
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$P_AP/healthz" >/dev/null && break; sleep 0.1; done
API="http://127.0.0.1:$P_AP/api/v1"
AUTH="Authorization: Bearer $ADMIN"
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
FOLDER=$(curl -sf -H "$AUTH" -H 'content-type: application/json' -d '{"name":"Bench"}' "$API/folders" | json '["id"]')

echo "== uploading and approving $ASSETS x 1 MiB"
for i in $(seq -w 1 "$ASSETS"); do head -c 1048576 /dev/urandom > "$W/files/photo-$i.jpg"; done
export API AUTH FOLDER
ls "$W/files" | xargs -P 4 -I{} sh -c '
  id=$(curl -sf -H "$AUTH" -F "file=@'"$W"'/files/{}" "$API/folders/$FOLDER/assets" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"id\"])")
  curl -sf -X POST -H "$AUTH" "$API/assets/$id/approve" >/dev/null
  echo "$id" >> '"$W"'/ids'
cat "$W"/files/*.jpg > "$W/www/same-size.zip"
rm -rf "$W/files"

FOLDER_LINK=$(curl -sf -H "$AUTH" -H 'content-type: application/json' -d "{\"folder_id\":\"$FOLDER\"}" "$API/links" | json '["url"]')
IDS50=$(head -50 "$W/ids" | python3 -c "import json,sys; print(json.dumps([l.strip() for l in sys.stdin]))")
PAGE_LINK=$(curl -sf -H "$AUTH" -H 'content-type: application/json' -d "{\"asset_ids\":$IDS50,\"title\":\"Fifty\"}" "$API/links" | json '["url"]')

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
RSS_BEFORE=$(rss_kib $AP_PID)

echo "== ZIP of $ASSETS MiB through the folder link (best of $RUNS)"
zip_ap=(); zip_ng=()
for i in $(seq 1 "$RUNS"); do
  zip_ng+=("$(curl -s -o /dev/null -w '%{speed_download}' "http://127.0.0.1:$P_NGINX/same-size.zip")")
  zip_ap+=("$(curl -s -o /dev/null -w '%{speed_download}' "$FOLDER_LINK/zip")")
done
# Both timed runs write to /dev/null (writing 1 GiB to disk timed the disk); one more, untimed,
# is kept and checked.
curl -sf -o "$W/out.zip" "$FOLDER_LINK/zip"
if [ -n "${PERF:-}" ]; then  # a CPU profile of one ZIP download, for bench/out/perf-zip.txt
  perf record -F 999 -g -p "$AP_PID" -o "$W/perf.data" -- sleep 30 >/dev/null 2>&1 & PERF_PID=$!
  sleep 0.5; curl -s -o /dev/null "$FOLDER_LINK/zip"; kill -INT $PERF_PID; wait $PERF_PID || true
  perf report -i "$W/perf.data" --no-children --percent-limit 1 --stdio -g none 2>/dev/null | grep "%" | head -40 > "$OUT/perf-zip.txt"
fi
python3 -c "import zipfile,sys; z=zipfile.ZipFile(sys.argv[1]); n=len(z.infolist()); assert n == int(sys.argv[2]), n" "$W/out.zip" "$ASSETS"
rm -f "$W/out.zip"
ZIP_HWM=$(hwm_kib $AP_PID)
ZIP_AP=$(printf '%s\n' "${zip_ap[@]}" | sort -n | tail -1)
ZIP_NG=$(printf '%s\n' "${zip_ng[@]}" | sort -n | tail -1)

echo "== landing page of a 50-asset link, wrk -c64 -d${WRK_SECONDS}s"
curl -sf -o "$W/www/landing.html" "$PAGE_LINK"
PAGE_BYTES=$(stat -c %s "$W/www/landing.html")
rps() { awk '/Requests\/sec/ {print $2}'; }
p99() { awk '$1 == "99%" {print $2}'; }
# The middle line by its first number: with "req/s p99" lines, the median round's two figures.
middle() { sort -n | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'; }
# Rounds alternate between the two, and each side's median round counts: on a shared 2-core
# machine back-to-back runs of the same server differ by ±20 %.
rounds_ng=(); rounds_ap=()  # "req/s p99" per round
rm -f "$OUT"/wrk-links-nginx*.txt "$OUT"/wrk-links-assetport*.txt
for i in $(seq 1 "$ROUNDS"); do
  wrk -t2 -c64 -d"${WRK_SECONDS}s" --latency "http://127.0.0.1:$P_NGINX/landing.html" > "$OUT/wrk-links-nginx-$i.txt"
  wrk -t2 -c64 -d"${WRK_SECONDS}s" --latency "$PAGE_LINK" > "$OUT/wrk-links-assetport-$i.txt"
  rounds_ng+=("$(rps < "$OUT/wrk-links-nginx-$i.txt") $(p99 < "$OUT/wrk-links-nginx-$i.txt")")
  rounds_ap+=("$(rps < "$OUT/wrk-links-assetport-$i.txt") $(p99 < "$OUT/wrk-links-assetport-$i.txt")")
done
read -r RPS_NG P99_NG <<<"$(printf '%s\n' "${rounds_ng[@]}" | middle)"
read -r RPS_AP P99_AP <<<"$(printf '%s\n' "${rounds_ap[@]}" | middle)"
if [ -n "${PROFILE:-}" ]; then  # where the time goes on the landing path
  EMPTY=$(curl -sf -H "$AUTH" -H 'content-type: application/json' -d '{"name":"Empty"}' "$API/folders" | json '["id"]')
  EMPTY_LINK=$(curl -sf -H "$AUTH" -H 'content-type: application/json' -d "{\"folder_id\":\"$EMPTY\"}" "$API/links" | json '["url"]')
  GATED=$(curl -sf -H "$AUTH" -H 'content-type: application/json' -d "{\"asset_ids\":$IDS50,\"password\":\"secret123\"}" "$API/links" | json '["url"]')
  echo "healthz: $(wrk -t2 -c64 -d5s "http://127.0.0.1:$P_AP/healthz" | rps) req/s"
  echo "password gate (token lookup, no list, no event): $(wrk -t2 -c64 -d5s "$GATED" | rps) req/s"
  echo "empty folder link (lookup + view event): $(wrk -t2 -c64 -d5s "$EMPTY_LINK" | rps) req/s"
fi
NON2XX=$(cat "$OUT"/wrk-links-assetport-*.txt | awk '/Non-2xx/ {n += $5} END {print n + 0}')  # "Non-2xx or 3xx responses: N"
END_HWM=$(hwm_kib $AP_PID)

ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
mbps() { python3 -c "print(f'{$1/1e6:.0f}')"; }
{
  echo "# Share links — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $ASSETS x 1 MiB"
  echo
  echo "| figure | assetport | reference | ratio | target |"
  echo "|---|---|---|---|---|"
  echo "| ZIP of $ASSETS x 1 MiB via link (MB/s) vs nginx one file of the same size | $(mbps "$ZIP_AP") | $(mbps "$ZIP_NG") | $(ratio "$ZIP_AP" "$ZIP_NG") | ≥ 0.7 |"
  echo "| peak server RSS while zipping (MiB) | $((ZIP_HWM / 1024)) | | | < 64 |"
  echo "| 50-asset landing page (req/s, wrk -c64) vs nginx static HTML of $PAGE_BYTES bytes | $RPS_AP | $RPS_NG | $(ratio "$RPS_AP" "$RPS_NG") | ≥ 0.25 |"
  echo "| p99 latency of the landing page | $P99_AP | $P99_NG | | |"
  echo
  echo "RSS at start of the runs: $((RSS_BEFORE / 1024)) MiB; after wrk: $((END_HWM / 1024)) MiB. Non-2xx under wrk: $NON2XX."
  echo "Runs: zip ${zip_ap[*]} vs ${zip_ng[*]} B/s; landing page (median of $ROUNDS alternating rounds; req/s and p99 each) ${rounds_ap[*]} vs ${rounds_ng[*]}."
} | tee "$OUT/links.md"
