//! The `driftdeck` binary: everything lives in the library; see `src/lib.rs` for the codemap.
//!
//! One thing lives here because it concerns the process, not a command: a panic hook that
//! turns std's "failed printing to stdout: Broken pipe" panic (a `println!` after the reader
//! of stdout went away, e.g. `driftdeck history dev | head -1`) into a quiet exit 141, as if
//! SIGPIPE had ended the process. Every other panic keeps the default report.

/// See the `mimalloc` entry in Cargo.toml for why the allocator is swapped.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if payload.starts_with("failed printing to stdout") && payload.contains("Broken pipe") {
            std::process::exit(i32::from(driftdeck::cli::STDOUT_CLOSED_EXIT));
        }
        default_hook(info);
    }));
    driftdeck::cli::run()
}
