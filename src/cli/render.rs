//! `driftdeck render PATH | --env ENV [--revision R]`: rendered manifests as multi-document
//! YAML on stdout. `PATH` is a folder on disk rendered with the native renderer (kustomize or
//! plain YAML); `--env ENV` renders a configured env from the committed Git tree at a revision
//! (default: the branch head), never the working tree. Errors go to stderr and exit 2.

use std::path::Path;

use super::{CmdResult, Failure, GlobalArgs, RenderArgs, load_config};
use crate::controller;
use crate::render::{DiskFs, Renderer, render, to_yaml};

pub fn run(global: &GlobalArgs, args: RenderArgs) -> CmdResult {
    let Some(path) = args.path else {
        let name = args.env.unwrap_or_default();
        let config = load_config(global)?;
        let env = config
            .env(&name)
            .ok_or_else(|| Failure::Setup(super::unknown_env(&config, &name)))?;
        let source = controller::open_source(&config).map_err(Failure::setup)?;
        let desired =
            controller::desired(&source, env, args.revision.as_deref()).map_err(Failure::setup)?;
        print!("{}", to_yaml(&desired.rendered.manifests));
        return Ok(());
    };
    let (root, rel) = split(&path);
    let fs = DiskFs::new(root);
    let rendered = render(&fs, &rel, &Renderer::Auto).map_err(|e| Failure::setup(e.rooted("/")))?;
    print!("{}", to_yaml(&rendered.manifests));
    Ok(())
}

/// The folder becomes the root of the file system, so a kustomization can reach siblings of
/// the rendered folder: the root is the filesystem root of an absolute path, or the current
/// folder for a relative one; `rel` is the path below it.
fn split(path: &Path) -> (std::path::PathBuf, String) {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let rel: Vec<String> = abs
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            std::path::Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    (Path::new("/").to_path_buf(), rel.join("/"))
}
