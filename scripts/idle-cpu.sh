#!/usr/bin/env bash
# Idle CPU of the console apart from the clusters it watches (issue 6, acceptance 3): the demo
# repo is served by a separate `driftdeck sandbox` process, every env is synced with the CLI,
# then `driftdeck --config ...` (the interactive console, automation on) runs in tmux. After a
# settle period, utime+stime of each process over IDLE seconds from /proc/PID/stat, as % of
# one core, plus the bytes the console wrote to its terminal and its CPU by thread.
#
# usage: scripts/idle-cpu.sh
# env:   BIN=path/to/driftdeck (default target/release/driftdeck if built, else target/debug)
#        IDLE=10  SETTLE=60 (seconds; past the first minute pod ages tick by the minute, not the second)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
idle=${IDLE:-10}
settle=${SETTLE:-60}
# shellcheck source=lib.sh
source "$root/scripts/lib.sh"
pick_bin "$root" tmux

work=$(mktemp -d)
sock="idle-cpu-$$"
t() { tmux -L "$sock" "$@"; }
sb_pid=
cleanup() {
  t kill-server 2>/dev/null || true
  [[ -n $sb_pid ]] && kill "$sb_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export HOME=$work/home XDG_DATA_HOME=$work/home/data XDG_CONFIG_HOME=$work/home/config \
  XDG_CACHE_HOME=$work/home/cache
mkdir -p "$HOME"

echo "binary: $BIN"
"$BIN" demo init "$work/demo" >/dev/null
"$BIN" sandbox --kubeconfig "$work/demo/kubeconfig" --time-scale 5 >"$work/sandbox.log" 2>&1 &
sb_pid=$!
for _ in $(seq 100); do [[ -s $work/demo/kubeconfig ]] && break; sleep 0.1; done
cfg=$work/demo/driftdeck.yaml
for env in dev staging production; do
  "$BIN" --config "$cfg" sync "$env" >/dev/null
done

t new-session -d -s ui -x 120 -y 36 \
  "env HOME=$HOME XDG_DATA_HOME=$XDG_DATA_HOME TERM=xterm-256color $BIN --config $cfg; sleep 600"
deadline=$(( $(date +%s) + 120 ))
until [[ $(t capture-pane -p -t ui | grep -c "Synced") -ge 3 ]]; do
  (( $(date +%s) < deadline )) || { echo "console not Synced within 120 s" >&2; t capture-pane -p -t ui >&2; exit 1; }
  sleep 0.2
done
pane_pid=$(t display-message -p -t ui '#{pane_pid}')
pid=$(pgrep -P "$pane_pid" | head -1)
sleep "$settle"

hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
threads() { for task in /proc/$pid/task/*; do
  printf '%s\t%s\n' "$(cat "$task/comm" 2>/dev/null)" "$(awk '{print $14 + $15}' "$task/stat" 2>/dev/null)"; done; }
bytes=$work/pipe.out
: >"$bytes"
t pipe-pane -t ui -o "cat >> $bytes"
threads >"$work/threads0"
c0=$(ticks "$pid"); s0=$(ticks "$sb_pid"); w0=$(date +%s%N)
sleep "$idle"
c1=$(ticks "$pid"); s1=$(ticks "$sb_pid"); w1=$(date +%s%N)
threads >"$work/threads1"
t pipe-pane -t ui
pct() { awk -v c="$1" -v hz="$hz" -v ns=$((w1 - w0)) 'BEGIN {printf "%.2f", 100 * c / hz / (ns / 1e9)}'; }
echo "idle ${idle} s: console CPU $(pct $((c1 - c0)))% of one core ($((c1 - c0)) ticks of 1/${hz} s)  [target < 1%]"
echo "idle ${idle} s: console wrote $(stat -c %s "$bytes") bytes to its terminal  [target 0]"
echo "idle ${idle} s: the separate sandbox (3 simulated clusters) CPU $(pct $((s1 - s0)))%"
echo "  console CPU by thread name (ticks):"
awk -F'\t' 'NR==FNR {n[FNR]=$1; v[FNR]=$2; next} {if (FNR in n && n[FNR]==$1) d[$1]+=$2-v[FNR]}
  END {for (k in d) printf "    %-20s %d\n", k, d[k]}' "$work/threads0" "$work/threads1" | sort -k2 -nr | head -6
echo "  RSS: console $(awk '/VmRSS/{print $2}' "/proc/$pid/status") kB"
