#!/usr/bin/env bash
# Sync speed at scale on the real API server tier (../shared/realk8s, Kubernetes v1.20): a
# plain-YAML env of N ConfigMaps (default 1,000) synced with `driftdeck sync` into an empty
# namespace, RUNS times (default 3, a fresh namespace each), then once more at the same
# revision (nothing to change). Prints the wall time of each sync and what it cost the API
# server (apiserver_request_total by verb and resource, dry-runs apart; see
# scripts/apiserver-requests.py).
#
# usage: scripts/sync-scale.sh [OBJECTS]
# env:   RUNS=3  BIN=path/to/driftdeck (default: target/release, else target/debug)
#        REALK8S_DIR=DIR  an already running tier (`realk8s/up DIR --clusters dev`); else one
#                         is started in a temp dir and taken down at the end
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/lib.sh"
pick_bin "$root" kubectl git python3
objects=${1:-1000}
runs=${RUNS:-3}
tier=$(cd "$root/.." && pwd)/shared/realk8s
[[ -d $tier ]] || tier=/work/shared/realk8s
requests=$root/scripts/apiserver-requests.py

work=$(mktemp -d)
own_tier=""
cleanup() {
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

repo=$work/repo
mkdir -p "$repo/env"
for i in $(seq -w 1 "$objects"); do
  printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%s}\ndata: {key: "value-%s", other: "x"}\n' "$i" "$i"
done >"$repo/env/configmaps.yaml"
git -C "$repo" init -q -b main
git -C "$repo" add -A
git -C "$repo" -c user.name=scale -c user.email=scale@example.invalid commit -q -m "$objects ConfigMaps"

config_for() {
  cat >"$work/driftdeck.yaml" <<YAML
repo: {url: $repo, branch: main, poll_interval: 30s}
kubeconfig: $kubeconfig
validation_timeout: 120s
environments:
  - {name: dev, path: env, context: dev, namespace: $1, auto_sync: false, self_heal: false, prune: false}
YAML
}

timed_sync() {
  local label=$1 before after t0 t1
  before=$work/before.txt after=$work/after.txt
  python3 "$requests" snap dev "$before"
  t0=$(date +%s.%N)
  XDG_DATA_HOME=$work/data HOME=$work "$BIN" --config "$work/driftdeck.yaml" sync dev >"$work/sync.out" 2>&1 \
    || { echo "sync failed:" >&2; cat "$work/sync.out" >&2; exit 1; }
  t1=$(date +%s.%N)
  python3 "$requests" snap dev "$after"
  printf '%s: %.2f s  (%s)\n' "$label" "$(echo "$t1 - $t0" | bc -l)" "$(tail -1 "$work/sync.out")"
  python3 "$requests" delta "$before" "$after" --label "  requests"
}

echo "binary: $BIN"
echo "objects: $objects ConfigMaps, plain YAML, into an empty namespace (Kubernetes v1.20 real API server, 2 cores shared)"
for r in $(seq 1 "$runs"); do
  ns=scale-$$-$r
  config_for "$ns"
  timed_sync "run $r: sync into empty namespace $ns"
done
timed_sync "again at the same revision (nothing changed)"
