#!/usr/bin/env bash
# Watch-mode memory over time (issue 6 acceptance 4). MODE=watch (default): `driftdeck watch`
# (the wall monitor: UI + its in-process controller) in a tmux pane (120×36) against a separate
# `driftdeck sandbox` process serving the demo repo's three clusters (`demo init`, each env
# applied once with `driftdeck sync ENV`), so the sandbox's own memory (its stores and watch
# history) is not counted. MODE=demo: `driftdeck demo --watch`, one process with the sandbox
# inside. Either way, constant churn: every CHURN seconds the three `log-api` Deployments are
# scaled between 1 and 3 replicas with kubectl (pods come and go; the drift is shown). VmRSS of
# the measured process is sampled every SAMPLE seconds; at the end: RSS after the WARMUP,
# RSS at the end, and the growth [target < 5 MB over 1 hour].
#
# usage: scripts/watch-memory.sh MINUTES        (the acceptance run is 60)
# env:   BIN=path/to/driftdeck (default target/release/driftdeck if built, else target/debug)
#        MODE=watch|demo  CHURN=10  WARMUP=120 (seconds)  SAMPLE=30 (seconds)
set -euo pipefail

minutes=${1:?usage: $0 MINUTES}
root=$(cd "$(dirname "$0")/.." && pwd)
churn=${CHURN:-10}
mode=${MODE:-watch}
warmup=${WARMUP:-120}
sample=${SAMPLE:-30}
# shellcheck source=lib.sh
source "$root/scripts/lib.sh"
pick_bin "$root" tmux kubectl

work=$(mktemp -d)
sock="watch-mem-$$"
t() { tmux -L "$sock" "$@"; }
churn_pid=""
sandbox_pid=""
cleanup() {
  [[ -n $churn_pid ]] && kill "$churn_pid" 2>/dev/null || true
  [[ -n $sandbox_pid ]] && kill "$sandbox_pid" 2>/dev/null || true
  t kill-server 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/home"

echo "binary: $BIN; mode $mode; ${minutes} min, churn every ${churn} s, warm-up ${warmup} s, sample every ${sample} s"
envs="env HOME=$work/home XDG_DATA_HOME=$work/home/data XDG_CONFIG_HOME=$work/home/config \
  XDG_CACHE_HOME=$work/home/cache TERM=xterm-256color"
kubeconfig=$work/demo/kubeconfig
if [[ $mode == demo ]]; then
  t new-session -d -s w -x 120 -y 36 "$envs DRIFTDECK_DEMO_DIR=$work/demo $BIN demo --watch; sleep 600"
else
  $envs "$BIN" demo init "$work/demo" >/dev/null
  $envs "$BIN" sandbox --listen 127.0.0.1:0 --kubeconfig "$kubeconfig" \
    --clusters dev,staging,production > "$work/sandbox.log" 2>&1 &
  sandbox_pid=$!
  for _ in $(seq 1 100); do
    [[ -s $kubeconfig ]] && grep -q listening "$work/sandbox.log" && break
    sleep 0.1
  done
  grep -q listening "$work/sandbox.log" || { cat "$work/sandbox.log" >&2; exit 1; }
  for env in dev staging production; do
    $envs "$BIN" sync "$env" --config "$work/demo/driftdeck.yaml" >/dev/null 2>&1 \
      || echo "note: initial sync of $env did not report success (watch shows it)" >&2
  done
  t new-session -d -s w -x 120 -y 36 "$envs $BIN watch --config $work/demo/driftdeck.yaml; sleep 600"
fi
for _ in $(seq 1 300); do
  [[ -s $kubeconfig ]] && t capture-pane -p -t w | grep -q "updated" && break
  sleep 0.2
done
pane_pid=$(t display-message -p -t w '#{pane_pid}')
pid=$(pgrep -P "$pane_pid" | head -1)
[[ -n $pid ]] || { echo "driftdeck process not found" >&2; exit 1; }
echo "pid $pid"

(
  n=0
  while sleep "$churn"; do
    n=$((n + 1))
    replicas=$(( n % 2 == 0 ? 1 : 3 ))
    for ctx in dev staging production; do
      kubectl --kubeconfig "$kubeconfig" --context "$ctx" -n log-platform \
        scale deployment log-api --replicas="$replicas" >/dev/null 2>&1 || true
    done
  done
) &
churn_pid=$!

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }
start=$(date +%s)
end=$((start + minutes * 60))
base=""
echo "   t(s)   RSS(MB)"
while :; do
  now=$(date +%s)
  [[ -d /proc/$pid ]] || { echo "the process ended early" >&2; t capture-pane -p -t w >&2; exit 1; }
  rss=$(rss_kb)
  printf '%7d %9.1f\n' $((now - start)) "$(awk -v k="$rss" 'BEGIN {print k / 1024}')"
  if [[ -z $base ]] && (( now - start >= warmup )); then base=$rss; base_t=$((now - start)); fi
  (( now >= end )) && break
  sleep $(( sample < end - now ? sample : end - now ))
done
last=$rss
if [[ -z $base ]]; then
  echo "run shorter than the warm-up (${warmup} s): no growth figure"
  exit 0
fi
awk -v b="$base" -v l="$last" -v bt="$base_t" -v lt="$((now - start))" 'BEGIN {
  printf "after warm-up (t=%ds): %.1f MB; end (t=%ds): %.1f MB; growth: %+.2f MB  [target < 5 MB / hour]\n",
    bt, b / 1024, lt, l / 1024, (l - b) / 1024 }'
t capture-pane -p -t w | head -3
