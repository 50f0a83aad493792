#!/usr/bin/env bash
# Benchmark for issue 5: search over N assets (default 100,000) on the SQLite default.
# p50/p95 latency of GET /api/v1/search (a partner with view on every area, so the permission
# filter runs) against the same FTS5 query run directly on the database file, in one run;
# and (issue 21) searches with a misspelt word, which find nothing and then are corrected.
# Writes bench/out/search.md.
#
#   bash bench/search.sh                 # 100,000 assets
#   ASSETS=20000 bash bench/search.sh    # quicker
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="$ROOT/bench/out"; mkdir -p "$OUT"
ASSETS=${ASSETS:-100000}
ROUNDS=${ROUNDS:-20}
PORT=18195
[ -n "${ASSETPORT_BIN:-}" ] || cargo build --release --quiet   # ASSETPORT_BIN: a binary built already

W=$(mktemp -d /tmp/assetport-bench-search.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
export ASSETPORT_DATA_DIR="$W/ap" ASSETPORT_BIND=127.0.0.1:$PORT ASSETPORT_CONFIG="$W/none.toml" ASSETPORT_JOB_WORKERS=0
AP="${ASSETPORT_BIN:-$ROOT/target/release/assetport}"
"$AP" migrate >/dev/null
echo "== seeding $ASSETS assets"
AREAS=$(python3 bench/search_bench.py seed "$W/ap/assetport.db" "$ASSETS")
echo 'bench password 123' | "$AP" user create --email admin@bench.example --name Admin --role admin --password-stdin >/dev/null
echo 'bench password 123' | "$AP" user create --email partner@bench.example --name Partner --role member --password-stdin >/dev/null
ADMIN=$("$AP" token create --email admin@bench.example --name bench)
PARTNER=$("$AP" token create --email partner@bench.example --name bench)
"$AP" serve >/dev/null 2>&1 & PIDS+=($!)
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
API="http://127.0.0.1:$PORT/api/v1"
AUTH="Authorization: Bearer $ADMIN"
PARTNER_ID=$(curl -sf -H "$AUTH" "$API/users" | python3 -c "import json,sys; print([u['id'] for u in json.load(sys.stdin)['items'] if u['email']=='partner@bench.example'][0])")
GROUP=$(curl -sf -H "$AUTH" -H 'content-type: application/json' -d '{"name":"Partners"}' "$API/groups" | python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")
curl -sf -X PUT -H "$AUTH" "$API/groups/$GROUP/members/$PARTNER_ID" >/dev/null
for a in $(echo "$AREAS" | python3 -c "import json,sys; print(' '.join(json.load(sys.stdin)))"); do
  curl -sf -X PUT -H "$AUTH" -H 'content-type: application/json' -d '{"view":true,"download":true,"contribute":false}' "$API/folders/$a/grants/$GROUP" >/dev/null
done
echo "== indexing (the first search builds the rows of every new asset)"
T0=$(date +%s.%N)
curl -sf -H "Authorization: Bearer $PARTNER" "$API/search?q=harbour" >/dev/null
T1=$(date +%s.%N)
INDEX_S=$(python3 -c "print(round($T1 - $T0, 1))")
echo "== timing"
R=$(python3 bench/search_bench.py time "$PORT" "$PARTNER" "$W/ap/assetport.db" "$ROUNDS")
RSS=$(ps -o rss= -p "${PIDS[0]}" | awk '{print int($1/1024)}')
python3 - "$R" "$ASSETS" "$INDEX_S" "$RSS" > "$OUT/search.md" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); n = sys.argv[2]
print(f"# Search over {int(n):,} assets (SQLite, {len(r['hits'])} queries from common to rare words)\n")
print("| | p50 ms | p95 ms |")
print("|---|---|---|")
print(f"| GET /api/v1/search (partner, permission-filtered, JSON) | {r['api_p50_ms']:.2f} | {r['api_p95_ms']:.2f} |")
print(f"| same FTS5 MATCH directly on the database | {r['db_p50_ms']:.2f} | {r['db_p95_ms']:.2f} |")
print(f"| **ratio** (target <= 2.0) | **{r['api_p50_ms']/r['db_p50_ms']:.2f}** | **{r['api_p95_ms']/r['db_p95_ms']:.2f}** |")
print(f"| GET /api/v1/search with a misspelt word (nothing found, then corrected) | {r['typo_p50_ms']:.2f} | {r['typo_p95_ms']:.2f} |")
print(f"\nHits per query (visible to the partner; totals are exact up to 1,000): {r['hits']}")
print(f"\nMisspelt queries, hits after correction: {r['typo_hits']}; median ms: {r['typo_per_query_ms']}")
print(f"\nMedian per query, API ms: {r['api_per_query_ms']}")
print(f"\nMedian per query, database ms: {r['db_per_query_ms']}")
print(f"\nBuilding the search rows of all assets at first use: {sys.argv[3]} s; server RSS after: {sys.argv[4]} MiB.")
PY
cat "$OUT/search.md"
