# Shared by the measurement scripts (sourced, not run): which binary to measure.
# BIN=path/to/driftdeck wins; else target/release/driftdeck if built, else target/debug.
# Exits 2 naming what is missing; extra arguments are commands that must be on PATH.
pick_bin() {
  local root=$1; shift
  if [[ -z ${BIN:-} ]]; then
    if [[ -x $root/target/release/driftdeck ]]; then BIN=$root/target/release/driftdeck
    else BIN=$root/target/debug/driftdeck; fi
  fi
  [[ -x $BIN ]] || { echo "$0: $BIN not built (cargo build [--release])" >&2; exit 2; }
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$0: $tool not found" >&2; exit 2; }
  done
}
