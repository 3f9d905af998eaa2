#!/usr/bin/env bash
# Fault soak: 50 commits to dev at one per 2 s while the sandbox answers 20% of requests with
# 503, cuts every watch after 7 s and delays every request by 100 ms, controller running.
# Prints which commits were applied (in order) or superseded, and the commit→live latency
# figures (p50, p90, max, and the last commit's) measured while the faults are on.
#
# It runs the integration test `faults_convergence` scaled up (the test asserts order and
# once-only; the figures are only printed). Knobs: COMMITS (50), PACE_MS (2000).
# Usage: scripts/fault-soak.sh   (from anywhere; uses CARGO_TARGET_DIR if set)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
FAULT_SOAK_COMMITS=${COMMITS:-50} FAULT_SOAK_PACE_MS=${PACE_MS:-2000} \
  cargo test --locked --test it faults_convergence -- --nocapture >"$log" 2>&1 || {
    tail -n 60 "$log" >&2
    echo "$0: the fault soak failed (log above)" >&2
    exit 1
  }
grep '^fault soak:' "$log"
