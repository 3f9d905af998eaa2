#!/usr/bin/env bash
# Pause race: `driftdeck pause dev` from the CLI while an in-process controller holding dev's
# Lease has drift for self-heal to repair, REPETITIONS times (20); after each pause returns, no
# automatic operation may start and nothing may be applied unless an operation was in flight.
# Prints how long it took, in which repetitions a heal was in flight when the pause returned,
# and how many heals the start gate dropped.
#
# It runs the integration test `pause_race` (which asserts; the figures are only printed).
# Usage: scripts/pause-race.sh   (from anywhere; uses CARGO_TARGET_DIR if set)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
PAUSE_RACE_REPETITIONS=${REPETITIONS:-20} \
  cargo test --locked --test it pause_race -- --nocapture >"$log" 2>&1 || {
    tail -n 60 "$log" >&2
    echo "$0: the pause race failed (log above)" >&2
    exit 1
  }
grep '^pause race:' "$log"
