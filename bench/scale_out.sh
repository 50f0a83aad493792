#!/usr/bin/env bash
# Benchmark for issue 6 (scale-out): several instances on one PostgreSQL database behind nginx,
# and S3 storage.
#  1. One vs two instances on this machine, one PostgreSQL database, one shared file:// blob
#     directory, behind a plain-HTTP nginx with the proxy settings of docs/deploy/nginx.conf:
#     (a) 100 KiB originals via the API (admin bearer token) and (b) the page of a share link
#     without password, under wrk. Also one instance without nginx, for reference.
#     Target: the second instance makes nothing slower (two/one >= ~0.95, given noise).
#  2. A big file on S3 (moto): download through assetport vs a plain GET of the very same
#     object from moto in the same run; whole file and a ranged GET. Target: >= 0.8.
# Every timed run also records the CPU each part spent (assetport, PostgreSQL, nginx, the
# client) and how much CPU other people's processes took meanwhile: on a shared 2-core machine
# the latter decides whether a difference is real. Before each run the script waits up to
# QUIET_WAIT seconds for the machine to be quiet.
# Prints tables and writes them to bench/out/scale_out.md (raw wrk output beside it).
#
#   bash bench/scale_out.sh                                      # defaults below, ~10 minutes
#   BIG_MB=64 WRK_SECONDS=5 ROUNDS=1 RUNS=2 bash bench/scale_out.sh  # quick run
#   ASSETPORT_BIN=/path/to/assetport bash bench/scale_out.sh     # skip the build
#   CARGO_TARGET_DIR=/work/target-bench bash bench/scale_out.sh  # build and look there
#   QUIET_WAIT=0 RETRIES=0 bash bench/scale_out.sh               # never wait for quiet
#
# Needs nginx, wrk, PostgreSQL (PG_URL, trust auth; a fresh database is created and dropped per
# run) and python3 with moto[server].
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="$ROOT/bench/out"; mkdir -p "$OUT"
BIG_MB=${BIG_MB:-256}           # the S3 file
RUNS=${RUNS:-5}                 # S3 downloads per variant (median)
ROUNDS=${ROUNDS:-3}             # wrk rounds; configurations alternate within a round
WRK_SECONDS=${WRK_SECONDS:-15}
WRK_CONNS=${WRK_CONNS:-64}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
DB="bench_scale_$$"

command -v nginx >/dev/null && command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq nginx-light wrk >/dev/null; }
python3 -c 'import moto.server' 2>/dev/null || { echo "python3 -m pip install 'moto[server]'" >&2; exit 1; }
NGINX=$(command -v nginx)

# The binary: ASSETPORT_BIN as given, else a release build like the other bench scripts
# (cargo itself honours CARGO_TARGET_DIR, so a build beside someone else's debug builds in
# ./target does not wait for their lock).
if [ -n "${ASSETPORT_BIN:-}" ]; then
  AP=$ASSETPORT_BIN
else
  cargo build --release --quiet
  AP="${CARGO_TARGET_DIR:-$ROOT/target}/release/assetport"
fi
[ -x "$AP" ] || { echo "no assetport binary at $AP" >&2; exit 1; }

W=$(mktemp -d /tmp/assetport-bench-scale.XXXXXX); chmod 755 "$W"  # nginx workers run as another user
PIDS=()
NGINX_CONFS=()
cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for c in "${NGINX_CONFS[@]}"; do "$NGINX" -p "$W/nginx" -c "$c" -s stop 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$W"
}
trap cleanup EXIT
mkdir -p "$W/nginx/logs" "$W/files"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
wait_up() {  # wait_up URL [any]: until it answers 2xx/3xx (with "any": answers at all)
  local f=-sf; [ "${2:-}" = any ] && f=-s
  for _ in $(seq 1 100); do curl $f -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "$1 did not come up" >&2; exit 1
}
median() { python3 -c 'import sys,statistics; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
mbps() { python3 -c "print(f'{$1/1e6:.0f}')"; }
hwm_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

# CPU accounting. This machine is shared (someone may be running cargo builds), so each timed
# run reports
#  - how busy the machine was, and how much of it went to processes that are not part of the
#    benchmark: "foreign" = process CPU + steal (/proc/stat) minus everything below. Interrupt
#    time (loopback TCP is mostly softirq, charged to no process) counts as busy, not foreign.
#    A throughput taken while foreign CPU was high is noise, not a property of assetport.
#  - the CPU each part of the benchmark spent: the assetport instances, nginx, PostgreSQL (the
#    backends of this run's database and the server's background processes), the client (wrk,
#    curl: this shell's children, from `times`), moto, and kernel threads (mostly the file
#    system writing WAL and logs). Divided by the requests served, this is what a request
#    costs, which other people's builds change far less than they change requests/s.
ticks_all() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $9}' /proc/stat; }  # busy, tasks + steal
our_pids() {  # "pid part" lines
  local p c m
  for p in "${PIDS[@]}"; do
    c=$(cat "/proc/$p/comm" 2>/dev/null) || continue
    case $c in assetport) echo "$p assetport" ;; *) echo "$p moto" ;; esac
  done
  for c in "${NGINX_CONFS[@]}"; do
    if m=$(cat "$c.pid" 2>/dev/null); then echo "$m nginx"; pgrep -P "$m" | sed 's/$/ nginx/'; fi
  done
  psql -tA "$PG_URL/postgres" -c "SELECT pid, 'postgres' FROM pg_stat_activity WHERE datname = '$DB' OR backend_type <> 'client backend'" | tr '|' ' '
  ps -o pid= --ppid 2 | sed 's/$/ kernel/'
}
declare -A PART
snap() {  # snap ARRAY: pid -> utime + stime (ticks) of our processes; PART: pid -> part
  local -n m=$1; m=()
  local p part t
  while read -r p part; do
    t=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) && { m[$p]=$t; PART[$p]=$part; }
  done < <(our_pids)
}
# This shell's reaped children's user + sys, in ticks: `times` must run in this very shell (a
# subshell starts from zero), so it writes to a file that is then parsed.
children_ticks() {
  awk 'NR == 2 {for (i = 1; i <= 2; i++) {split($i, a, "m"); sub("s", "", a[2]); s += a[1] * 60 + a[2]} printf "%d\n", s * 100}' "$W/times"
}
declare -A OURS0 OURS1 SPENT
cpu_begin() { snap OURS0; times >"$W/times"; C0=$(children_ticks); read -r B0 K0 < <(ticks_all); T0=$(date +%s.%N); }
cpu_end() {  # sets BUSY and FOREIGN (% of all cores) and SPENT[part] (ticks) since cpu_begin
  local t1 b1 k1 c1 ours=0 p d
  # The machine's clock and counters first, then ours: ours then cover at least the same span.
  t1=$(date +%s.%N); read -r b1 k1 < <(ticks_all); times >"$W/times"; c1=$(children_ticks); snap OURS1
  SPENT=([assetport]=0 [nginx]=0 [postgres]=0 [moto]=0 [kernel]=0 [client]=$(( c1 - C0 )))
  for p in "${!OURS1[@]}"; do
    d=$(( OURS1[$p] - ${OURS0[$p]:-0} )); ours=$(( ours + d )); SPENT[${PART[$p]}]=$(( SPENT[${PART[$p]}] + d ))
  done
  read -r BUSY FOREIGN < <(python3 -c "
cap = $(nproc) * ($t1 - $T0) * 100
print(f'{100 * ($b1 - $B0) / cap:.0f} {max(0, 100 * ($k1 - $K0 - $ours - ($c1 - $C0)) / cap):.0f}')")
}
# Before a timed run: wait (up to QUIET_WAIT seconds) for a 2-second window in which other
# people's processes used at most QUIET_PCT % of the machine. The runs say how quiet it stayed.
QUIET_WAIT=${QUIET_WAIT:-60}; QUIET_PCT=${QUIET_PCT:-10}; RETRIES=${RETRIES:-2}
wait_quiet() {
  local until=$(( SECONDS + QUIET_WAIT ))
  while [ "$SECONDS" -lt "$until" ]; do
    cpu_begin; sleep 2; cpu_end
    [ "$FOREIGN" -le "$QUIET_PCT" ] && return 0
  done
  echo "   (not quiet: $FOREIGN% foreign CPU; running anyway)"
}

P_A=$(free_port); P_B=$(free_port); P_NG1=$(free_port); P_NG2=$(free_port)
P_D=$(free_port); P_E=$(free_port); P_NG6=$(free_port)
P_S3=$(free_port); P_C=$(free_port); P_NG3=$(free_port); P_NG4=$(free_port); P_NG5=$(free_port)

psql -q "$PG_URL/postgres" -c "CREATE DATABASE $DB" >/dev/null
DB_URL="$PG_URL/$DB"

# What every instance shares: the database (sessions, the link secret, throttles, jobs) and,
# in part 1, the blob directory. Each has its own data dir (outbox, temp files).
export ASSETPORT_DATABASE_URL="$DB_URL" ASSETPORT_CONFIG="$W/none.toml" ASSETPORT_TRUSTED_PROXIES=127.0.0.1
export ASSETPORT_STORAGE="file://$W/blobs"
# Links are made to be visited through the proxy.
export ASSETPORT_PUBLIC_URL="http://127.0.0.1:$P_NG2"
export RUST_LOG=${RUST_LOG:-assetport=warn}
ASSETPORT_DATA_DIR="$W/a" "$AP" migrate >/dev/null
echo 'bench password 123' | ASSETPORT_DATA_DIR="$W/a" "$AP" user create --email admin@bench.example --name Admin --role admin --password-stdin >/dev/null
ADMIN=$(ASSETPORT_DATA_DIR="$W/a" "$AP" token create --email admin@bench.example --name bench)
AUTH="Authorization: Bearer $ADMIN"

# start_instance NAME PORT [VAR=value...]: runs `assetport serve` in the background; its pid
# lands in PID_<NAME>. Output goes to a log kept for the error report below.
start_instance() {
  local name=$1 port=$2; shift 2
  env ASSETPORT_DATA_DIR="$W/$name" ASSETPORT_BIND="127.0.0.1:$port" "$@" "$AP" serve >"$W/$name.log" 2>&1 &
  PIDS+=($!); printf -v "PID_$name" '%s' $!
  wait_up "http://127.0.0.1:$port/readyz"
}

# nginx_conf FILE PORT UPSTREAM_PORT...: plain HTTP with the proxy settings of
# docs/deploy/nginx.conf (streamed bodies both ways, HTTP/1.1 keep-alive to the instances,
# least_conn). The access log names the instance that answered, to check the balance.
# NGINX_EXTRA, if set, adds directives to the http block (a variant under test).
nginx_conf() {
  local file=$1 port=$2; shift 2
  {
    cat <<NGINX
worker_processes auto;
pid $file.pid;
error_log $W/nginx/logs/error.log;
events { worker_connections 4096; }
http {
  log_format up '\$status \$upstream_addr';
  access_log $file.access.log up buffer=256k flush=1s;
  client_max_body_size 0;
  proxy_request_buffering off;
  proxy_buffering off;
  proxy_buffer_size 256k; proxy_buffers 4 256k; proxy_busy_buffers_size 256k;
  proxy_http_version 1.1;
  ${NGINX_EXTRA:-}
  upstream assetport {
    least_conn;
NGINX
    for p in "$@"; do echo "    server 127.0.0.1:$p max_fails=3 fail_timeout=10s;"; done
    cat <<NGINX
    keepalive 64;
  }
  server {
    listen 127.0.0.1:$port;
    location / {
      proxy_pass http://assetport;
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout http_502 http_503;
    }
  }
}
NGINX
  } >"$file"
  "$NGINX" -p "$W/nginx" -c "$file"
  NGINX_CONFS+=("$file")
  wait_up "http://127.0.0.1:$port/" any
}

# ============================ part 1: one vs two instances ===================================
echo "== part 1: instances A (:$P_A) and B (:$P_B) on database $DB, shared file storage"
start_instance A "$P_A"
start_instance B "$P_B"
# The same two instances, each sized for half of this machine (one runtime worker thread
# instead of one per core): how an operator would split one box, and a check on whether the
# two-instance figure is about routing or about oversubscribing 2 cores with 2 x 2 threads.
start_instance D "$P_D" TOKIO_WORKER_THREADS=1
start_instance E "$P_E" TOKIO_WORKER_THREADS=1
# Two proxies side by side rather than a reload between runs, so the runs can alternate (and
# B runs, idle, during the one-instance runs: the comparison is about routing, not about a
# second process's background work).
nginx_conf "$W/nginx/one.conf" "$P_NG1" "$P_A"
nginx_conf "$W/nginx/two.conf" "$P_NG2" "$P_A" "$P_B"
nginx_conf "$W/nginx/split.conf" "$P_NG6" "$P_D" "$P_E"

API="http://127.0.0.1:$P_A/api/v1"
FOLDER=$(curl -sf -H "$AUTH" -H 'content-type: application/json' -d '{"name":"Bench"}' "$API/folders" | json '["id"]')
head -c $((100 * 1024)) /dev/urandom >"$W/files/small.bin"
SMALL_ID=$(curl -sf -H "$AUTH" -F "file=@$W/files/small.bin" "$API/folders/$FOLDER/assets" | json '["id"]')
curl -sf -X POST -H "$AUTH" "$API/assets/$SMALL_ID/approve" >/dev/null
# A link to that one asset, no password: the page is the gallery itself.
LINK_URL=$(curl -sf -H "$AUTH" -H 'content-type: application/json' -d "{\"asset_ids\":[\"$SMALL_ID\"]}" "$API/links" | json '["url"]')
LINK_PATH=${LINK_URL#http://*/}   # "s/<token>"

# Both instances must serve the same bytes and the same link before anything is timed.
for p in "$P_A" "$P_B" "$P_NG1" "$P_NG2" "$P_NG6"; do
  curl -sf -H "$AUTH" "http://127.0.0.1:$p/api/v1/assets/$SMALL_ID/original" | cmp -s - "$W/files/small.bin" \
    || { echo "port $p: the original differs" >&2; exit 1; }
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p/$LINK_PATH")" = 200 ] \
    || { echo "port $p: the link page is not 200" >&2; exit 1; }
done

# run_wrk LABEL URL [wrk args]: one wrk run saved to bench/out/scale_out-wrk-LABEL-rROUND.txt.
# Prints req/s; wrk's counts of non-2xx/3xx responses and socket errors are collected.
declare -A RPS NON2XX SOCKERR CPU COST
REPEATED=""
run_wrk() {
  local label=$1 url=$2; shift 2
  local f="$OUT/scale_out-wrk-$label-r$ROUND.txt" n part rps attempt=0
  while :; do
    wait_quiet
    cpu_begin
    wrk -t2 -c"$WRK_CONNS" -d"${WRK_SECONDS}s" --latency "$@" "$url" >"$f"
    cpu_end
    rps=$(awk '/Requests\/sec/ {print $2}' "$f")
    echo "   $label: $rps req/s (machine busy $BUSY%, foreign $FOREIGN%)"
    # Errors count whether or not the run is kept.
    # "  Non-2xx or 3xx responses: N" and "  Socket errors: connect N, read N, write N, timeout N"
    NON2XX[$label]=$(( ${NON2XX[$label]:-0} + $(awk '/Non-2xx/ {n = $5} END {print n + 0}' "$f") ))
    SOCKERR[$label]=$(( ${SOCKERR[$label]:-0} + $(awk '/Socket errors/ {for (i = 4; i <= NF; i += 2) n += $i} END {print n + 0}' "$f") ))
    # A run that others' processes disturbed is repeated (up to RETRIES times) and reported.
    if [ "$FOREIGN" -le "$QUIET_PCT" ] || [ "$attempt" -ge "$RETRIES" ]; then break; fi
    attempt=$(( attempt + 1 )); REPEATED+="$label $rps req/s at $FOREIGN% foreign; "
  done
  RPS[$label]+="$rps "
  CPU[$label]+="$BUSY/$FOREIGN "
  # CPU per request of each part, in microseconds (ticks are 10 ms).
  n=$(awk '/requests in/ {print $1}' "$f")
  for part in assetport postgres nginx client kernel; do
    COST[$label:$part]+="$(( SPENT[$part] * 10000 / n )) "
  done
}

# Warm up (page cache, connection pools, prepared statements) without keeping the figures.
wrk -t2 -c"$WRK_CONNS" -d3s -H "$AUTH" "http://127.0.0.1:$P_NG2/api/v1/assets/$SMALL_ID/original" >/dev/null
wrk -t2 -c"$WRK_CONNS" -d3s "http://127.0.0.1:$P_NG2/$LINK_PATH" >/dev/null
wrk -t2 -c"$WRK_CONNS" -d3s -H "$AUTH" "http://127.0.0.1:$P_NG6/api/v1/assets/$SMALL_ID/original" >/dev/null
wrk -t2 -c"$WRK_CONNS" -d3s "http://127.0.0.1:$P_NG6/$LINK_PATH" >/dev/null
sleep 1.5; for f in "$W"/nginx/*.access.log; do : >"$f"; done  # count only the timed runs

for ROUND in $(seq 1 "$ROUNDS"); do
  echo "== round $ROUND/$ROUNDS: wrk -t2 -c$WRK_CONNS -d${WRK_SECONDS}s, downloads then link pages"
  # Each round starts with another configuration, so a drift (the events table growing,
  # someone's build starting) does not always hit the same one.
  CFGS=(direct one two split); CFGS=("${CFGS[@]:$(( (ROUND - 1) % 4 ))}" "${CFGS[@]:0:$(( (ROUND - 1) % 4 ))}")
  for cfg in "${CFGS[@]}"; do
    case $cfg in direct) port=$P_A ;; one) port=$P_NG1 ;; two) port=$P_NG2 ;; split) port=$P_NG6 ;; esac
    run_wrk "dl-$cfg" "http://127.0.0.1:$port/api/v1/assets/$SMALL_ID/original" -H "$AUTH"
  done
  for cfg in "${CFGS[@]}"; do
    case $cfg in direct) port=$P_A ;; one) port=$P_NG1 ;; two) port=$P_NG2 ;; split) port=$P_NG6 ;; esac
    run_wrk "link-$cfg" "http://127.0.0.1:$port/$LINK_PATH"
  done
done
HWM_A=$(hwm_kib "$PID_A"); HWM_B=$(hwm_kib "$PID_B")

# How nginx spread the two-instance runs (its log is flushed every second), and every status
# it logged that was not 200, with the instance it came from.
sleep 1.5
SPREAD=$(awk -v a="127.0.0.1:$P_A" -v b="127.0.0.1:$P_B" '
  $2 == a {na++} $2 == b {nb++} END {printf "A %d, B %d", na, nb}' "$W/nginx/two.conf.access.log")
NGINX_STATUS=$(cat "$W"/nginx/*.access.log | awk -v a="127.0.0.1:$P_A" -v b="127.0.0.1:$P_B" '
  $1 != 200 {sub(a, "A", $2); sub(b, "B", $2); n[$1 " from " $2]++}
  END {for (k in n) printf "%s%d x %s", (i++ ? ", " : ""), n[k], k; if (!i) printf "none"}')
EVENTS=$(psql -tA "$DB_URL" -c "SELECT kind || ' ' || count(*) FROM events WHERE kind IN ('download','link_view') GROUP BY kind ORDER BY kind" | paste -sd ',' -)
ERRS_AB=$(cat "$W/A.log" "$W/B.log" | grep -ci 'error\|panic' || true)

kill "$PID_A" "$PID_B" "$PID_D" "$PID_E"; wait "$PID_A" "$PID_B" "$PID_D" "$PID_E" 2>/dev/null || true

# ================================ part 2: S3 on moto =========================================
echo "== part 2: moto S3 on :$P_S3, instance C (:$P_C) with s3:// storage, ${BIG_MB} MiB file"
python3 -m moto.server -H 127.0.0.1 -p "$P_S3" >"$W/moto.log" 2>&1 & PIDS+=($!)
S3="http://127.0.0.1:$P_S3"
wait_up "$S3/"
BUCKET="bench-scale-$$"
curl -sf -X PUT "$S3/$BUCKET" >/dev/null
# Same database (token and folder carry over); part 1's blobs are not in this bucket, and
# nothing below reads them.
start_instance C "$P_C" ASSETPORT_STORAGE="s3://$BUCKET/assets" \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL="$S3"
nginx_conf "$W/nginx/s3.conf" "$P_NG3" "$P_C"
# (The 256k proxy buffers of docs/deploy/nginx.conf matter here: with proxy_buffering off and
# the default buffer, nginx relays a response in 4 KiB reads and writes, at 0.36 of direct.)
# For reference, what relaying costs on this machine whoever relays: the same nginx in front of
# moto itself.
nginx_conf "$W/nginx/moto.conf" "$P_NG5" "$P_S3"
API="http://127.0.0.1:$P_C/api/v1"

head -c $((BIG_MB * 1024 * 1024)) /dev/urandom >"$W/files/big.bin"
BIG_SHA=$(sha256sum "$W/files/big.bin" | cut -d' ' -f1)
UP_SPEED=$(curl -sf -o "$W/up.json" -w '%{speed_upload}' -H "$AUTH" -F "file=@$W/files/big.bin" "$API/folders/$FOLDER/assets")
BIG_ID=$(json '["id"]' <"$W/up.json")
curl -sf -X POST -H "$AUTH" "$API/assets/$BIG_ID/approve" >/dev/null
HWM_C_UP=$(hwm_kib "$PID_C")
KEY=$(psql -tA "$DB_URL" -c "SELECT v.blob_key FROM assets a JOIN asset_versions v ON v.id = a.current_version_id WHERE a.id = '$BIG_ID'")
# The very object assetport wrote (moto answers unsigned requests): same size, listed in the bucket.
OBJ="$S3/$BUCKET/assets/$KEY"
OBJ_SIZE=$(curl -sfI "$OBJ" | awk 'tolower($1) == "content-length:" {print $2+0}')
[ "$OBJ_SIZE" = $((BIG_MB * 1024 * 1024)) ] || { echo "object $KEY: size $OBJ_SIZE" >&2; exit 1; }
curl -sf "$S3/$BUCKET?list-type=2&prefix=assets/$KEY" | grep -q "<Key>assets/$KEY</Key>" || { echo "$KEY not listed" >&2; exit 1; }
# And assetport serves exactly what was uploaded (untimed).
GOT_SHA=$(curl -sf -H "$AUTH" "$API/assets/$BIG_ID/original" | sha256sum | cut -d' ' -f1)
[ "$GOT_SHA" = "$BIG_SHA" ] || { echo "download differs from upload" >&2; exit 1; }

# A range from the middle (a resume or a video seek), and a small one (per-request overhead).
MID=$((BIG_MB * 1024 * 1024 / 3))
RANGE_BIG="bytes=$MID-$((MID + BIG_MB * 1024 * 1024 / 4 - 1))"
RANGE_SMALL="bytes=$MID-$((MID + 1024 * 1024 - 1))"
for r in "$RANGE_BIG" "$RANGE_SMALL"; do
  cmp -s <(curl -sf -H "$AUTH" -H "Range: $r" "$API/assets/$BIG_ID/original") <(curl -sf -H "Range: $r" "$OBJ") \
    || { echo "range $r differs between assetport and S3" >&2; exit 1; }
done

# Each variant RUNS times, interleaved so moto's and the machine's drift hit all alike;
# curl writes to /dev/null (timing a disk would time the disk).
declare -A SPEED TIME S3CPU
get() {  # get LABEL URL [curl args]
  local label=$1 url=$2; shift 2
  local res speed secs bytes part
  cpu_begin
  res=$(curl -sf -o /dev/null -w '%{speed_download} %{time_total} %{size_download}' "$@" "$url")
  cpu_end
  read -r speed secs bytes <<<"$res"
  SPEED[$label]+="$speed "; TIME[$label]+="$secs "; S3CPU[$label:foreign]+="$FOREIGN "
  # CPU seconds per GiB moved, for each part (ticks are 10 ms).
  for part in assetport moto nginx client; do
    S3CPU[$label:$part]+="$(python3 -c "print(${SPENT[$part]} / 100 / ($bytes / 2**30))") "
  done
}
for i in $(seq 1 "$RUNS"); do
  wait_quiet
  echo "   run $i/$RUNS"
  get full-s3 "$OBJ"
  get full-ap "$API/assets/$BIG_ID/original" -H "$AUTH"
  get full-ng "http://127.0.0.1:$P_NG3/api/v1/assets/$BIG_ID/original" -H "$AUTH"
  get full-relay "http://127.0.0.1:$P_NG5/$BUCKET/assets/$KEY"
  get rbig-s3 "$OBJ" -H "Range: $RANGE_BIG"
  get rbig-ap "$API/assets/$BIG_ID/original" -H "$AUTH" -H "Range: $RANGE_BIG"
  for _ in 1 2 3; do  # small ranges are quick: a few more samples
    get rsmall-s3 "$OBJ" -H "Range: $RANGE_SMALL"
    get rsmall-ap "$API/assets/$BIG_ID/original" -H "$AUTH" -H "Range: $RANGE_SMALL"
  done
done
HWM_C=$(hwm_kib "$PID_C")
ERRS_C=$(grep -ci 'error\|panic' "$W/C.log" || true)

# ================================== summary ==================================================
med() { median ${1}; }
row_rps() {  # row_rps WORKLOAD LABEL-PREFIX
  local d o t h; d=$(med "${RPS[$2-direct]}"); o=$(med "${RPS[$2-one]}"); t=$(med "${RPS[$2-two]}"); h=$(med "${RPS[$2-split]}")
  local n=$(( NON2XX[$2-direct] + NON2XX[$2-one] + NON2XX[$2-two] + NON2XX[$2-split] ))
  local s=$(( SOCKERR[$2-direct] + SOCKERR[$2-one] + SOCKERR[$2-two] + SOCKERR[$2-split] ))
  printf '| %s | %.0f | %.0f | %.0f | **%s** | %.0f | **%s** | %s / %s |\n' "$1" "$d" "$o" "$t" "$(ratio "$t" "$o")" "$h" "$(ratio "$h" "$o")" "$n" "$s"
}
row_s3() {  # row_s3 WHAT LABEL-AP LABEL-S3 TARGET
  local a s; a=$(med "${SPEED[$2]}"); s=$(med "${SPEED[$3]}")
  printf '| %s | %s | %s | **%s** | %s |\n' "$1" "$(mbps "$a")" "$(mbps "$s")" "$(ratio "$a" "$s")" "$4"
}
row_cost() {  # row_cost LABEL WHAT: CPU per request of each part, medians over the rounds
  local part out=""
  for part in assetport postgres nginx client kernel; do out+="$(printf '%.0f' "$(med "${COST[$1:$part]}")") | "; done
  printf '| %s | %.0f | %s%s |\n' "$2" "$(med "${RPS[$1]}")" "$out" "${CPU[$1]% }"
}
row_s3cost() {  # row_s3cost LABEL WHAT
  local part out=""
  for part in assetport moto nginx client; do out+="$(printf '%.2f' "$(med "${S3CPU[$1:$part]}")") | "; done
  printf '| %s | %s%s |\n' "$2" "$out" "${S3CPU[$1:foreign]% }"
}
ms() { python3 -c "print(f'{$1*1000:.1f}')"; }
{
  echo "# Scale-out — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, PostgreSQL $(psql -tA "$DB_URL" -c 'SHOW server_version'), $(nginx -v 2>&1 | sed 's/.*: //')"
  echo
  echo "## One vs two instances (one PostgreSQL database, shared file storage, through nginx)"
  echo
  echo "wrk -t2 -c$WRK_CONNS -d${WRK_SECONDS}s, median of $ROUNDS rounds (req/s). Everything (wrk, nginx, the instances, PostgreSQL) shares the $(nproc) cores."
  echo
  echo "| workload | 1 instance, no nginx | nginx → 1 instance | nginx → 2 instances | two / one (target ≥ 0.95) | nginx → 2 instances, 1 thread each | split / one (target ≥ 0.95) | non-2xx / socket errors |"
  echo "|---|---|---|---|---|---|---|---|"
  row_rps "100 KiB original via API (bearer token)" dl
  row_rps "share link page /s/{token}, no password" link
  echo
  echo "Two-instance runs, requests per instance (nginx log): $SPREAD. Statuses other than 200 in nginx's logs of the timed runs: $NGINX_STATUS (499: wrk closing its connections at the end of a run with requests in flight). Events written: $EVENTS."
  echo "Peak RSS: A $((HWM_A / 1024)) MiB, B $((HWM_B / 1024)) MiB. Error lines in the instance logs: $((ERRS_AB))."
  echo "Runs repeated because others' processes took more than $QUIET_PCT% of the machine: ${REPEATED:-none}."
  echo "Runs (req/s): $(for k in dl-direct dl-one dl-two dl-split link-direct link-one link-two link-split; do printf '%s: %s; ' "$k" "${RPS[$k]% }"; done)"
  echo
  echo "Where the time goes: CPU per request (µs, medians over the rounds) of each part, and how busy the machine was / how much of it went to other people's processes during each run (%). Per-request CPU is the figure least disturbed by others' load."
  echo
  echo "| run | req/s | assetport µs | PostgreSQL µs | nginx µs | wrk µs | kernel threads µs | busy / foreign % per round |"
  echo "|---|---|---|---|---|---|---|---|"
  row_cost dl-direct "download, 1 instance, no nginx"
  row_cost dl-one "download, nginx → 1"
  row_cost dl-two "download, nginx → 2"
  row_cost dl-split "download, nginx → 2 (1 thread each)"
  row_cost link-direct "link page, 1 instance, no nginx"
  row_cost link-one "link page, nginx → 1"
  row_cost link-two "link page, nginx → 2"
  row_cost link-split "link page, nginx → 2 (1 thread each)"
  echo
  echo "## S3 (moto) downloads, ${BIG_MB} MiB object, median of $RUNS"
  echo
  echo "| figure | assetport (MB/s) | same object straight from moto (MB/s) | assetport / direct | target |"
  echo "|---|---|---|---|---|"
  row_s3 "whole file, instance directly" full-ap full-s3 "≥ 0.8"
  row_s3 "whole file, through nginx (settings of docs/deploy/nginx.conf)" full-ng full-s3 "(no target: nginx relaying moto alone, next row, is the ceiling)"
  row_s3 "reference: nginx (256k buffers) relaying moto, no assetport" full-relay full-s3 ""
  row_s3 "Range: $((BIG_MB / 4)) MiB from byte $MID" rbig-ap rbig-s3 "≥ 0.8"
  row_s3 "Range: 1 MiB from byte $MID ($((RUNS * 3)) runs)" rsmall-ap rsmall-s3 ""
  echo
  echo "1 MiB range, median time: assetport $(ms "$(med "${TIME[rsmall-ap]}")") ms, moto $(ms "$(med "${TIME[rsmall-s3]}")") ms."
  echo "Upload of the ${BIG_MB} MiB file (multipart POST into S3): $(mbps "$UP_SPEED") MB/s. Peak RSS of the S3 instance: $((HWM_C_UP / 1024)) MiB after the upload, $((HWM_C / 1024)) MiB after the downloads. Error lines in its log: $((ERRS_C))."
  echo
  echo "CPU seconds per GiB moved (medians), and foreign CPU % during each run:"
  echo
  echo "| run | assetport | moto | nginx | curl | foreign % per run |"
  echo "|---|---|---|---|---|---|"
  row_s3cost full-s3 "whole file, straight from moto"
  row_s3cost full-ap "whole file, assetport"
  row_s3cost full-ng "whole file, nginx → assetport"
  row_s3cost full-relay "whole file, nginx (256k buffers) → moto"
  row_s3cost rbig-s3 "$((BIG_MB / 4)) MiB range, straight from moto"
  row_s3cost rbig-ap "$((BIG_MB / 4)) MiB range, assetport"
  echo
  echo "Runs (MB/s): $(for k in full-ap full-ng full-relay full-s3 rbig-ap rbig-s3; do printf '%s: %s; ' "$k" "$(for v in ${SPEED[$k]}; do mbps "$v"; done | paste -sd' ')"; done)"
} | tee "$OUT/scale_out.md"
