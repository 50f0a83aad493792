#!/usr/bin/env bash
# Runs every fuzz target for FUZZ_SECONDS (default 600), JOBS at a time (default 2), each from
# its seeds (fuzz/seeds/<target>, committed) plus the corpus it has grown (fuzz/corpus, not
# committed). A crash leaves its input in fuzz/artifacts/<target>/ and fails the run; such an
# input becomes a regression test (see fuzz/README.md).
#
#   bash fuzz/run.sh                    # all six, 10 minutes each, two at a time
#   FUZZ_SECONDS=60 bash fuzz/run.sh range multipart
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
set -uo pipefail
cd "$(dirname "$0")"
SECONDS_EACH=${FUZZ_SECONDS:-600}
JOBS=${JOBS:-2}
TARGETS=("$@"); [ ${#TARGETS[@]} -gt 0 ] || TARGETS=(sanitize range multipart search_query zip_names disposition)
mkdir -p logs
cargo +nightly fuzz build -O >/dev/null || exit 1
run_one() {
  local t=$1
  mkdir -p "corpus/$t" "seeds/$t"
  cargo +nightly fuzz run -O "$t" "corpus/$t" "seeds/$t" -- -max_total_time="$SECONDS_EACH" >"logs/$t.log" 2>&1
  local rc=$?
  echo "$t: $(grep -E '^Done' "logs/$t.log" | tail -1) exit $rc"
  return $rc
}
failed=0
running=0
for t in "${TARGETS[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then wait -n || failed=1; running=$((running - 1)); fi
done
while [ "$running" -gt 0 ]; do wait -n || failed=1; running=$((running - 1)); done
[ "$failed" -eq 0 ] && echo "no crashes" || { echo "CRASHES: see fuzz/artifacts and fuzz/logs"; exit 1; }
