#!/usr/bin/env bash
# How long the emergency stop takes to show: a sandbox, a headless `driftdeck controller` and
# two consoles (each in its own tmux server, 120x36); then ROUNDS times `pause --all`, timed
# from the verb's return until
#   (a) each console's screen (`tmux capture-pane -p`) shows the ALL PAUSED banner, and
#   (b) the controller logs that every env's automation is off (`automation off: paused`,
#       logged from its engine's snapshot, i.e. when it honours the pause),
# polling every 50 ms (the verb's own run time is printed too); then `resume --all --confirm production` and a wait until both banners
# are gone. Prints per-round latencies and p50/p95/max per observer. Figures only: no
# assertions (the issue's target is 1 s).
#
# Usage: scripts/pause-banner-latency.sh            (DRIFTDECK=path to use another binary,
#        ROUNDS=N, TIME_SCALE=N for the sandbox; KEEP=1 keeps the temp dir)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
DD=${DRIFTDECK:-$root/target/debug/driftdeck}
ROUNDS=${ROUNDS:-20}
TIME_SCALE=${TIME_SCALE:-20}
POLL=0.05
WAIT_LIMIT_MS=15000

[[ -x $DD ]] || { echo "no driftdeck binary at $DD (cargo build, or DRIFTDECK=path)" >&2; exit 2; }
command -v tmux >/dev/null || { echo "tmux is not installed" >&2; exit 2; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/pause-latency.XXXXXX")
sock_a="ddlat-a-$$"
sock_b="ddlat-b-$$"
sandbox_pid=""
controller_pid=""
cleanup() {
    tmux -L "$sock_a" kill-server 2>/dev/null || true
    tmux -L "$sock_b" kill-server 2>/dev/null || true
    # The controller stops on SIGTERM (flushing state, releasing Leases) before the sandbox.
    if [[ -n $controller_pid ]]; then
        kill "$controller_pid" 2>/dev/null || true
        wait "$controller_pid" 2>/dev/null || true
    fi
    if [[ -n $sandbox_pid ]]; then
        kill "$sandbox_pid" 2>/dev/null || true
        wait "$sandbox_pid" 2>/dev/null || true
    fi
    if [[ ${KEEP:-0} == 1 ]]; then echo "kept $dir" >&2; else rm -rf "$dir"; fi
}
trap cleanup EXIT

# Private HOME/XDG dirs and audit log: nothing of the user's is read or written.
mkdir -p "$dir"/{home,data,cache,config}
export HOME=$dir/home XDG_DATA_HOME=$dir/data XDG_CACHE_HOME=$dir/cache \
    XDG_CONFIG_HOME=$dir/config DRIFTDECK_AUDIT_LOG=$dir/audit.jsonl
unset KUBECONFIG RUST_LOG
envs="HOME=$HOME XDG_DATA_HOME=$XDG_DATA_HOME XDG_CACHE_HOME=$XDG_CACHE_HOME"
envs+=" XDG_CONFIG_HOME=$XDG_CONFIG_HOME DRIFTDECK_AUDIT_LOG=$DRIFTDECK_AUDIT_LOG"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# wait_for WHAT LIMIT_MS COMMAND...: polls COMMAND every $POLL until it succeeds.
wait_for() {
    local what=$1 limit=$2 start
    shift 2
    start=$(now_ms)
    until "$@"; do
        if (( $(now_ms) - start > limit )); then
            echo "timed out after ${limit} ms waiting for $what" >&2
            return 1
        fi
        sleep "$POLL"
    done
}

"$DD" demo init "$dir/demo" >/dev/null
cfg=$dir/demo/driftdeck.yaml
"$DD" sandbox --listen 127.0.0.1:0 --kubeconfig "$dir/demo/kubeconfig" \
    --time-scale "$TIME_SCALE" >"$dir/sandbox.log" 2>&1 &
sandbox_pid=$!
wait_for "the sandbox's kubeconfig" 30000 test -s "$dir/demo/kubeconfig"

deck() { "$DD" --config "$cfg" "$@"; }

# Started directly (not through `deck`, a function: `$!` would be a subshell's pid).
"$DD" --config "$cfg" controller >/dev/null 2>"$dir/controller.log" &
controller_pid=$!

start_console() {
    tmux -L "$1" -f /dev/null new-session -d -x 120 -y 36 \
        "env $envs $DD --config $cfg 2>$dir/console-$1.err"
}
start_console "$sock_a"
start_console "$sock_b"
screen() { tmux -L "$1" capture-pane -p 2>/dev/null; }
shows() { screen "$1" | grep -q -- "$2"; }
console_ready() { shows "$1" "production" && shows "$1" "Synced\|OutOfSync"; }
wait_for "console A" 60000 console_ready "$sock_a"
wait_for "console B" 60000 console_ready "$sock_b"
# Start from a running fleet (the demo's dev auto-syncs; nothing is paused).
deck resume --all --confirm production >/dev/null 2>&1 || true
banner_gone() { ! shows "$sock_a" "ALL PAUSED" && ! shows "$sock_b" "ALL PAUSED"; }
wait_for "no banner before the first round" 30000 banner_gone

paused_in_log() {
    local n
    n=$(grep -cE "automation off: paused.*reason=$1\$" "$dir/controller.log" || true)
    (( n >= 3 ))
}

declare -a lat_a lat_b lat_c verb
printf '%-6s %10s %10s %12s %10s\n' round consoleA consoleB controller "(verb)"
for (( round = 1; round <= ROUNDS; round++ )); do
    reason="latency-round-$round"
    tv=$(now_ms)
    deck pause --all --reason "$reason" >/dev/null
    t0=$(now_ms)
    a="" b="" c=""
    while [[ -z $a || -z $b || -z $c ]]; do
        t=$(( $(now_ms) - t0 ))
        [[ -z $a ]] && shows "$sock_a" "ALL PAUSED" && a=$t
        [[ -z $b ]] && shows "$sock_b" "ALL PAUSED" && b=$t
        [[ -z $c ]] && paused_in_log "$reason" && c=$t
        if (( t > WAIT_LIMIT_MS )); then
            echo "round $round: not seen within ${WAIT_LIMIT_MS} ms (A=${a:-?} B=${b:-?} controller=${c:-?})" >&2
            exit 1
        fi
        [[ -z $a || -z $b || -z $c ]] && sleep "$POLL"
    done
    lat_a+=("$a") lat_b+=("$b") lat_c+=("$c") verb+=("$(( t0 - tv ))")
    printf '%-6s %8s ms %8s ms %10s ms %7s ms\n' "$round" "$a" "$b" "$c" "$(( t0 - tv ))"
    deck resume --all --confirm production >/dev/null
    wait_for "the banners to go (round $round)" "$WAIT_LIMIT_MS" banner_gone
done

# p50/p95/max, nearest rank.
stats() {
    printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
        END {
            p50 = v[int((NR * 50 + 99) / 100)]; p95 = v[int((NR * 95 + 99) / 100)]
            printf "p50 %5d ms   p95 %5d ms   max %5d ms   (n=%d)\n", p50, p95, v[NR], NR
        }'
}
echo
echo "from \`pause --all\` returning, polled every ${POLL}s (binary: $DD):"
echo "console A   $(stats "${lat_a[@]}")"
echo "console B   $(stats "${lat_b[@]}")"
echo "controller  $(stats "${lat_c[@]}")"
echo "(verb: \`pause --all\` itself, start to return; it returns once every pause is written)"
echo "verb        $(stats "${verb[@]}")"
