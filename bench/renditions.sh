#!/usr/bin/env bash
# Benchmark for renditions: N photo-like 6000x4000 JPEGs (q90, a few MB each, generated once
# with vips into bench/out/cache/), rendered side by side in one run by
#   (a) vipsthumbnail --size 512 (libvips + libjpeg-turbo, shrink-on-load), and
#   (b) assetport render --input f --out d (the whole job: 1500 px preview + 320 px thumb +
#       metadata, in the confined child process the server runs, environment as the server
#       gives it),
# and, for download presets, a 1600 px Web JPEG by `assetport render --preset-max 1600` against
# vipsthumbnail --size 1600,
# both P files at a time (xargs -P). Best of RUNS for each. Prints images/s, the ratio
# (target >= 1.0) and the peak RSS of one render child, and writes bench/out/renditions.md.
#
#   bash bench/renditions.sh                  # 20 images, 2 at a time, best of 3
#   N=8 RUNS=1 bash bench/renditions.sh       # quicker
#
# Installs libvips-tools from Debian's packages when vipsthumbnail is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="$ROOT/bench/out"; mkdir -p "$OUT"
N=${N:-20}
P=${P:-2}
RUNS=${RUNS:-3}
CACHE="$OUT/cache/renditions-6000x4000"; mkdir -p "$CACHE"

command -v vipsthumbnail >/dev/null || { apt-get update -qq && apt-get install -y -qq libvips-tools >/dev/null; }
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
[ -n "${ASSETPORT_BIN:-}" ] || cargo build --release --quiet   # ASSETPORT_BIN: a binary built already
AP="${ASSETPORT_BIN:-$ROOT/target/release/assetport}"

# --- photo-like test images ------------------------------------------------------------------
# Three octaves of Perlin noise per channel (large soft shapes, mid-size structure, fine
# texture) plus a little Gaussian sensor noise: compresses like a photo (about 6.5 MB at q90),
# neither flat colour nor pure noise.
generate() {
  local seed=$1 out=$2 t w=6000 h=4000
  t=$(mktemp -d "${TMPDIR:-/tmp}/renditions-gen.XXXXXX")
  for b in 0 1 2; do
    vips perlin "$t/p1.v" $w $h --cell-size 1500 --seed $((seed * 10 + b))
    vips perlin "$t/p2.v" $w $h --cell-size 300 --seed $((seed * 10 + b + 100))
    vips perlin "$t/p3.v" $w $h --cell-size 40 --seed $((seed * 10 + b + 200))
    vips linear "$t/p1.v" "$t/q1.v" 110 128
    vips linear "$t/p2.v" "$t/q2.v" 45 0
    vips linear "$t/p3.v" "$t/q3.v" 14 0
    vips add "$t/q1.v" "$t/q2.v" "$t/s.v"
    vips add "$t/s.v" "$t/q3.v" "$t/b$b.v"
    rm -f "$t"/p?.v "$t"/q?.v "$t/s.v"
  done
  vips bandjoin "$t/b0.v $t/b1.v $t/b2.v" "$t/rgb.v"
  vips gaussnoise "$t/n.v" $w $h --sigma 5 --mean 0
  vips add "$t/rgb.v" "$t/n.v" "$t/rgbn.v"
  vips cast "$t/rgbn.v" "$t/u.v" uchar
  vips copy "$t/u.v" "$t/c.v" --interpretation srgb
  vips jpegsave "$t/c.v" "$out.part" --Q 90
  mv "$out.part" "$out"
  rm -rf "$t"
}
export -f generate
missing=()
for i in $(seq 1 "$N"); do [ -s "$CACHE/photo-$i.jpg" ] || missing+=("$i"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== generating ${#missing[@]} photo-like 6000x4000 JPEGs into $CACHE (once)"
  printf '%s\n' "${missing[@]}" | TMPDIR=$( [ -d /dev/shm ] && echo /dev/shm || echo /tmp ) \
    xargs -P "$P" -I{} bash -c "generate {} '$CACHE/photo-{}.jpg'"
fi
FILES=()
for i in $(seq 1 "$N"); do FILES+=("$CACHE/photo-$i.jpg"); done
MB=$(du -cm "${FILES[@]}" | tail -1 | cut -f1)
cat "${FILES[@]}" >/dev/null  # page cache warm for both

W=$(mktemp -d /tmp/assetport-bench-renditions.XXXXXX)
trap 'rm -rf "$W"' EXIT

now() { date +%s.%N; }
per_s() { python3 -c "print(f'{$N/($2-$1):.2f}')"; }

run_vips() {
  rm -rf "$W/vips"; mkdir -p "$W/vips"
  printf '%s\n' "${FILES[@]}" | xargs -P "$P" -I{} vipsthumbnail {} --size 512 -o "$W/vips/%s.jpg"
}
# The server's child environment: only PATH and MALLOC_ARENA_MAX (media::render_in_child).
render_one() {
  local f=$1 d
  d="$W/ours/$(basename "$f" .jpg)"; mkdir -p "$d"
  env -i PATH="$PATH" MALLOC_ARENA_MAX=2 "$AP" render --input "$f" --out "$d" >"$d/report.json"
}
export -f render_one; export W AP
run_ours() {
  rm -rf "$W/ours"; mkdir -p "$W/ours"
  printf '%s\n' "${FILES[@]}" | xargs -P "$P" -I{} bash -c 'render_one {}'
}

# Download presets (issue 21): the Web JPEG (1600 px) made on demand, the way the server makes
# it (assetport render --preset-max 1600 in the confined child), against vipsthumbnail --size
# 1600 for the same files. Target: at most 1.5x vips' time.
web_one() {
  local f=$1 d
  d="$W/web/$(basename "$f" .jpg)"; mkdir -p "$d"
  env -i PATH="$PATH" MALLOC_ARENA_MAX=2 "$AP" render --preset-max 1600 --input "$f" --out "$d" >"$d/report.json"
}
export -f web_one
run_vips_web() {
  rm -rf "$W/vweb"; mkdir -p "$W/vweb"
  printf '%s\n' "${FILES[@]}" | xargs -P "$P" -I{} vipsthumbnail {} --size 1600 -o "$W/vweb/%s.jpg"
}
run_ours_web() {
  rm -rf "$W/web"; mkdir -p "$W/web"
  printf '%s\n' "${FILES[@]}" | xargs -P "$P" -I{} bash -c 'web_one {}'
}

echo "== $N images ($MB MB), $P at a time, best of $RUNS"
vips_rates=(); our_rates=()
for r in $(seq 1 "$RUNS"); do
  t0=$(now); run_vips; t1=$(now); vips_rates+=("$(per_s "$t0" "$t1")")
  t0=$(now); run_ours; t1=$(now); our_rates+=("$(per_s "$t0" "$t1")")
  echo "  run $r: vips ${vips_rates[-1]} img/s, assetport ${our_rates[-1]} img/s"
done
web_vips=(); web_ours=()
for r in $(seq 1 "$RUNS"); do
  t0=$(now); run_vips_web; t1=$(now); web_vips+=("$(per_s "$t0" "$t1")")
  t0=$(now); run_ours_web; t1=$(now); web_ours+=("$(per_s "$t0" "$t1")")
  echo "  web preset run $r: vips ${web_vips[-1]} img/s, assetport ${web_ours[-1]} img/s"
done
WEB_VIPS=$(printf '%s\n' "${web_vips[@]}" | sort -g | tail -1)
WEB_OURS=$(printf '%s\n' "${web_ours[@]}" | sort -g | tail -1)
for f in "${FILES[@]}"; do
  d="$W/web/$(basename "$f" .jpg)"
  [ -s "$d/preset.jpg" ] && grep -q '"preview":\[1600,1067\]' "$d/report.json" \
    || { echo "web preset of $f failed: $(cat "$d/report.json")" >&2; exit 1; }
done
WEB_KB=$(( $(stat -c %s "$W/web/photo-1/preset.jpg") / 1024 ))
VWEB_KB=$(( $(stat -c %s "$W/vweb/photo-1.jpg") / 1024 ))
VIPS=$(printf '%s\n' "${vips_rates[@]}" | sort -g | tail -1)
OURS=$(printf '%s\n' "${our_rates[@]}" | sort -g | tail -1)

# Every job must have produced both renditions and a report that says so.
for f in "${FILES[@]}"; do
  d="$W/ours/$(basename "$f" .jpg)"
  [ -s "$d/thumb.jpg" ] && [ -s "$d/preview.jpg" ] && grep -q '"rendered":true' "$d/report.json" \
    || { echo "render of $f failed: $(cat "$d/report.json")" >&2; exit 1; }
done
SIZES=$(python3 -c "import json; r=json.load(open('$W/ours/photo-1/report.json')); print(f\"preview {r['preview'][0]}x{r['preview'][1]}, thumb {r['thumb'][0]}x{r['thumb'][1]}\")")
PREVIEW_KB=$(( $(stat -c %s "$W/ours/photo-1/preview.jpg") / 1024 ))

# Peak RSS (KiB) of one render child, and of one vipsthumbnail for reference.
mkdir -p "$W/rss"
RSS_OURS=$(env -i PATH="$PATH" MALLOC_ARENA_MAX=2 /usr/bin/time -f %M "$AP" render --input "${FILES[0]}" --out "$W/rss" 2>&1 >/dev/null | tail -1)
RSS_VIPS=$(/usr/bin/time -f %M vipsthumbnail "${FILES[0]}" --size 512 -o "$W/rss/v.jpg" 2>&1 >/dev/null | tail -1)

ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
{
  echo "# Renditions — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $N JPEGs of 6000x4000 ($MB MB), $P at a time"
  echo
  echo "| figure | assetport render | vipsthumbnail --size 512 | ratio | target |"
  echo "|---|---|---|---|---|"
  echo "| throughput (images/s, best of $RUNS) | $OURS | $VIPS | $(ratio "$OURS" "$VIPS") | ≥ 1.0 |"
  echo "| peak RSS of one process (MiB) | $((RSS_OURS / 1024)) | $((RSS_VIPS / 1024)) | | |"
  echo
  echo "| Web JPEG preset, made on demand | assetport render --preset-max 1600 | vipsthumbnail --size 1600 | time ratio (ours / vips) | target |"
  echo "|---|---|---|---|---|"
  echo "| throughput (images/s, best of $RUNS) | $WEB_OURS | $WEB_VIPS | $(ratio "$WEB_VIPS" "$WEB_OURS") | ≤ 1.5 |"
  echo "| file size of photo-1 (KiB) | $WEB_KB (q86) | $VWEB_KB (vips default q75) | | |"
  echo
  echo "assetport writes $SIZES (preview $PREVIEW_KB KiB) plus metadata per image; vips writes one 512 px thumbnail."
  echo "Runs (img/s): assetport ${our_rates[*]}; vips ${vips_rates[*]}. Web preset runs: assetport ${web_ours[*]}; vips ${web_vips[*]}."
} | tee "$OUT/renditions.md"
