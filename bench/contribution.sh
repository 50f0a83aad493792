#!/usr/bin/env bash
# Benchmark for issue 4: contribution, side by side in one run with dufs.
#  1. A BIG_MB upload through the resumable (tus) endpoint, cut at about half (the connection
#     is closed mid-body) and resumed with a second PATCH; the asset's sha256 is checked. Total
#     throughput (bytes / wall time of create + cut PATCH + HEAD + resume) vs `curl -T` of the
#     same file to dufs; peak server RSS.
#  2. `assetport upload` of a tree of FILES small files (files/s), then the same command again:
#     the re-run sends nothing and its time is compared with the first run's.
# Writes bench/out/contribution.md.
#
#   bash bench/contribution.sh                    # 1 GiB, 2000 files (default)
#   BIG_MB=256 FILES=500 bash bench/contribution.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="$ROOT/bench/out"; mkdir -p "$OUT"
BIG_MB=${BIG_MB:-1024}
FILES=${FILES:-2000}
P_AP=18201; P_DUFS=18203

command -v dufs >/dev/null || cargo install dufs --locked --quiet
[ -n "${ASSETPORT_BIN:-}" ] || cargo build --release --quiet   # ASSETPORT_BIN: a binary built already

W=$(mktemp -d /tmp/assetport-bench-contrib.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
mkdir -p "$W/dufs" "$W/tree"

dufs --allow-upload -b 127.0.0.1 -p $P_DUFS "$W/dufs" >/dev/null 2>&1 & PIDS+=($!)
export ASSETPORT_DATA_DIR="$W/ap" ASSETPORT_BIND=127.0.0.1:$P_AP ASSETPORT_CONFIG="$W/none.toml"
export ASSETPORT_MAX_UPLOAD_BYTES=$((BIG_MB * 1048576 + 1048576))
AP="${ASSETPORT_BIN:-$ROOT/target/release/assetport}"
echo 'bench password 123' | "$AP" user create --email admin@bench.example --name Admin --role admin --password-stdin >/dev/null
TOKEN=$("$AP" token create --email admin@bench.example --name bench)
"$AP" serve >"$W/server.log" 2>&1 & AP_PID=$!; PIDS+=($AP_PID)
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$P_AP/healthz" >/dev/null && curl -sf "http://127.0.0.1:$P_DUFS/" >/dev/null && break; sleep 0.1; done
API="http://127.0.0.1:$P_AP/api/v1"
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
FOLDER=$(curl -sf -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"name":"Bench"}' "$API/folders" | json '["id"]')
hwm_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

echo "== preparing ${BIG_MB} MiB"
head -c $((BIG_MB * 1048576)) /dev/urandom > "$W/big.bin"
SHA=$(sha256sum "$W/big.bin" | cut -d' ' -f1)
cat "$W/big.bin" > /dev/null  # both tools read from the page cache

echo "== dufs: curl -T"
DUFS_BPS=$(curl -s -o /dev/null -w '%{speed_upload}' -T "$W/big.bin" "http://127.0.0.1:$P_DUFS/big.bin")

echo "== assetport: tus create, PATCH cut at half, HEAD, resume"
RESULT=$(python3 - "$API" "$TOKEN" "$FOLDER" "$W/big.bin" <<'PY'
import base64, http.client, os, socket, sys, time, urllib.parse
api, token, folder, path = sys.argv[1:5]
size = os.path.getsize(path)
u = urllib.parse.urlparse(api)
b64 = lambda s: base64.b64encode(s.encode()).decode()
h = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
t0 = time.time()
c = http.client.HTTPConnection(u.hostname, u.port)
c.request("POST", u.path + "/tus", headers={**h, "Upload-Length": str(size),
          "Upload-Metadata": f"filename {b64('big.bin')},folder_id {b64(folder)}"})
r = c.getresponse(); r.read()
loc = urllib.parse.urlparse(r.getheader("Location")).path
half = size // 2
with open(path, "rb") as f:
    s = socket.create_connection((u.hostname, u.port))
    s.sendall((f"PATCH {loc} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
               f"Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
               f"Content-Type: application/offset+octet-stream\r\nContent-Length: {size}\r\n\r\n").encode())
    sent = 0
    while sent < half:
        chunk = f.read(min(1 << 20, half - sent)); s.sendall(chunk); sent += len(chunk)
    s.close()  # the cut
    offset = -1
    for _ in range(200):
        c = http.client.HTTPConnection(u.hostname, u.port)
        c.request("HEAD", loc, headers=h); r = c.getresponse(); r.read()
        offset = int(r.getheader("Upload-Offset"))
        if offset >= half - (4 << 20):  # what reached the server before the close
            break
        time.sleep(0.05)
    f.seek(offset)
    class Rest:
        def __init__(self, f, n): self.f, self.n = f, n
        def read(self, k=-1):
            k = self.n if k < 0 else min(k, self.n)
            d = self.f.read(k); self.n -= len(d); return d
    c = http.client.HTTPConnection(u.hostname, u.port, blocksize=1 << 20)
    c.request("PATCH", loc, body=Rest(f, size - offset), headers={**h, "Upload-Offset": str(offset),
              "Content-Type": "application/offset+octet-stream", "Content-Length": str(size - offset)})
    r = c.getresponse(); r.read()
    t1 = time.time()
    assert r.status == 204, r.status
    print(size / (t1 - t0), offset, r.getheader("Assetport-Asset-Id"))
PY
)
read -r AP_BPS CUT_AT ASSET <<<"$RESULT"
GOT=$(curl -sf -H "Authorization: Bearer $TOKEN" "$API/assets/$ASSET" | json '["sha256"]')
[ "$GOT" = "$SHA" ] || { echo "sha256 mismatch: $GOT vs $SHA"; exit 1; }
TUS_HWM=$(hwm_kib $AP_PID)
rm -f "$W/big.bin" "$W/dufs/big.bin"

echo "== assetport upload of $FILES small files"
python3 - "$W/tree" "$FILES" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, f"set-{i // 100:03d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"file-{i:05d}.jpg"), "wb") as f:
        f.write(os.urandom(2000 + (i * 37) % 20000))
PY
t() { python3 -c 'import time; print(time.time())'; }
T0=$(t); "$AP" upload "$W/tree" --server "http://127.0.0.1:$P_AP" --token "$TOKEN" --folder /Bench --parallel 8 --quiet | tee "$W/run1.txt"; T1=$(t)
"$AP" upload "$W/tree" --server "http://127.0.0.1:$P_AP" --token "$TOKEN" --folder /Bench --parallel 8 --quiet | tee "$W/run2.txt"; T2=$(t)
grep -q "0 uploaded" "$W/run2.txt" || { echo "the re-run uploaded something"; exit 1; }
END_HWM=$(hwm_kib $AP_PID)

py() { python3 -c "print($1)"; }
{
  echo "# Contribution — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
  echo
  echo "| figure | assetport | reference | ratio | target |"
  echo "|---|---|---|---|---|"
  echo "| ${BIG_MB} MiB via tus, cut at $((CUT_AT / 1048576)) MiB and resumed (MB/s, total) vs curl -T to dufs | $(py "f'{$AP_BPS/1e6:.0f}'") | $(py "f'{$DUFS_BPS/1e6:.0f}'") | $(py "f'{$AP_BPS/$DUFS_BPS:.2f}'") | ≥ 1.0 |"
  echo "| peak server RSS during the resumable upload (MiB) | $((TUS_HWM / 1024)) | | | < 64 |"
  echo "| assetport upload, $FILES small files (files/s) | $(py "f'{$FILES/($T1-$T0):.0f}'") | | | |"
  echo "| re-run that sends nothing, share of the first run's time | $(py "f'{($T2-$T1)/($T1-$T0):.3f}'") | | | < 0.10 |"
  echo
  echo "sha256 of the resumed upload matches. First run: $(cat "$W/run1.txt")"
  echo "Re-run: $(cat "$W/run2.txt"). Peak RSS at the end: $((END_HWM / 1024)) MiB."
} | tee "$OUT/contribution.md"
