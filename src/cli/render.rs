//! `driftdeck render PATH | --env ENV [--revision R]`: rendered manifests as multi-document YAML.

use super::{CmdResult, GlobalArgs, RenderArgs};

pub fn run(_global: &GlobalArgs, _args: RenderArgs) -> CmdResult {
    super::not_yet("render", 2)
}
