#!/usr/bin/env bash
# Times `driftdeck render PATH` against `kubectl kustomize PATH` on (a) the demo's production
# overlay (from `driftdeck demo init` into a temp dir) and (b) the large generated repo
# (scripts/gen-large-repo.sh, ~500 resources). Prints mean wall times and the ratio; asserts
# nothing. Uses hyperfine when installed, else a loop timed with `date +%s%N`.
#
# usage: scripts/render-speed.sh            RUNS=20 scripts/render-speed.sh
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-10}
bin="$root/target/release/driftdeck"

echo "== building release binary"
if ! (cd "$root" && cargo build --release --quiet); then
  echo "release build failed" >&2
  exit 1
fi
command -v kubectl >/dev/null || { echo "kubectl not found: nothing to compare against" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin" demo init "$work/demo" >/dev/null || { echo "driftdeck demo init failed" >&2; exit 1; }
"$root/scripts/gen-large-repo.sh" "$work/large" >/dev/null

# mean_ms NAME CMD... : prints the mean wall time in ms, or FAILED (with the command's stderr).
mean_ms() {
  local name=$1; shift
  if ! "$@" >/dev/null 2>"$work/err"; then
    echo "FAILED"
    sed 's/^/    /' "$work/err" | head -3 >&2
    return 1
  fi
  if command -v hyperfine >/dev/null; then
    hyperfine --warmup 2 --runs "$runs" --export-json "$work/$name.json" --style none \
      "$(printf '%q ' "$@")" >/dev/null 2>&1 || { echo "FAILED"; return 1; }
    awk -F': *' '/"mean"/ {gsub(/,/, "", $2); printf "%.1f\n", $2 * 1000; exit}' "$work/$name.json"
  else
    local start end
    start=$(date +%s%N)
    for ((i = 0; i < runs; i++)); do "$@" >/dev/null 2>&1; done
    end=$(date +%s%N)
    awk -v ns=$(( end - start )) -v n="$runs" 'BEGIN { printf "%.1f\n", ns / n / 1e6 }'
  fi
}

tool=$(command -v hyperfine >/dev/null && echo hyperfine || echo "date +%s%N loop")
echo "== mean wall time over $runs runs ($tool)"
printf '%-34s %14s %14s %10s\n' "input" "driftdeck ms" "kubectl ms" "ratio"
for case in "demo-production:$work/demo/repo/overlays/production" "large-500:$work/large/overlays/large"; do
  name=${case%%:*}
  path=${case#*:}
  objects=$(kubectl kustomize "$path" | grep -c '^kind:')
  k=$(mean_ms "kubectl-$name" kubectl kustomize "$path")
  d=$(mean_ms "driftdeck-$name" "$bin" render "$path")
  ratio=$(awk -v d="$d" -v k="$k" 'BEGIN { if (d ~ /^[0-9.]+$/ && k + 0 > 0) printf "%.2fx", d / k; else print "n/a" }')
  printf '%-34s %14s %14s %10s\n' "$name ($objects objects)" "$d" "$k" "$ratio"
done
echo "(ratio = driftdeck / kubectl; below 1 means driftdeck is faster)"
