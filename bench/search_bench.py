"""Search benchmark driver (bench/search.sh): seeds N assets straight into the SQLite file,
then times the same queries through GET /api/v1/search (a partner with view grants) and
directly on the database (the FTS5 MATCH that the API's query is built around)."""
import http.client
import json
import random
import sqlite3
import statistics
import sys
import time
import uuid

WORDS = """harbour dawn lighthouse tulip field spring summer winter autumn poster banner flyer
catalogue brochure retail window display campaign launch product bottle label shelf store
coffee tea chocolate cake bread cheese wine beer juice water city street bridge river mountain
forest beach ocean island desert snow rain storm cloud sunset sunrise night morning portrait
landscape studio team office meeting handshake laptop phone tablet screen logo icon badge
pattern texture gradient colour red blue green yellow orange purple black white silver gold
bicycle car train plane boat ship truck bus road airport station market garden flower tree
leaf stone wood metal glass paper fabric leather cotton wool silk denim shoe bag hat coat
dress shirt jacket watch ring necklace bracelet glasses perfume cream soap towel chair table
sofa lamp kitchen bathroom bedroom living dining terrace balcony pool gym yoga run football
tennis golf ski surf climb hike camp festival concert museum gallery theatre cinema library
school university hospital hotel restaurant bar cafe bakery butcher pharmacy bank post""".split()


def zipf_words(rng, n):
    # Word i is chosen with weight 1/(i+1): a few common words, a long tail of rare ones.
    weights = [1 / (i + 1) for i in range(len(WORDS))]
    return rng.choices(WORDS, weights=weights, k=n)


def seed(db_path, n):
    rng = random.Random(42)
    con = sqlite3.connect(db_path)
    con.execute("PRAGMA journal_mode=WAL")
    now = int(time.time() * 1000)
    areas = []
    folders = []
    for a in range(10):
        fid = uuid.uuid4().hex
        areas.append(fid)
        con.execute(
            "INSERT INTO folders (id, parent_id, name, path, id_path, created_at) VALUES (?,?,?,?,?,?)",
            (fid, None, f"Area {a}", f"/Area {a}", f"/{fid}/", now),
        )
        for s in range(10):
            sid = uuid.uuid4().hex
            name = rng.choice(WORDS).title() + f" {s}"
            con.execute(
                "INSERT INTO folders (id, parent_id, name, path, id_path, created_at) VALUES (?,?,?,?,?,?)",
                (sid, fid, name, f"/Area {a}/{name}", f"/{fid}/{sid}/", now),
            )
            folders.append(sid)
    rows_a, rows_v = [], []
    for i in range(n):
        aid, vid = uuid.uuid4().hex, uuid.uuid4().hex
        title = " ".join(zipf_words(rng, 4)).capitalize()
        desc = " ".join(zipf_words(rng, 12))
        kw = ", ".join(sorted(set(zipf_words(rng, 3))))
        fname = f"IMG_{i:06d}.jpg"
        folder = rng.choice(folders)
        status = "approved" if rng.random() < 0.9 else "draft"
        created = now - rng.randint(0, 3 * 365 * 24 * 3600 * 1000)
        rows_a.append((aid, folder, fname, status, title, desc, kw, vid,
                       vid if status == "approved" else None, created, created))
        rows_v.append((vid, aid, 1, f"originals/xx/{vid}", "0" * 64, 1000, "image/jpeg", fname, created,
                       rng.choice([3000, 4000]), rng.choice([2000, 3000, 4000])))
    con.executemany(
        "INSERT INTO assets (id, folder_id, filename, status, title, description, keywords, "
        "current_version_id, approved_version_id, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        rows_a)
    con.executemany(
        "INSERT INTO asset_versions (id, asset_id, number, blob_key, sha256, size, media_type, filename, "
        "created_at, width, height, render_state) VALUES (?,?,?,?,?,?,?,?,?,?,?,'none')", rows_v)
    # The seeded versions need no renditions (their bytes do not exist).
    con.execute("DELETE FROM jobs")
    con.commit()
    return areas


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def time_api(port, token, queries, rounds):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    lat = []
    hits = {}
    per = {q: [] for q in queries}
    for _ in range(rounds):
        for q in queries:
            t = time.perf_counter()
            conn.request("GET", f"/api/v1/search?q={q}", headers={"Authorization": f"Bearer {token}"})
            r = conn.getresponse()
            body = r.read()
            lat.append(time.perf_counter() - t)
            per[q].append(lat[-1])
            assert r.status == 200, body[:200]
            j = json.loads(body)
            hits[q] = f"{j['total']}+" if j.get("total_capped") else j["total"]
    return lat, hits, {q: round(statistics.median(v) * 1000, 1) for q, v in per.items()}


def time_db(db_path, queries, rounds):
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    lat = []
    per = {q: [] for q in queries}
    for _ in range(rounds):
        for q in queries:
            t = time.perf_counter()
            con.execute(
                "SELECT s.asset_id FROM asset_fts JOIN asset_search s ON s.rid = asset_fts.rowid "
                "WHERE asset_fts MATCH ? ORDER BY bm25(asset_fts) LIMIT 49", (f'"{q}"*',)).fetchall()
            lat.append(time.perf_counter() - t)
            per[q].append(lat[-1])
    return lat, {q: round(statistics.median(v) * 1000, 1) for q, v in per.items()}


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "seed":
        print(json.dumps(seed(sys.argv[2], int(sys.argv[3]))))
    elif cmd == "time":
        port, token, db_path, rounds = int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
        # Common, middling and rare words: selectivity from ~20% down to a handful of assets.
        queries = [WORDS[i] for i in (0, 1, 3, 7, 15, 30, 60, 100, 130, 160)]
        time_api(port, token, queries, 1)  # warm up
        api, hits, api_per = time_api(port, token, queries, rounds)
        db, db_per = time_db(db_path, queries, rounds)
        # Issue 21: misspelt words find nothing, so the correction runs (the fallback path),
        # alone and beside a correct word.
        typos = ["harbuor", "lighthuose", "sunst", "chocolat", "bakry", "tulip%20feild", "qqqqzz"]
        time_api(port, token, typos, 1)
        fix, fix_hits, fix_per = time_api(port, token, typos, max(1, rounds // 2))
        out = {
            "hits": hits, "api_per_query_ms": api_per, "db_per_query_ms": db_per,
            "api_p50_ms": statistics.median(api) * 1000, "api_p95_ms": percentile(api, 95) * 1000,
            "db_p50_ms": statistics.median(db) * 1000, "db_p95_ms": percentile(db, 95) * 1000,
            "typo_hits": fix_hits, "typo_per_query_ms": fix_per,
            "typo_p50_ms": statistics.median(fix) * 1000, "typo_p95_ms": percentile(fix, 95) * 1000,
        }
        print(json.dumps(out))
