//! `driftdeck demo init DIR`: writes the demo repo and config, then says what it wrote and how
//! to start.

use std::path::Path;

use super::{CmdResult, Failure};
use crate::demo;

pub fn init(dir: &Path) -> CmdResult {
    let layout = demo::init(dir).map_err(Failure::setup)?;
    let short = layout.head.get(..7).unwrap_or(&layout.head);
    println!(
        "wrote {} (git, branch {}, {} commits by {}; HEAD {short})",
        layout.repo.display(),
        layout.branch,
        layout.commits,
        layout.authors.join(", "),
    );
    println!(
        "wrote {} (environments dev, staging, production, prod-us-east, prod-eu-west, prod-ap-south; rollout prod-regions; kubeconfig {})",
        layout.config.display(),
        layout.kubeconfig.display(),
    );
    println!(
        "next: point {} at clusters with contexts dev, staging, production, prod-us-east, prod-eu-west and prod-ap-south (or run `driftdeck demo`), then `driftdeck --config {}`",
        layout.kubeconfig.display(),
        layout.config.display(),
    );
    Ok(())
}
