//! The command line: clap types for the whole CLI contract (ARCHITECTURE.md, "CLI contract")
//! and one file per command. This is the composition root: it may import every module and is
//! the only place that wires them together for scripts.
//!
//! Exit codes: 0 success, 1 the action failed or drift was found, 2 usage, config or connection
//! error. Errors are printed to stderr as one or two plain lines by [`run`]; commands return
//! [`Failure`] rather than printing and exiting themselves.
//!
//! Decisions on the terminal: log lines on stderr carry ANSI colour only when stderr is a
//! terminal and `NO_COLOR` is unset (a CI log or `2>file` gets plain text). When the reader of
//! stdout goes away (`driftdeck status | head -1`) the command stops quietly with exit 141, what
//! a process killed by SIGPIPE reports to the shell, instead of printing "Broken pipe": a
//! command that writes with `write!` returns [`Failure::StdoutClosed`]; one that still uses
//! `println!` panics inside std, and `main`'s panic hook turns exactly that panic into the same
//! quiet exit.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// A terminal operations console for GitOps.
#[derive(Debug, Parser)]
#[command(name = "driftdeck", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Commands>,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Config file (default: ./driftdeck.yaml, then the user config dir).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Refuse every mutating action (enforced by the controller, not just the keys).
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Colour theme: dark, light, high-contrast, monochrome, or a theme file.
    #[arg(long, global = true, value_name = "THEME")]
    pub theme: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Run the embedded sandbox cluster, a demo repo and the console (no setup needed).
    Demo(DemoArgs),
    /// Serve the sandbox Kubernetes API; one kubeconfig context per cluster.
    Sandbox(SandboxArgs),
    /// Read-only wall-monitor view.
    Watch,
    /// Headless reconcile loop (logs to stderr); /metrics, /healthz and /readyz with --metrics.
    Controller(controller::ControllerArgs),
    /// Per env: revision, synced revision, sync, health, drift, paused, hold, lease, error.
    Status(OutputArgs),
    /// Image per workload per env (live), synced revisions; promotable cells marked.
    Versions(OutputArgs),
    /// Unified diff of live against Git; exit 0 no drift, 1 drift, 2 error.
    Diff(DiffArgs),
    /// Apply an env's rendered state to its cluster.
    Sync(SyncArgs),
    /// Copy FROM's image versions into TO's path in Git as one commit.
    Promote(PromoteArgs),
    /// Apply an earlier revision and hold the env there.
    Rollback(RollbackArgs),
    /// Stop auto-sync and self-heal for an env (or all: the emergency stop).
    Pause(PauseArgs),
    /// Undo a pause (and end a hold).
    Resume(ResumeArgs),
    /// Git commits for the env and its operations.
    History(HistoryArgs),
    /// Rendered manifests as multi-document YAML.
    Render(RenderArgs),
    /// The five DORA metrics from Git and the clusters' operation history.
    Dora(dora::DoraArgs),
    /// Progressive rollouts across regions: start, status, stop, resume.
    Rollout(rollout::RolloutArgs),
    /// List a context's Argo CD Applications and Flux Kustomizations as a config block.
    Engines(engines::EnginesArgs),
    /// Check the config, the repo and every env's context and RBAC; exit 1 when a check fails.
    Doctor,
    /// Print a shell completion script (bash, zsh or fish).
    Completions(completions::CompletionsArgs),
    /// Print the manual page (or write one page per verb with --dir).
    Man(man::ManArgs),
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(subcommand)]
    pub action: Option<DemoAction>,
    /// Wall-monitor view instead of the interactive console.
    #[arg(long)]
    pub watch: bool,
}

#[derive(Debug, Subcommand)]
pub enum DemoAction {
    /// Write DIR/repo (git, with history) and DIR/driftdeck.yaml.
    Init {
        /// Folder to write into (created if missing).
        dir: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Address to listen on, e.g. 127.0.0.1:6443 (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: String,
    /// Kubeconfig to write, with one context per cluster.
    #[arg(long)]
    pub kubeconfig: PathBuf,
    /// Simulated clusters, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "dev,staging,production")]
    pub clusters: Vec<String>,
    /// Bearer token clients must send (default: none required).
    #[arg(long)]
    pub token: Option<String>,
    /// Allow listening on a non-loopback address.
    #[arg(long)]
    pub allow_remote: bool,
    /// Simulated time runs this many times faster (pod start-up, deadlines).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format: text for people, json for scripts.
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Environment to diff (a name from the config).
    pub env: String,
    /// Git revision to compare against (default: the branch head).
    #[arg(long)]
    pub revision: Option<String>,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Environment to sync (a name from the config).
    pub env: String,
    /// Git revision to apply (default: the branch head).
    #[arg(long)]
    pub revision: Option<String>,
    /// Show what would change (server-side dry-run) and apply nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also delete managed objects that Git no longer has.
    #[arg(long)]
    pub prune: bool,
    /// Type the env's name to confirm a protected env.
    #[arg(long, value_name = "ENV")]
    pub confirm: Option<String>,
    /// Deploy a revision automation skips (held by a rollback or failed) anyway.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// Environment whose image versions are copied.
    pub from: String,
    /// Environment whose path in Git receives them.
    pub to: String,
    /// Make the commit; without it the rendered diff is printed and nothing changes.
    #[arg(long)]
    pub yes: bool,
    /// Commit message (default: promote(FROM→TO): the image changes).
    #[arg(short = 'm', long = "message")]
    pub message: Option<String>,
    /// Promote even when FROM is not Synced and Healthy.
    #[arg(long)]
    pub force: bool,
    /// Type the target env's name to confirm a protected env.
    #[arg(long, value_name = "ENV")]
    pub confirm: Option<String>,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Environment to roll back.
    pub env: String,
    /// Revision to roll back to (default: the previous last_good).
    #[arg(long)]
    pub to: Option<String>,
    /// Also commit a `git revert` of the bad commits.
    #[arg(long)]
    pub revert: bool,
    /// Type the env's name to confirm a protected env.
    #[arg(long, value_name = "ENV")]
    pub confirm: Option<String>,
}

#[derive(Debug, Args)]
pub struct PauseArgs {
    /// Environment to pause.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub env: Option<String>,
    /// Pause every configured env (the emergency stop).
    #[arg(long)]
    pub all: bool,
    /// Why, recorded with the pause and shown everywhere.
    #[arg(long, default_value = "")]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// Environment to resume.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub env: Option<String>,
    /// Resume every configured env.
    #[arg(long)]
    pub all: bool,
    /// Type each protected env's name to confirm it (repeat for several).
    #[arg(long, value_name = "ENV")]
    pub confirm: Vec<String>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Environment whose history to list.
    pub env: String,
    /// Output format: text for people, json for scripts.
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    pub output: OutputFormat,
    /// Commits per page.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Commits to skip (for paging).
    #[arg(long, default_value_t = 0)]
    pub skip: usize,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// A folder on disk (kustomization or plain YAML).
    #[arg(required_unless_present = "env", conflicts_with = "env")]
    pub path: Option<PathBuf>,
    /// Render a configured env from Git instead.
    #[arg(long)]
    pub env: Option<String>,
    /// Revision for --env (default: the branch head).
    #[arg(long, requires = "env")]
    pub revision: Option<String>,
}

/// How a command ended when it did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// The action failed or drift was found: exit 1, with an optional message.
    Action(Option<String>),
    /// Usage, config or connection error: exit 2.
    Setup(String),
    /// Stdout was closed by its reader: stop quietly with [`STDOUT_CLOSED_EXIT`].
    StdoutClosed,
}

/// The exit code when stdout's reader went away: 128 + SIGPIPE, as the shell reports a
/// process that SIGPIPE ended.
pub const STDOUT_CLOSED_EXIT: u8 = 141;

impl Failure {
    pub fn setup(e: impl std::fmt::Display) -> Self {
        Failure::Setup(e.to_string())
    }

    pub fn action(e: impl std::fmt::Display) -> Self {
        Failure::Action(Some(e.to_string()))
    }

    /// A failed write to stdout: quiet when the reader closed the pipe, else a setup error.
    pub fn stdout(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Failure::StdoutClosed
        } else {
            Failure::Setup(format!("writing to stdout: {e}"))
        }
    }
}

pub type CmdResult = Result<(), Failure>;

/// Parses arguments, runs the command, prints any error and maps it to the exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = dispatch(cli);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Action(msg)) => {
            if let Some(msg) = msg {
                eprintln!("driftdeck: {msg}");
            }
            ExitCode::from(1)
        }
        Err(Failure::Setup(msg)) => {
            eprintln!("driftdeck: {msg}");
            ExitCode::from(2)
        }
        Err(Failure::StdoutClosed) => ExitCode::from(STDOUT_CLOSED_EXIT),
    }
}

fn dispatch(cli: Cli) -> CmdResult {
    let global = cli.global;
    // The console commands log to a file (the terminal is theirs); every other command logs to
    // stderr, `RUST_LOG` filtering, default warnings only.
    let console = matches!(
        cli.command,
        None | Some(Commands::Watch) | Some(Commands::Demo(DemoArgs { action: None, .. }))
    );
    if !console {
        // The headless controller logs its work at info; the other commands only warnings.
        let controller = matches!(cli.command, Some(Commands::Controller(_)));
        // A verb's env tasks warn about every failed poll (a fetch, a state read); the verb
        // reports the failure that matters once, as its own last line, so their warnings are
        // off for verbs and stay on for the headless controller, whose log is its only voice.
        init_stderr_logging(if controller {
            "info"
        } else {
            "warn,driftdeck::controller::driver=error"
        });
    }
    match cli.command {
        None => console::console(&global),
        Some(Commands::Render(args)) => render::run(&global, args),
        Some(Commands::Demo(DemoArgs {
            action: Some(DemoAction::Init { dir }),
            ..
        })) => demo::init(&dir),
        Some(Commands::Demo(args)) => console::demo(&global, args.watch),
        Some(Commands::Sandbox(args)) => sandbox::run(args),
        Some(Commands::Watch) => console::watch(&global),
        Some(Commands::Controller(args)) => controller::run(&global, args),
        Some(Commands::Status(args)) => status::run(&global, args),
        Some(Commands::Versions(args)) => versions::run(&global, args),
        Some(Commands::Diff(args)) => diff::run(&global, args),
        Some(Commands::Sync(args)) => verbs::sync(&global, args),
        Some(Commands::Promote(args)) => promote::run(&global, args),
        Some(Commands::Rollback(args)) => verbs::rollback(&global, args),
        Some(Commands::Pause(args)) => verbs::pause(&global, args),
        Some(Commands::Resume(args)) => verbs::resume(&global, args),
        Some(Commands::History(args)) => history::run(&global, args),
        Some(Commands::Dora(args)) => dora::run(&global, args),
        Some(Commands::Rollout(args)) => rollout::run(&global, args),
        Some(Commands::Engines(args)) => engines::run(&global, args),
        Some(Commands::Doctor) => doctor::run(&global),
        Some(Commands::Completions(args)) => completions::run(args),
        Some(Commands::Man(args)) => man::run(args),
    }
}

/// Finds and loads the config file (flag, ./driftdeck.yaml, user config dir).
pub(crate) fn load_config(global: &GlobalArgs) -> Result<crate::config::Config, Failure> {
    let path = crate::config::discover(global.config.as_deref()).map_err(Failure::setup)?;
    crate::config::load(&path).map_err(Failure::setup)
}

/// kube-client logs every failed request at error level from its client builder; the command
/// reports the same failure once, as a plain line naming the context, so by default that
/// per-request echo is off (`RUST_LOG` still turns it on).
pub(crate) const QUIET_KUBE_CLIENT: &str = "kube_client::client::builder=off";

fn init_stderr_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{default},{QUIET_KUBE_CLIENT}"))
    });
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .try_init();
}

/// A multi-threaded runtime for the async commands.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Setup(format!("starting the async runtime: {e}")))
}

/// The message for an env name the config does not have, listing the ones it does.
pub(crate) fn unknown_env(config: &crate::config::Config, name: &str) -> String {
    let names: Vec<&str> = config
        .environments
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    format!(
        "{}: no environment named {name:?} (configured: {})",
        config.file.display(),
        names.join(", ")
    )
}

mod access;
mod completions;
mod console;
mod controller;
mod demo;
mod diff;
mod doctor;
mod dora;
mod dry_run;
mod engines;
mod history;
mod man;
mod promote;
mod render;
mod rollout;
mod rollout_drive;
mod rollout_verbs;
mod sandbox;
mod status;
mod verbs;
mod versions;
