//! `driftdeck history ENV [-o json]`: Git commits that touched the env's inputs.

use super::{CmdResult, GlobalArgs, HistoryArgs};

pub fn run(_global: &GlobalArgs, _args: HistoryArgs) -> CmdResult {
    super::not_yet("history", 2)
}
