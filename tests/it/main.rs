//! The one integration-test binary (ripgrep style). Modules:
//!
//! - `controller_*`: the real binary's verbs and `controller` children against
//!   the sandbox: commit→live, self-heal, pause, bad release, rollback, promote, two controllers,
//!   faults, prune, read-only, kill -9 mid-sync
//! - `controller_support`: sandbox + demo repo + per-env policy config, controller children, Git
//!   commits, waits with deadlines, cluster-held state read from the store
//! - `argocd_standin`: a stand-in for Argo CD's application controller (status as the engine README documents it; reacts to `operation` writes)
//! - `engine_console_tmux`: the console in tmux over a driftdeck, an Argo CD and a Flux env on a sandbox with the engines' CRDs: each row names its engine; `s` on the Argo CD env writes the sync operation, `r` rolls it back to a picked Argo CD deployment
//! - `engine_argocd`: envs driven by Argo CD Applications with the real CRD, on the real tier and the sandbox: status, sync (schema-valid operation, busy refusal, Succeeded/Failed), rollback pinned to history (refused while automated), pause/resume, refresh annotation, diff from status.resources, read-only and protected envs; the row keeps its live images and pods through the console's sync and rollback
//! - `atomic_self_heal`: a live edit is healed to the synced revision while the head is rejected by the server (real tier and sandbox)
//! - `atomic_sync`: all-or-nothing sync on the real API server tier and the sandbox (same code): a rejected object leaves nothing of its commit live, oversize objects refused before sending, ports without `protocol` on v1.20, a CRD and its custom resource in one env
//! - `atomic_server_rules`: rules sync relies on, held by the real v1.20 server and the sandbox alike (schema 422/refusal, size limit, stringData, no-op apply keeps the resourceVersion)
//! - `atomic_support`: a real-tier or sandbox server, a temporary repo with one plain-YAML env, the binary and kubectl
//! - `console`: apply_env and the controller driver against the sandbox; `driftdeck demo` in tmux
//! - `copy_osc52_tmux`: `driftdeck demo` in tmux with `set-clipboard on`: `c` puts a commit's full sha, then the live YAML shown, in tmux's paste buffer through OSC 52
//! - `config`: valid and invalid `driftdeck.yaml` fixtures
//! - `demo`: `driftdeck demo init` into a temp dir: history, HEAD tree, config, kustomize
//! - `demo_start`: `driftdeck demo` draws before it prepares; preparation errors reach the console, then stderr with exit 2
//! - `dora`: `dora -o json` on a generated repo and operation history returns the known values of all five DORA metrics
//! - `diff`: desired vs live in both strategies, phantom and true drift, Secret masking
//! - `rollout_feed`: a driver over every demo env publishes a rollout's cluster-held record (and its read error) in `Snapshot.rollouts`
//! - `driver`: the controller driver in-process: sync + ConfigMap history, pause, read-only, render error
//! - `drift`: kubectl changes against a sandbox, `diff`/`status` exit codes, paths, Secret masking, unreachable cluster
//! - `engine_flux`: envs driven by a Flux Kustomization on the real API server tier with Flux's CRDs and on the sandbox (same code): status from the CR, sync sets requestedAt and waits for lastHandledReconcileAt, pause/resume toggle suspend + suspendedBy, diff is driftdeck's render vs live (exit 1 on drift), read-only and --confirm, rollback refused; `driftdeck engines` output pasted into a config loads and shows all three envs
//! - `flux_standin`: the stand-in for Flux's source-controller and kustomize-controller (what it does and does not)
//! - `drift_support`: demo repo + sandbox + kubectl + the binary for the drift tests
//! - `install_cli`: help text on every argument, bash/zsh/fish completions, man pages, `kubectl driftdeck` as a plugin
//! - `install_doctor`: `doctor` passes on the demo, names the verb a view-only user lacks, names a dead context's address
//! - `faults_convergence`: commits at a steady pace under 503s, watch drops and latency apply in
//!   order, once, and converge (scaled up by `scripts/fault-soak.sh`)
//! - `faults_visible`: a Git remote gone shows in `status` with the last good revision; an empty
//!   render is refused with exit 1
//! - `held_state`: ConfigMap/Lease cluster-held state against the sandbox; status/history/diff of it
//! - `git_remote_ssh`, `git_remote_https`: real Git servers on loopback (OpenSSH sshd + ssh-agent + known_hosts; git http-backend behind TLS + basic auth + a credential helper): clone, fetch, push a promotion; unknown host key and wrong password fail in one line
//! - `git_remote_support`: those servers (required tools fail loudly), watchdog-guarded processes
//! - `health`:
//! - `metrics`: `controller --metrics` on the sandbox: `/metrics` parsed by a Prometheus text parser has every env's series; `/readyz`, `/healthz`; a non-loopback address refused
//! - `notify`: a webhook receiver on loopback gets one JSON notification per failed validation and auto-rollback from the controller, none while the env is healthy
//! - `object_views`: the object views' feed on the sandbox: a pod's owner chain, desired YAML from the render, managedFields only in the full view, a Secret's value never shown
//! - `promote`: promotion plans and commits on the demo repo, a plain-YAML env, a `file://` remote
//! - `publish`: commits pushed without force, a rejected push re-made once, three-way revert
//! - `real_drift_heal`: self-heal removes a hand-added env var in exactly one operation and then stays quiet, on the real API server and the sandbox
//! - `real_drift_matrix`: no false drift for any creation path (sync, kubectl apply server/client-side, create, replace) × every kind, on the real API server and the sandbox
//! - `real_drift_support`: one drift bench (namespace, Git repo, config, kubectl, the binary) on either server, kinds picked through discovery
//! - `real_drift_true`: nine kinds of true drift reported by `diff` and removed by one sync, on the real API server and the sandbox
//! - `real_access`: least privilege on the real tier — users bound to `deploy/rbac/driftdeck-viewer.yaml`, `driftdeck-operator.yaml` and the built-in `view` role each do exactly their mode (one-line refusals, nothing changed); prune candidates at the version 1.20 serves; plain errors, no ANSI on a pipe, a closed stdout ends quietly
//! - `realk8s_support`: the real API server tier (`../shared/realk8s`), started once per binary and shared; kubectl and kube clients for its contexts
//! - `realk8s_tier`: the tier itself defaults objects and refuses the view-only user's writes
//! - `render`: kustomize conformance corpus, external renderer, plain YAML, errors, no-panic property
//! - `render_env`: `demo init` then `render --env` equals `kubectl kustomize` for every env; committed tree only
//! - `rollout`: `driftdeck rollout` on the sandbox with three region clusters: waves in order with one promotion each, a crashloop version halting at wave 1 with every region paused, a driver killed mid-soak continued from the same wave
//! - `safety_cli`: unconfirmed verbs on a protected env exit 2, say what they would do, change neither cluster nor Git; `promote_from` is followed unless `--force`, which is recorded
//! - `pause_race`: `pause dev` from the CLI 20 times while an in-process controller holding dev's Lease has drift for self-heal to repair: after the verb returns no automatic operation starts and nothing is applied unless an operation recorded before it was in flight
//! - `safety_pause`: `pause --all` with two controllers running: no apply starts after it returns (20 rounds), every env shows who paused and why
//! - `safety_git`: driftdeck's commits name the configured user with an operator trailer, leave a clean checkout clean, refuse a dirty one, and survive two push races
//! - `sandbox_cli`: `driftdeck sandbox` as a process (startup line, kubeconfig, SIGTERM)
//! - `sandbox_faults`: each fault mode as a kube client observes it
//! - `sandbox_kube`: the sandbox through kube-rs (CRUD, SSA, dry-run, watch, reflector, 410)
//! - `sandbox_kubectl`: the real kubectl against the sandbox (fails loudly without kubectl)
//! - `sandbox_support`: start a sandbox on 127.0.0.1:0 with a kubeconfig; kube clients
//! - `source`: git2 against real temporary repositories (local, `file://` remotes, history, commits)
//! - `terminal_restore`: `driftdeck demo` in tmux ended by SIGINT/QUIT/TERM/HUP and by injected panics: the terminal is restored each time
//! - `triage_feed`: the logs/events feeder on the sandbox (crash-looping pod's FATAL line, BackOff warnings) and the real tier (real controller events, per object, watched; an unscheduled pod's empty log)
//! - `triage_tmux`: `driftdeck demo` in tmux: a crashloop image set behind the console's back → Degraded, failing pod first, its log and BackOff events
//! - `tmux_support`: a tmux server on its own socket for the console tests (screen reads, waits with a deadline)
//! - `tmux_e2e`: `driftdeck demo` in tmux driven by keys: drift heals, promote with a typed message, break + rollback (hold banner), pause/resume, clean quit
//! - `watch_stale`: `driftdeck watch` in tmux against a `driftdeck sandbox` process: killed → every tile STALE with the header's "since", restarted on the same address → fresh
//! - `watched_env_cost`: a running controller on the sandbox, counted by its request tally: an idle env costs no list and no dry-run over six Lease renewals; one changed object costs at most two requests
//! - `sync_writes`: a sync writes only what changes — a one-image promotion applies exactly one object and `diff` is clean after it; a later ordering stage waits for every object of the earlier one (real API server and sandbox)
//! - `tui`: console snapshots (insta, TestBackend at 120×36 and 80×24), 16-colour and NO_COLOR snapshots with styles, colour legibility

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod argocd_standin;
mod atomic_self_heal;
mod atomic_server_rules;
mod atomic_support;
mod atomic_sync;
mod config;
mod console;
mod controller_bad_release;
mod controller_commit_to_live;
mod controller_interrupted_mid_sync;
mod controller_lease_failover;
mod controller_promote;
mod controller_prune;
mod controller_read_only;
mod controller_support;
mod controller_under_faults;
mod copy_osc52_tmux;
mod demo;
mod demo_start;
mod diff;
mod dora;
mod drift;
mod drift_support;
mod driver;
mod engine_argocd;
mod engine_console_tmux;
mod engine_flux;
mod engine_versions;
mod faults_convergence;
mod faults_visible;
mod flux_standin;
mod git_remote_https;
mod git_remote_ssh;
mod git_remote_support;
mod health;
mod held_state;
mod install_cli;
mod install_doctor;
mod metrics;
mod notify;
mod object_views;
mod pause_race;
mod promote;
mod publish;
mod real_access;
mod real_drift_heal;
mod real_drift_matrix;
mod real_drift_support;
mod real_drift_true;
mod real_rollback;
mod real_status;
mod realk8s_support;
mod realk8s_tier;
mod render;
mod render_env;
mod render_features;
mod rollout;
mod rollout_feed;
mod safety_cli;
mod safety_git;
mod safety_pause;
mod sandbox_cli;
mod sandbox_faults;
mod sandbox_kube;
mod sandbox_kubectl;
mod sandbox_support;
mod source;
mod status_console_agree;
mod sync_writes;
mod terminal_restore;
mod tmux_e2e;
mod tmux_support;
mod triage_feed;
mod triage_tmux;
mod tui;
mod watch_stale;
mod watched_env_cost;
