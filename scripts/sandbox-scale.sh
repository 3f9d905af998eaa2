#!/usr/bin/env bash
# Scale figures for the sandbox API server (issue 3, acceptance 5). Prints, does not assert:
#   - time to store N pods (default 10,000) through the HTTP API
#   - time to list all N pods (server answer, measured by the client, best of 5)
#   - 100 concurrent watches: all of them see one change
#   - resident memory (VmRSS) of the sandbox process holding N objects
# Usage: scripts/sandbox-scale.sh [N]     (BIN=path/to/driftdeck to pick a build;
#        default: target/release/driftdeck if built, else target/debug/driftdeck;
#        SIM=1 runs the workload simulator too, which turns every pod Running and writes
#        events about it; by default the API server is measured alone: --time-scale 0)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-10000}"
BIN="${BIN:-}"
if [[ -z "$BIN" ]]; then
  if [[ -x target/release/driftdeck ]]; then BIN=target/release/driftdeck; else BIN=target/debug/driftdeck; fi
fi
[[ -x "$BIN" ]] || { echo "no driftdeck binary at $BIN: run cargo build first" >&2; exit 2; }
TMP="$(mktemp -d)"
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$TMP"' EXIT
"$BIN" sandbox --listen 127.0.0.1:0 --kubeconfig "$TMP/kubeconfig" --clusters dev --time-scale "$([[ "${SIM:-0}" == 1 ]] && echo 50 || echo 0)" >"$TMP/out" 2>&1 &
PID=$!
for _ in $(seq 1 100); do grep -q "listening on" "$TMP/out" 2>/dev/null && break; sleep 0.1; done
ADDR="$(sed -n 's/.*listening on http:\/\/\([^ ]*\).*/\1/p' "$TMP/out")"
[[ -n "$ADDR" ]] || { echo "sandbox did not start:" >&2; cat "$TMP/out" >&2; exit 2; }
echo "binary: $BIN   sandbox pid $PID on $ADDR, $N pods, simulator: ${SIM:-0}"
python3 - "$ADDR" "$N" "$PID" <<'PY'
import http.client, json, sys, threading, time
addr, n, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3]
host, port = addr.split(":")
base = "/clusters/dev/api/v1/namespaces/default/pods"

def conn():
    return http.client.HTTPConnection(host, int(port), timeout=120)

def rss_mb():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")

print(f"RSS at start: {rss_mb():.1f} MB")
c = conn()
t = time.perf_counter()
for i in range(n):
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": f"load-{i:05d}", "labels": {"app": "load", "shard": str(i % 10)}},
           "spec": {"containers": [{"name": "app", "image": "registry.example/app:1.0",
                                     "ports": [{"containerPort": 8080}],
                                     "env": [{"name": "SHARD", "value": str(i % 10)}]}]}}
    c.request("POST", base, json.dumps(pod), {"Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    if r.status != 201:
        sys.exit(f"create {i}: HTTP {r.status}")
print(f"stored {n} pods in {time.perf_counter() - t:.2f} s")

best = None
for _ in range(5):
    t = time.perf_counter()
    c.request("GET", base)
    r = c.getresponse(); body = r.read()
    dt = time.perf_counter() - t
    best = dt if best is None else min(best, dt)
items = len(json.loads(body)["items"])
print(f"list {items} pods: best of 5 = {best * 1000:.1f} ms ({len(body) / 1e6:.1f} MB of JSON)")
c.request("GET", base + "?labelSelector=shard%3D3")
r = c.getresponse(); sel = json.loads(r.read())
print(f"list with labelSelector shard=3: {len(sel['items'])} pods")

rv = json.loads(body)["metadata"]["resourceVersion"]
seen = []
ready = []
lock = threading.Lock()
def watcher(k):
    w = conn()
    w.request("GET", f"{base}?watch=1&fieldSelector=metadata.name%3Dload-00001&timeoutSeconds=60")
    r = w.getresponse()
    while True:
        line = r.readline()
        if not line:
            return
        if not line.strip():
            continue
        ev = json.loads(line)
        if ev["type"] == "ADDED":
            with lock:
                ready.append(k)
        if ev["type"] == "MODIFIED" and ev["object"]["metadata"].get("labels", {}).get("touched") == "yes":
            with lock:
                seen.append(k)
            return
threads = [threading.Thread(target=watcher, args=(k,), daemon=True) for k in range(100)]
for th in threads: th.start()
deadline = time.time() + 60
while len(ready) < 100 and time.time() < deadline:
    time.sleep(0.05)
print(f"100 concurrent watches: {len(ready)} established")
t = time.perf_counter()
c.request("PATCH", base + "/load-00001", json.dumps({"metadata": {"labels": {"touched": "yes"}}}),
          {"Content-Type": "application/merge-patch+json"})
r = c.getresponse(); r.read()
for th in threads: th.join(timeout=30)
print(f"100 concurrent watches: {len(seen)} saw the change within {time.perf_counter() - t:.2f} s")
c.request("GET", "/clusters/dev/api/v1/events?limit=1")
r = c.getresponse(); ev = json.loads(r.read())
events = 1 + ev["metadata"].get("remainingItemCount", 0) if ev["items"] else 0
print(f"objects stored: {n} pods + {events} events the simulator wrote about them")
print(f"RSS with {n} pods (+ {events} events) stored: {rss_mb():.1f} MB")
PY
