#!/usr/bin/env bash
# What one Argo CD env costs the API server while `driftdeck controller` watches it, on the
# sandbox: the Application (Deployment shop/api in its status.resources, status written by
# kubectl as Argo CD would) and that Deployment's pods. Reads driftdeck's own request counter
# (`driftdeck_api_requests` on /metrics) over SECS seconds after a warm-up. Printed, never
# asserted. Expected: per 2 s poll, 1 GET of the Application + 1 Deployment list + 1 Pod list.
#
# usage: scripts/argo-live-cost.sh      env: BIN=path/to/driftdeck  SECS=30
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/lib.sh"
pick_bin "$root" kubectl python3 curl
secs=${SECS:-30}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

"$BIN" sandbox --listen 127.0.0.1:0 --kubeconfig "$work/kubeconfig" --clusters dev >"$work/sandbox.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q "listening on" "$work/sandbox.out" 2>/dev/null && break; sleep 0.1; done
export KUBECONFIG=$work/kubeconfig
k() { kubectl --context dev "$@" >/dev/null; }
k apply --validate=false -f "$root/../shared/engines/crds/argocd-application.yaml" 2>/dev/null \
  || k apply --validate=false -f /work/shared/engines/crds/argocd-application.yaml
for _ in $(seq 1 100); do kubectl --context dev get applications.argoproj.io -A >/dev/null 2>&1 && break; sleep 0.1; done
k create namespace argocd
k create namespace shop
k create deployment api -n shop --image=registry.example.com/shop/api:1.4.2
cat >"$work/app.yaml" <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: api, namespace: argocd}
spec:
  project: default
  source: {repoURL: "https://git.example.com/shop/deploy.git", path: overlays/eu, targetRevision: main}
  destination: {server: "https://kubernetes.default.svc", namespace: shop}
status:
  sync: {status: Synced, revision: "a100000000000000000000000000000000000000"}
  health: {status: Healthy}
  resources:
    - {group: apps, version: v1, kind: Deployment, namespace: shop, name: api, status: Synced, health: {status: Healthy}}
    - {version: v1, kind: Service, namespace: shop, name: api, status: Synced}
YAML
k apply -f "$work/app.yaml"
mkdir -p "$work/repo" && git -C "$work/repo" init -q
cat >"$work/driftdeck.yaml" <<YAML
repo: {url: $work/repo}
kubeconfig: $work/kubeconfig
environments:
  - {name: eu, context: dev, engine: {argocd: {application: api, namespace: argocd}}}
YAML
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
HOME=$work XDG_DATA_HOME=$work/data XDG_CACHE_HOME=$work/cache DRIFTDECK_AUDIT_LOG=$work/audit.jsonl \
  "$BIN" --config "$work/driftdeck.yaml" controller --metrics "127.0.0.1:$port" 2>"$work/controller.err" &
pids+=($!)
count() {
  curl -sf "http://127.0.0.1:$port/metrics" | awk '/^driftdeck_api_requests(_total)?\{.*context="dev"/ {s+=$NF} END {print s+0}'
}
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/metrics" >/dev/null 2>&1 && break; sleep 0.1; done
sleep 5
a=$(count); sleep "$secs"; b=$(count)
echo "binary: $BIN"
echo "FIGURE one idle Argo CD env (1 workload kind, 1 namespace): $((b - a)) API requests in ${secs}s = $(python3 -c "print(round(($b-$a)/$secs,2))") req/s"
