#!/usr/bin/env bash
# What `driftdeck controller` costs a real API server (../shared/realk8s, Kubernetes v1.20),
# read from the server's /metrics (apiserver_request_total by verb and resource, dry-runs
# apart; scripts/apiserver-requests.py). Printed, never asserted:
#
#   0. baseline: 60 s of the tier with no driftdeck (kube-controller-manager's own requests;
#      the counters have no client label, so each figure below is shown beside it)
#   1. idle: an env of SMALL ConfigMaps (default 20), synced, controller running with
#      auto-sync on, nothing changing: 60 s (lists and dry-runs per minute)
#   2. one object changed: one `kubectl patch` of one ConfigMap's data (drift: self-heal is
#      off), until the controller's /metrics shows it, then 3 s: requests attributable to it
#      (minus kubectl's own PATCH and the baseline's share), and the drift latency
#   3. (unless SKIP_LARGE=1) an env of LARGE ConfigMaps (default 1,000), one data `kubectl
#      patch` per second for 60 s: requests per second attributable to the controller, and
#      each change's drift latency (patch returned → drift shown in the controller's /metrics;
#      scripts/drift-latency.py)
#
# usage: scripts/api-cost.sh
# env:   BIN=path/to/driftdeck (default: target/release, else target/debug)
#        SMALL=20 LARGE=1000 SKIP_LARGE=1  IDLE_SECS=60  CHURN_SECS=60
#        REALK8S_DIR=DIR  an already running tier (`realk8s/up DIR --clusters dev`); else one
#                         is started in a temp dir and taken down at the end
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/lib.sh"
pick_bin "$root" kubectl git python3
small=${SMALL:-20}
large=${LARGE:-1000}
idle_secs=${IDLE_SECS:-60}
churn_secs=${CHURN_SECS:-60}
tier=$(cd "$root/.." && pwd)/shared/realk8s
[[ -d $tier ]] || tier=/work/shared/realk8s
requests=$root/scripts/apiserver-requests.py
latency=$root/scripts/drift-latency.py

work=$(mktemp -d)
own_tier=""
controller_pid=""
stop_controller() {
  if [[ -n $controller_pid ]]; then
    kill "$controller_pid" 2>/dev/null || true
    wait "$controller_pid" 2>/dev/null || true
    controller_pid=""
  fi
}
cleanup() {
  stop_controller
  if [[ -n $own_tier ]]; then "$tier/down" "$own_tier" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

if [[ -n ${REALK8S_DIR:-} ]]; then
  kubeconfig=$REALK8S_DIR/kubeconfig
else
  own_tier=$work/realk8s
  echo "starting the real API server tier..." >&2
  "$tier/up" "$own_tier" --clusters dev --owner-pid $$ >&2
  kubeconfig=$own_tier/kubeconfig
fi
export KUBECONFIG=$kubeconfig
export XDG_DATA_HOME=$work/data HOME=$work

# env NAME with N ConfigMaps: its own repo folder, namespace and config
setup_env() {
  local name=$1 n=$2 repo=$work/repo-$1
  mkdir -p "$repo/env"
  for i in $(seq -w 1 "$n"); do
    printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%s}\ndata: {key: "value-%s"}\n' "$i" "$i"
  done >"$repo/env/configmaps.yaml"
  git -C "$repo" init -q -b main
  git -C "$repo" add -A
  git -C "$repo" -c user.name=cost -c user.email=cost@example.invalid commit -q -m "$n ConfigMaps"
  cat >"$work/$name.yaml" <<YAML
repo: {url: $repo, branch: main, poll_interval: 30s}
kubeconfig: $kubeconfig
validation_timeout: 120s
environments:
  - {name: $name, path: env, context: dev, namespace: cost-$name-$$, auto_sync: true, self_heal: false, prune: false}
YAML
  "$BIN" --config "$work/$name.yaml" sync "$name" >"$work/sync-$name.out" 2>&1 \
    || { echo "sync $name failed:" >&2; cat "$work/sync-$name.out" >&2; exit 1; }
}

metrics_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
metrics=http://127.0.0.1:$metrics_port/metrics
start_controller() {
  "$BIN" --config "$work/$1.yaml" controller --metrics "127.0.0.1:$metrics_port" 2>"$work/controller-$1.log" &
  controller_pid=$!
  # Settled: observed and Synced; then give the prune kinds' watches (started after the first
  # listed observation) time to list.
  python3 "$latency" wait "$metrics" "$1" 180 \
    || { echo "controller on $1 did not settle:" >&2; tail -20 "$work/controller-$1.log" >&2; exit 1; }
  sleep 10
}

snap() { python3 "$requests" snap dev "$work/$1.txt"; }
delta() { python3 "$requests" delta "$work/$1.txt" "$work/$2.txt" "${@:3}"; }

echo "binary: $BIN"
echo "server: Kubernetes v1.20 (realk8s), 2 cores shared; counts include kube-controller-manager's requests"
echo

snap base0; sleep "$idle_secs"; snap base1
delta base0 base1 --label "0. baseline, no driftdeck, ${idle_secs}s" --seconds "$idle_secs"
echo

setup_env small "$small"
start_controller small
snap idle0; sleep "$idle_secs"; snap idle1
delta idle0 idle1 --label "1. idle controller, env of $small ConfigMaps, ${idle_secs}s" --seconds "$idle_secs"
echo

ns=cost-small-$$
snap one0
one_start=$(date +%s.%N)
python3 "$latency" churn "$metrics" small dev "$ns" cm "$small" 1 >"$work/one-latency.txt"
sleep 3
snap one1
one_secs=$(python3 -c "import time; print(f'{time.time() - $one_start:.1f}')")
delta one0 one1 --label "2. one object changed (kubectl patch of its data, until shown + 3 s = ${one_secs}s; kubectl's own PATCH included)"
echo "   (attributable: subtract kubectl's own GET and PATCH configmaps (it reads before it patches), the Lease and state ConfigMap renewals, and ${one_secs}/${idle_secs} of the baseline)"
cat "$work/one-latency.txt"
stop_controller
echo

if [[ -z ${SKIP_LARGE:-} ]]; then
  setup_env large "$large"
  start_controller large
  ns=cost-large-$$
  snap churn0
  python3 "$latency" churn "$metrics" large dev "$ns" cm "$large" "$churn_secs" >"$work/churn-latency.txt"
  snap churn1
  delta churn0 churn1 --label "3. env of $large ConfigMaps, one kubectl patch per second for ${churn_secs}s" --seconds "$churn_secs"
  echo "   (attributable: subtract kubectl's $churn_secs GET and $churn_secs PATCH configmaps (it reads before it patches) and the baseline)"
  cat "$work/churn-latency.txt"
  stop_controller
fi
