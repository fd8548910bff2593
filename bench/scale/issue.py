#!/usr/bin/env python3
"""Issues N licenses through the admin API with W workers (keep-alive
connections), writes the keys to a file, one a line, and prints
"issued <n> in <seconds>"."""
import http.client, json, sys, threading, time

base_port, admin_key, n, workers, out = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
keys = [None] * n
errors = []

def work(w):
    c = http.client.HTTPConnection("127.0.0.1", base_port, timeout=60)
    h = {"Authorization": f"Bearer {admin_key}", "Content-Type": "application/json"}
    body = json.dumps({"product_slug": "scale"})
    for i in range(w, n, workers):
        c.request("POST", "/v1/admin/licenses", body, h)
        r = c.getresponse()
        data = r.read()
        if r.status != 201:
            errors.append((r.status, data[:200]))
            return
        keys[i] = json.loads(data)["license_key"]

t0 = time.monotonic()
ts = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
for t in ts: t.start()
for t in ts: t.join()
dt = time.monotonic() - t0
if errors:
    sys.exit(f"issue: {errors[0]}")
with open(out, "w") as f:
    f.write("\n".join(keys) + "\n")
print(f"issued {n} in {dt:.3f}")
