#!/usr/bin/env bash
# Benchmark for issue 2: downloads and uploads through assetport's API, side by side in one run
# with reference tools on the same files (nginx with sendfile for downloads, dufs for uploads).
# Prints a table of figures and ratios and writes it to bench/out/download_upload.md.
#
#   bash bench/download_upload.sh            # 1 GiB big file (default)
#   BIG_MB=256 bash bench/download_upload.sh # quicker run
#
# Installs nginx and wrk from Debian's packages and dufs with cargo when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="$ROOT/bench/out"; mkdir -p "$OUT"
BIG_MB=${BIG_MB:-1024}
RUNS=${RUNS:-3}
WRK_SECONDS=${WRK_SECONDS:-10}
ROUNDS=${ROUNDS:-3}
P_AP=18181; P_NGINX=18182; P_DUFS=18183

install() {
  command -v nginx >/dev/null && command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq nginx-light wrk >/dev/null || apt-get install -y -qq nginx wrk >/dev/null; }
  command -v dufs >/dev/null || cargo install dufs --locked --quiet
}
install
[ -n "${ASSETPORT_BIN:-}" ] || cargo build --release --quiet   # ASSETPORT_BIN: a binary built already

W=$(mktemp -d /tmp/assetport-bench.XXXXXX); chmod 755 "$W"  # nginx workers run as another user
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; nginx -p "$W/nginx" -c "$W/nginx/nginx.conf" -s stop 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT

echo "== preparing ${BIG_MB} MiB and 100 KiB files in $W"
mkdir -p "$W/www" "$W/dufs" "$W/nginx/logs"
head -c $((BIG_MB * 1024 * 1024)) /dev/urandom > "$W/www/big.bin"
head -c $((100 * 1024)) /dev/urandom > "$W/www/small.bin"

# --- reference: nginx with sendfile -------------------------------------------------------
cat > "$W/nginx/nginx.conf" <<NGINX
worker_processes auto;
pid $W/nginx/nginx.pid;
error_log $W/nginx/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on; tcp_nopush on;
  server { listen 127.0.0.1:$P_NGINX; root $W/www; }
}
NGINX
nginx -p "$W/nginx" -c "$W/nginx/nginx.conf"

# --- reference: dufs with uploads ---------------------------------------------------------
dufs --allow-upload -b 127.0.0.1 -p $P_DUFS "$W/dufs" >/dev/null 2>&1 & PIDS+=($!)

# --- assetport ------------------------------------------------------------------------------
export ASSETPORT_DATA_DIR="$W/ap" ASSETPORT_BIND=127.0.0.1:$P_AP ASSETPORT_CONFIG="$W/none.toml"
AP="${ASSETPORT_BIN:-$ROOT/target/release/assetport}"
echo 'bench password 123' | "$AP" user create --email admin@bench.example --name Admin --role admin --password-stdin >/dev/null
echo 'bench password 123' | "$AP" user create --email partner@bench.example --name Partner --password-stdin >/dev/null
ADMIN=$("$AP" token create --email admin@bench.example --name bench)
PARTNER=$("$AP" token create --email partner@bench.example --name bench)
"$AP" serve >/dev/null 2>&1 & AP_PID=$!; PIDS+=($AP_PID)
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$P_AP/healthz" >/dev/null && break; sleep 0.1; done
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$P_DUFS/" >/dev/null && break; sleep 0.1; done
API="http://127.0.0.1:$P_AP/api/v1"
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
FOLDER=$(curl -sf -H "Authorization: Bearer $ADMIN" -H 'content-type: application/json' -d '{"name":"Bench"}' "$API/folders" | json '["id"]')
GROUP=$(curl -sf -H "Authorization: Bearer $ADMIN" -H 'content-type: application/json' -d '{"name":"Partners"}' "$API/groups" | json '["id"]')
PARTNER_ID=$(curl -sf -H "Authorization: Bearer $ADMIN" "$API/users" | python3 -c "import json,sys; print([u['id'] for u in json.load(sys.stdin)['items'] if u['email']=='partner@bench.example'][0])")
curl -sf -X PUT -H "Authorization: Bearer $ADMIN" "$API/groups/$GROUP/members/$PARTNER_ID" >/dev/null
curl -sf -X PUT -H "Authorization: Bearer $ADMIN" -H 'content-type: application/json' -d '{"view":true,"download":true}' "$API/folders/$FOLDER/grants/$GROUP" >/dev/null

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mbps() { python3 -c "print(f'{$1/1e6:.0f}')"; }

# --- upload: 1 big file -----------------------------------------------------------------------
echo "== upload ${BIG_MB} MiB (best of $RUNS)"
RSS_BEFORE=$(rss_kib $AP_PID)
up_ap=(); up_dufs=()
for i in $(seq 1 "$RUNS"); do
  up_dufs+=("$(curl -s -o /dev/null -w '%{speed_upload}' -T "$W/www/big.bin" "http://127.0.0.1:$P_DUFS/big$i.bin")")
  rm -f "$W/dufs/big$i.bin"
  up_ap+=("$(curl -s -o "$W/up.json" -w '%{speed_upload}' -H "Authorization: Bearer $ADMIN" -F "file=@$W/www/big.bin" "$API/folders/$FOLDER/assets")")
done
UP_HWM=$(hwm_kib $AP_PID)
BIG_ID=$(json '["id"]' < "$W/up.json")
curl -sf -X POST -H "Authorization: Bearer $ADMIN" "$API/assets/$BIG_ID/approve" >/dev/null
UP_AP=$(printf '%s\n' "${up_ap[@]}" | sort -n | tail -1)
UP_DUFS=$(printf '%s\n' "${up_dufs[@]}" | sort -n | tail -1)

# --- download: 1 big file ---------------------------------------------------------------------
echo "== download ${BIG_MB} MiB (best of $RUNS)"
dl_ap=(); dl_ng=()
for i in $(seq 1 "$RUNS"); do
  dl_ng+=("$(curl -s -o /dev/null -w '%{speed_download}' "http://127.0.0.1:$P_NGINX/big.bin")")
  dl_ap+=("$(curl -s -o /dev/null -w '%{speed_download}' -H "Authorization: Bearer $PARTNER" "$API/assets/$BIG_ID/original")")
done
DL_AP=$(printf '%s\n' "${dl_ap[@]}" | sort -n | tail -1)
DL_NG=$(printf '%s\n' "${dl_ng[@]}" | sort -n | tail -1)
DL_HWM=$(hwm_kib $AP_PID)

# --- small files under wrk -c64 ------------------------------------------------------------------
echo "== 100 KiB downloads, wrk -c64 -d${WRK_SECONDS}s"
SMALL_ID=$(curl -sf -H "Authorization: Bearer $ADMIN" -F "file=@$W/www/small.bin" "$API/folders/$FOLDER/assets" | json '["id"]')
curl -sf -X POST -H "Authorization: Bearer $ADMIN" "$API/assets/$SMALL_ID/approve" >/dev/null
rps() { awk '/Requests\/sec/ {print $2}'; }
# Rounds alternate between the two, and each side's median counts: on a shared 2-core machine
# back-to-back runs of the same server differ by ±20 %.
: >"$OUT/wrk-nginx.txt"; : >"$OUT/wrk-assetport.txt"
rps_ng=(); rps_ap=()
for i in $(seq 1 "$ROUNDS"); do
  rps_ng+=("$(wrk -t2 -c64 -d"${WRK_SECONDS}s" "http://127.0.0.1:$P_NGINX/small.bin" | tee -a "$OUT/wrk-nginx.txt" | rps)")
  rps_ap+=("$(wrk -t2 -c64 -d"${WRK_SECONDS}s" -H "Authorization: Bearer $PARTNER" "$API/assets/$SMALL_ID/original" | tee -a "$OUT/wrk-assetport.txt" | rps)")
done
RPS_NG=$(printf '%s\n' "${rps_ng[@]}" | median)
RPS_AP=$(printf '%s\n' "${rps_ap[@]}" | median)
if [ -n "${PROFILE:-}" ]; then  # where the time goes: same auth and access, no file, no event
  echo "healthz: $(wrk -t2 -c64 -d5s "http://127.0.0.1:$P_AP/healthz" | rps) req/s"
  echo "asset JSON: $(wrk -t2 -c64 -d5s -H "Authorization: Bearer $PARTNER" "$API/assets/$SMALL_ID" | rps) req/s"
  echo "resume from byte 1 (no event): $(wrk -t2 -c64 -d5s -H 'Range: bytes=1-' -H "Authorization: Bearer $PARTNER" "$API/assets/$SMALL_ID/original" | rps) req/s"
fi
NON2XX=$(awk '/Non-2xx/ {n += $5} END {print n + 0}' "$OUT/wrk-assetport.txt")  # "Non-2xx or 3xx responses: N"
END_HWM=$(hwm_kib $AP_PID)

ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
{
  echo "# Downloads and uploads — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, ${BIG_MB} MiB file"
  echo
  echo "| figure | assetport | reference | ratio | target |"
  echo "|---|---|---|---|---|"
  echo "| download ${BIG_MB} MiB (MB/s), partner via API vs nginx sendfile | $(mbps "$DL_AP") | $(mbps "$DL_NG") | $(ratio "$DL_AP" "$DL_NG") | ≥ 0.8 |"
  echo "| 100 KiB downloads (req/s, wrk -c64) vs nginx | ${RPS_AP} | ${RPS_NG} | $(ratio "${RPS_AP}" "${RPS_NG}") | ≥ 0.3 |"
  echo "| upload ${BIG_MB} MiB (MB/s), multipart vs curl -T to dufs | $(mbps "$UP_AP") | $(mbps "$UP_DUFS") | $(ratio "$UP_AP" "$UP_DUFS") | ≥ 1.0 |"
  echo "| peak server RSS after uploads (MiB) | $((UP_HWM / 1024)) | | | < 64 |"
  echo "| peak server RSS after downloads and wrk (MiB) | $((END_HWM / 1024)) | | | |"
  echo
  echo "RSS at start: $((RSS_BEFORE / 1024)) MiB. Non-2xx responses under wrk: ${NON2XX}."
  echo "Runs: upload ${up_ap[*]} vs ${up_dufs[*]} B/s; download ${dl_ap[*]} vs ${dl_ng[*]} B/s; 100 KiB (median of $ROUNDS alternating rounds) ${rps_ap[*]} vs ${rps_ng[*]} req/s."
} | tee "$OUT/download_upload.md"
