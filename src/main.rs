//! The `driftdeck` binary: everything lives in the library; see `src/lib.rs` for the codemap.

/// See the `mimalloc` entry in Cargo.toml for why the allocator is swapped.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    driftdeck::cli::run()
}
