#!/usr/bin/env bash
# Watch-mode memory over time (issue 6 acceptance 4): `driftdeck demo --watch` in a tmux pane
# (120×36) for MINUTES minutes against its sandbox, with constant churn: every CHURN seconds
# the dev, staging and production `log-api` Deployments are scaled between 1 and 3 replicas with
# kubectl (pods come and go; watch mode is read-only, so the drift stays and is shown). The
# process's resident memory (VmRSS from /proc/PID/status) is sampled every 30 s and printed;
# at the end: RSS at the end of the 2-minute warm-up, RSS at the end, and the growth between
# them [target < 5 MB over 1 hour]. The whole demo process is measured (UI + controller +
# sandbox).
#
# usage: scripts/watch-memory.sh MINUTES        (the acceptance run is 60)
# env:   BIN=path/to/driftdeck (default target/release/driftdeck if built, else target/debug)
#        CHURN=10  WARMUP=120 (seconds)  SAMPLE=30 (seconds)
set -euo pipefail

minutes=${1:?usage: $0 MINUTES}
root=$(cd "$(dirname "$0")/.." && pwd)
churn=${CHURN:-10}
warmup=${WARMUP:-120}
sample=${SAMPLE:-30}
if [[ -z ${BIN:-} ]]; then
  if [[ -x $root/target/release/driftdeck ]]; then BIN=$root/target/release/driftdeck
  else BIN=$root/target/debug/driftdeck; fi
fi
[[ -x $BIN ]] || { echo "$0: $BIN not built" >&2; exit 2; }
command -v tmux >/dev/null || { echo "$0: tmux not found" >&2; exit 2; }
command -v kubectl >/dev/null || { echo "$0: kubectl not found (needed for churn)" >&2; exit 2; }

work=$(mktemp -d)
sock="watch-mem-$$"
t() { tmux -L "$sock" "$@"; }
churn_pid=""
cleanup() {
  [[ -n $churn_pid ]] && kill "$churn_pid" 2>/dev/null || true
  t kill-server 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/home"

echo "binary: $BIN; ${minutes} min, churn every ${churn} s, warm-up ${warmup} s, sample every ${sample} s"
t new-session -d -s w -x 120 -y 36 \
  "env HOME=$work/home XDG_DATA_HOME=$work/home/data XDG_CONFIG_HOME=$work/home/config \
   XDG_CACHE_HOME=$work/home/cache DRIFTDECK_DEMO_DIR=$work/demo TERM=xterm-256color \
   $BIN demo --watch; sleep 600"
for _ in $(seq 1 300); do
  [[ -s $work/demo/kubeconfig ]] && t capture-pane -p -t w | grep -q "updated" && break
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
      kubectl --kubeconfig "$work/demo/kubeconfig" --context "$ctx" -n log-platform \
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
