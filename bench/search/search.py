"""Fills a Keysat database with licenses and times every search form (see run.sh)."""
import http.client
import json
import random
import sqlite3
import string
import sys
import time
import urllib.parse
import uuid

ALPHABET = string.ascii_uppercase + "234567"


P = 2**256 - 2**32 - 977


def npub_hex(rnd):
    """A random x-only public key: an x on secp256k1 (x^3 + 7 a square mod p)."""
    while True:
        x = rnd.getrandbits(256)
        if x < P and pow((x**3 + 7) % P, (P - 1) // 2, P) == 1:
            return "%064x" % x


def fill(db_path, n):
    db = sqlite3.connect(db_path)
    product, policy = db.execute("SELECT product_id, id FROM policies").fetchone()
    now = int(time.time())
    rnd = random.Random(16)
    licenses, invoices, machines = [], [], []
    for i in range(n):
        lid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        key = "KS2-" + "".join(rnd.choice(ALPHABET) for _ in range(140))
        sold = i % 2 == 0
        inv = str(uuid.UUID(int=rnd.getrandbits(128), version=4)) if sold else None
        npub = npub_hex(rnd) if i % 3 == 0 else None
        licenses.append((lid, product, policy, key, now - n + i, f"buyer{i}@example{i % 97}.com", npub,
                         f"note {i} about customer {rnd.getrandbits(40):x}", f"fp-{i:08d}" if i % 5 == 0 else None,
                         "purchase" if sold else "admin", inv))
        if sold:
            invoices.append((inv, product, policy, f"prov-{i:08d}", now - n + i))
        if i % 2 == 1:
            machines.append((str(uuid.uuid4()), lid, f"seat-{i:08d}", f"host-{i:08d}", now - n + i))
    db.executemany(
        "INSERT INTO licenses (id, product_id, policy_id, license_key, status, issued_at, buyer_email, buyer_npub, note, "
        "fingerprint, source, invoice_id, created_at, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, 'active', ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?5, ?5)", licenses)
    db.executemany(
        "INSERT INTO invoices (id, product_id, policy_id, status, provider, provider_invoice_id, amount_sats, "
        "base_price_sats, created_at, updated_at, settled_at) "
        "VALUES (?1, ?2, ?3, 'settled', 'btcpay', ?4, 1000, 1000, ?5, ?5, ?5)", invoices)
    db.executemany(
        "INSERT INTO machines (id, license_id, fingerprint, hostname, activated_at, last_seen_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?5)", machines)
    db.commit()
    print(f"filled: {n} licenses, {len(invoices)} invoices, {len(machines)} machines")


def forms(db, rnd):
    """One search of each form, for a random license: (form, term, license id)."""
    i = rnd.randrange(0, db.execute("SELECT count(*) FROM licenses").fetchone()[0])
    row = db.execute("SELECT id, license_key, buyer_email, buyer_npub, note, fingerprint, invoice_id "
                     "FROM licenses ORDER BY rowid LIMIT 1 OFFSET ?", (i,)).fetchone()
    lid, key, email, npub, note, fp, inv = row
    out = [("license id", lid), ("id prefix", lid[:8]), ("whole key", key), ("key fragment", key[60:74]),
           ("e-mail part", email.split("@")[0] + "@"), ("note text", note.split(" about ")[1])]
    if npub:
        out.append(("npub hex", npub))
    if fp:
        out.append(("bound fingerprint", fp))
    if inv:
        prov = db.execute("SELECT provider_invoice_id FROM invoices WHERE id = ?", (inv,)).fetchone()[0]
        out += [("invoice id", inv), ("provider invoice id", prov)]
    m = db.execute("SELECT fingerprint, hostname FROM machines WHERE license_id = ?", (lid,)).fetchone()
    if m:
        out += [("seat fingerprint", m[0]), ("hostname", m[1].upper())]
    return [(f, t, lid) for f, t in out]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def measure(db_path, base, key, rounds):
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    rnd = random.Random(7)
    conn = http.client.HTTPConnection(urllib.parse.urlparse(base).netloc)
    headers = {"Authorization": f"Bearer {key}"}
    times = {}
    for _ in range(rounds):
        for form, term, lid in forms(db, rnd):
            t0 = time.perf_counter()
            conn.request("GET", "/v1/admin/licenses/search?q=" + urllib.parse.quote(term), headers=headers)
            r = conn.getresponse()
            body = r.read()
            ms = (time.perf_counter() - t0) * 1000
            found = [l["license_id"] for l in json.loads(body)["licenses"]]
            if r.status != 200 or lid not in found:
                sys.exit(f"bench: {form} {term!r} did not find {lid}: {r.status} {body[:200]!r}")
            times.setdefault(form, []).append(ms)
    every = [t for ts in times.values() for t in ts]
    for form, ts in sorted(times.items()):
        print(f"{form:20} n={len(ts):4}  p50={pct(ts, .5):7.2f} ms  p99={pct(ts, .99):7.2f} ms")
    print(f"{'all forms':20} n={len(every):4}  p50={pct(every, .5):7.2f} ms  p99={pct(every, .99):7.2f} ms")
    customers(db, conn, headers, rnd, max(10, rounds // 10))


def customers(db, conn, headers, rnd, rounds):
    """The customers' list, a search and one customer's page (grouped on each request)."""
    def get(path):
        t0 = time.perf_counter()
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        body = json.loads(r.read())
        if r.status != 200:
            sys.exit(f"bench: {path}: {r.status} {body}")
        return (time.perf_counter() - t0) * 1000, body
    n = db.execute("SELECT count(*) FROM licenses").fetchone()[0]
    times = {"customers page": [], "customer search": [], "customer details": []}
    for _ in range(rounds):
        ms, _ = get("/v1/admin/customers?limit=50")
        times["customers page"].append(ms)
        i = rnd.randrange(0, n)
        email = db.execute("SELECT buyer_email FROM licenses ORDER BY rowid LIMIT 1 OFFSET ?", (i,)).fetchone()[0]
        ms, body = get("/v1/admin/customers?q=" + urllib.parse.quote(email))
        times["customer search"].append(ms)
        found = body["customers"]
        if not found:
            sys.exit(f"bench: customer {email} not found")
        ms, _ = get("/v1/admin/customers/" + urllib.parse.quote(found[0]["customer_id"]))
        times["customer details"].append(ms)
    for form, ts in times.items():
        print(f"{form:20} n={len(ts):4}  p50={pct(ts, .5):7.2f} ms  p99={pct(ts, .99):7.2f} ms")


if __name__ == "__main__":
    if sys.argv[1] == "fill":
        fill(sys.argv[2], int(sys.argv[3]))
    else:
        measure(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
