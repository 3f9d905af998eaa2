#!/usr/bin/env bash
# Back-to-back commits (printed, not asserted): a separate `driftdeck sandbox` process, a headless
# `driftdeck controller` with dev on auto-sync, and a commit to dev every --every seconds without
# waiting. Prints each commit's fate from dev's history (applied / superseded / skipped / applied
# twice), commit → live p50/p95, and whether operations ran in commit order.
# See examples/back_to_back_commits.rs.
#
# usage: scripts/back-to-back-commits.sh [--commits N] [--every SECS] [--time-scale S]
# env:   PROFILE=release (default: dev — the debug build the tests use)  SKIP_BUILD=1
#        BIN=path/to/driftdeck (default: the build's own; e.g. an older release to compare)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
profile=${PROFILE:-dev}
case $profile in
  dev) dir=debug ;;
  *) dir=$profile ;;
esac
if [[ -z ${SKIP_BUILD:-} ]]; then
  echo "building driftdeck and the example (profile $profile)..." >&2
  (cd "$root" && cargo build --quiet --profile "$profile" --bin driftdeck --example back_to_back_commits)
fi
bin=${BIN:-$root/target/$dir/driftdeck}
example=$root/target/$dir/examples/back_to_back_commits
[[ -x $bin && -x $example ]] || { echo "$0: $bin or $example not built" >&2; exit 2; }
exec "$example" "$bin" "$@"
