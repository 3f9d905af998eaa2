#!/usr/bin/env bash
# Times every case of a kustomize conformance corpus (default: the real-world one,
# ../shared/conformance/kustomize-wild) once with `target/release/driftdeck render` and once
# with `kubectl kustomize`, case by case in the same run, and prints both totals, both
# per-case medians and the ratios. Exit status and output of the renders are ignored (a refused
# case costs what it costs); asserts nothing. Build the release binary first.
#
# usage: scripts/render-corpus-speed.sh [CORPUS_DIR]
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
corpus=${1:-$root/../shared/conformance/kustomize-wild}
bin="$root/target/release/driftdeck"
[ -x "$bin" ] || { echo "no $bin: run cargo build --release first" >&2; exit 1; }
command -v kubectl >/dev/null || { echo "kubectl not found: nothing to compare against" >&2; exit 1; }

# ms CMD... : wall time of one run in milliseconds (output discarded).
ms() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1
  end=$(date +%s%N)
  echo $(( (end - start) / 1000 ))
}

d_times=() k_times=()
for case_yaml in "$corpus"/*/case.yaml; do
  dir=$(dirname "$case_yaml")
  entry=$(awk '/^entry:/ {print $2; exit}' "$case_yaml")
  path="$dir/${entry:-.}"
  d_times+=("$(ms "$bin" render "$path")")
  k_times+=("$(ms kubectl kustomize "$path")")
done

# stats LIST... : "total_ms median_ms" from microsecond samples.
stats() {
  printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1; s += $1 }
    END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2;
          printf "%.1f %.2f\n", s / 1000, m / 1000 }'
}
read -r d_total d_median <<<"$(stats "${d_times[@]}")"
read -r k_total k_median <<<"$(stats "${k_times[@]}")"
echo "cases: ${#d_times[@]} in $corpus"
printf '%-10s %12s %14s\n' "" "total ms" "median ms/case"
printf '%-10s %12s %14s\n' driftdeck "$d_total" "$d_median"
printf '%-10s %12s %14s\n' kubectl "$k_total" "$k_median"
awk -v a="$k_total" -v b="$d_total" -v c="$k_median" -v d="$d_median" \
  'BEGIN { printf "ratio (kubectl/driftdeck): total %.1fx, median %.1fx\n", a / b, c / d }'
