#!/usr/bin/env bash
# Cold `driftdeck status` at scale: 3 envs × 1,000 resources each (per env: 1 Namespace and 333
# apps of ConfigMap + Deployment + Service), applied to a `driftdeck sandbox` with
# `kubectl apply --server-side`, then `driftdeck status -o json` run RUNS times (default 3) as
# a fresh process each time. Prints wall time and peak RSS per run (from /usr/bin/time -v when
# installed, else from the process's VmHWM sampled through /proc).
#
# usage: scripts/status-scale.sh [WORKDIR]     (default: a new temp dir, removed at the end)
# env:   RUNS=3  APPS=333  TIME_SCALE=20  SKIP_BUILD=1 (use the existing target/release binary)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-3}
apps=${APPS:-333}
time_scale=${TIME_SCALE:-20}
envs=(dev staging production)

if [[ -z ${SKIP_BUILD:-} ]]; then
  echo "building release (cargo build --release)..." >&2
  (cd "$root" && cargo build --release --quiet)
fi
bin=$root/target/release/driftdeck
[[ -x $bin ]] || { echo "$0: $bin not built" >&2; exit 2; }
command -v kubectl >/dev/null || { echo "$0: kubectl not found" >&2; exit 2; }

if [[ $# -ge 1 ]]; then
  work=$1
  mkdir -p "$work"
  cleanup_dir=""
else
  work=$(mktemp -d)
  cleanup_dir=$work
fi
sandbox_pid=""
cleanup() {
  if [[ -n $sandbox_pid ]]; then kill "$sandbox_pid" 2>/dev/null || true; fi
  if [[ -n $cleanup_dir ]]; then rm -rf "$cleanup_dir"; fi
}
trap cleanup EXIT

# --- the repo -------------------------------------------------------------------------------
repo=$work/repo
rm -rf "$repo"
mkdir -p "$repo/base"
{
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "resources:"
  echo "  - apps.yaml"
} > "$repo/base/kustomization.yaml"
for a in $(seq -w 1 "$apps"); do
  cat <<YAML
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-$a-config
data:
  LOG_LEVEL: info
  UPSTREAM: http://app-$a:8080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-$a
  labels: {app.kubernetes.io/name: app-$a}
spec:
  replicas: 1
  selector:
    matchLabels: {app.kubernetes.io/name: app-$a}
  template:
    metadata:
      labels: {app.kubernetes.io/name: app-$a}
    spec:
      containers:
        - name: app
          image: registry.example.internal/app-$a:1.0.$a
          envFrom: [{configMapRef: {name: app-$a-config}}]
          ports: [{name: http, containerPort: 8080}]
          resources: {requests: {cpu: 10m, memory: 32Mi}}
---
apiVersion: v1
kind: Service
metadata:
  name: app-$a
spec:
  selector: {app.kubernetes.io/name: app-$a}
  ports: [{name: http, port: 80, targetPort: http}]
YAML
done > "$repo/base/apps.yaml"
for env in "${envs[@]}"; do
  mkdir -p "$repo/overlays/$env"
  cat > "$repo/overlays/$env/namespace.yaml" <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: scale
YAML
  cat > "$repo/overlays/$env/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: scale
labels:
  - pairs: {environment: $env}
resources:
  - namespace.yaml
  - ../../base
YAML
done
git -C "$repo" init -q -b main
git -C "$repo" add -A
git -C "$repo" -c user.name=scale -c user.email=scale@example.invalid commit -q -m "scale repo"

cat > "$work/driftdeck.yaml" <<YAML
repo: {url: ./repo, branch: main, poll_interval: 30s}
kubeconfig: ./kubeconfig
environments:
YAML
for env in "${envs[@]}"; do
  echo "  - {name: $env, path: overlays/$env, context: $env, namespace: scale}" >> "$work/driftdeck.yaml"
done
per_env=$(kubectl kustomize "$repo/overlays/dev" | grep -c '^kind: ')
echo "repo: ${#envs[@]} envs × $per_env resources ($apps apps: ConfigMap + Deployment + Service, + Namespace)"

# --- the sandbox ----------------------------------------------------------------------------
"$bin" sandbox --listen 127.0.0.1:0 --kubeconfig "$work/kubeconfig" \
  --clusters "$(IFS=,; echo "${envs[*]}")" --time-scale "$time_scale" > "$work/sandbox.log" 2>&1 &
sandbox_pid=$!
for _ in $(seq 1 100); do
  [[ -s $work/kubeconfig ]] && grep -q listening "$work/sandbox.log" && break
  sleep 0.1
done
grep -q listening "$work/sandbox.log" || { cat "$work/sandbox.log" >&2; exit 1; }

start=$(date +%s.%N)
for env in "${envs[@]}"; do
  kubectl --kubeconfig "$work/kubeconfig" --context "$env" apply --server-side \
    -k "$repo/overlays/$env" > /dev/null
done
end=$(date +%s.%N)
printf 'kubectl apply --server-side of %d resources: %.1f s\n' $(( per_env * ${#envs[@]} )) \
  "$(echo "$end - $start" | bc)"
for env in "${envs[@]}"; do
  kubectl --kubeconfig "$work/kubeconfig" --context "$env" -n scale rollout status deployment \
    --timeout=600s > /dev/null
done
echo "rollouts complete"

# --- cold status ----------------------------------------------------------------------------
peak_from_proc() {
  # Runs "$@", sampling VmHWM (peak RSS) until it exits; prints "<wall s> <peak KiB> <exit>".
  local s e pid hwm=0 v rc
  s=$(date +%s.%N)
  "$@" > "$work/status.json" 2> "$work/status.err" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    v=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    [[ -n $v && $v -gt $hwm ]] && hwm=$v
    sleep 0.02
  done
  rc=0; wait "$pid" || rc=$?
  e=$(date +%s.%N)
  echo "$(echo "$e - $s" | bc) $hwm $rc"
}

cd "$work"
for i in $(seq 1 "$runs"); do
  if [[ -x /usr/bin/time ]]; then
    rc=0
    /usr/bin/time -v "$bin" --config "$work/driftdeck.yaml" status -o json \
      > "$work/status.json" 2> "$work/status.err" || rc=$?
    wall=$(grep 'Elapsed (wall clock)' "$work/status.err" | awk '{print $NF}')
    rss=$(grep 'Maximum resident set size' "$work/status.err" | awk '{print $NF}')
  else
    read -r wall rss rc < <(peak_from_proc "$bin" --config "$work/driftdeck.yaml" status -o json)
  fi
  summary=$(python3 - "$work/status.json" <<'PY' 2>/dev/null || echo "unparsable output"
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join("%s=%s/%s/res=%s/drift=%d" % (e["name"], e["sync"], e["health"], e.get("resources"),
                                           sum(e["drift"].values())) for e in d["environments"]))
PY
)
  printf 'run %d: wall %s  peak RSS %s KiB  exit %s  [%s]\n' "$i" "$wall" "$rss" "$rc" "$summary"
done
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
