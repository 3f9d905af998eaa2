#!/usr/bin/env bash
# Issue 5's acceptance figures (printed, not asserted): with dev on auto-sync in the in-process
# sandbox, 20 commits to dev's log-api image, p50/p95 of commit → live (the Deployment's pod
# template carries the commit's image); then 10 `kubectl scale` of dev's log-api, p50/p95 of
# the self-heal back to Git's replicas. See examples/commit_to_live.rs for what is timed.
#
# usage: scripts/commit-to-live.sh [--commits N] [--heals M] [--heal-gap SECS] [--time-scale S]
# env:   PROFILE=release (default: dev — the debug build the tests use)  SKIP_BUILD=1
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
profile=${PROFILE:-dev}
case $profile in
  dev) dir=debug ;;
  *) dir=$profile ;;
esac
command -v kubectl >/dev/null || { echo "$0: kubectl not found" >&2; exit 2; }
if [[ -z ${SKIP_BUILD:-} ]]; then
  echo "building driftdeck and the example (profile $profile)..." >&2
  (cd "$root" && cargo build --quiet --profile "$profile" --bin driftdeck --example commit_to_live)
fi
bin=$root/target/$dir/driftdeck
example=$root/target/$dir/examples/commit_to_live
[[ -x $bin && -x $example ]] || { echo "$0: $bin or $example not built" >&2; exit 2; }
exec "$example" "$bin" "$@"
