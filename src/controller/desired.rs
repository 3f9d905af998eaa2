//! "What does Git want for this environment at this revision": resolve the revision, read its
//! tree without a checkout, render the env's path. The first stage of the pipeline, shared by
//! `render --env`, `history`, `status`, `diff`, sync and promotion previews.

use std::path::PathBuf;

use crate::config::{Config, EnvConfig};
use crate::model::Revision;
use crate::render::{self, EntryKind, FileSystem, FsError, Rendered, Renderer};
use crate::source::{self, RepoSpec, Source};

/// A render of one env at one revision.
#[derive(Debug)]
pub struct Desired {
    pub revision: Revision,
    pub rendered: Rendered,
}

#[derive(Debug, thiserror::Error)]
pub enum DesiredError {
    #[error(transparent)]
    Source(#[from] source::Error),
    #[error("env {env} at {revision}: {error}")]
    Render {
        env: String,
        revision: String,
        error: render::Error,
    },
}

/// Where remote repositories are cloned (bare): the user's cache dir, or a temp dir when the
/// platform has none.
pub fn cache_dir() -> PathBuf {
    directories::ProjectDirs::from("io", "driftdeck", "driftdeck")
        .map(|d| d.cache_dir().join("repos"))
        .unwrap_or_else(|| std::env::temp_dir().join("driftdeck-repos"))
}

pub fn open_source(config: &Config) -> Result<Source, source::Error> {
    let spec = RepoSpec {
        url: config.repo.url.clone(),
        branch: config.repo.branch.clone(),
    };
    Source::open(&spec, &cache_dir())
}

pub fn renderer_for(env: &EnvConfig) -> Renderer {
    match &env.renderer {
        Some(r) => Renderer::External {
            command: r.command.clone(),
        },
        None => Renderer::Auto,
    }
}

/// The env's folder as a '/'-separated repo-relative path, as render and source take it.
pub fn env_path(env: &EnvConfig) -> String {
    env.path
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Renders `env` at `revision` (default: the branch head).
pub fn desired(
    source: &Source,
    env: &EnvConfig,
    revision: Option<&str>,
) -> Result<Desired, DesiredError> {
    let revision = source.resolve(revision)?;
    let tree = source.tree(&revision.sha)?;
    let rendered =
        render::render(&GitFs(&tree), &env_path(env), &renderer_for(env)).map_err(|error| {
            DesiredError::Render {
                env: env.name.clone(),
                revision: crate::model::short_sha(&revision.sha).to_owned(),
                error,
            }
        })?;
    Ok(Desired { revision, rendered })
}

/// A git tree at a revision seen through render's file-system trait (the two modules may not
/// know each other; the controller introduces them).
pub struct GitFs<'a, 'r>(pub &'a source::Tree<'r>);

impl FileSystem for GitFs<'_, '_> {
    fn read(&self, path: &str) -> Result<Vec<u8>, FsError> {
        self.0.read(path).map_err(|e| fs_error(path, e))
    }

    fn kind(&self, path: &str) -> Option<EntryKind> {
        self.0.kind(path).map(|k| match k {
            source::EntryKind::File => EntryKind::File,
            source::EntryKind::Dir => EntryKind::Dir,
        })
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, FsError> {
        self.0.list(dir).map_err(|e| fs_error(dir, e))
    }
}

fn fs_error(path: &str, e: source::Error) -> FsError {
    match e {
        source::Error::NotFound { .. } => FsError::NotFound(path.to_owned()),
        source::Error::OutsideRoot { .. } => FsError::Escapes(path.to_owned()),
        other => FsError::Io {
            path: path.to_owned(),
            message: other.to_string(),
        },
    }
}
