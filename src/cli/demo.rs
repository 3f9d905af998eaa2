//! `driftdeck demo init DIR`.

use std::path::Path;

use super::CmdResult;

pub fn init(_dir: &Path) -> CmdResult {
    super::not_yet("demo init", 2)
}
