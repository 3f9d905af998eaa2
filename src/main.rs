//! The `driftdeck` binary: everything lives in the library; see `src/lib.rs` for the codemap.

fn main() -> std::process::ExitCode {
    driftdeck::cli::run()
}
