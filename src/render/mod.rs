//! `render` turns the files of a tree into manifests: native kustomize (a folder with a
//! kustomization file), plain YAML (every `*.yaml`/`*.yml` below a folder, sorted), or an
//! external command such as `kustomize build .`. It is pure over the [`FileSystem`] trait —
//! a git tree, a disk folder or a map — and reports every file it read, so callers can tell
//! which commits touch an environment.
//!
//! May import only `crate::model`. Must not touch the network, the cluster or git, and must
//! not panic on any input: every malformed file is an [`Error`] naming the file (and
//! line:col when the YAML parser gives one).
//!
//! Where kustomize's behaviour was not pinned by the conformance corpora (`kustomize` and the
//! real-world `kustomize-wild`), the choice is noted in the file that makes it. Output comes
//! in kustomize's order (`sort`: legacy by default, `sortOptions` honoured). Implemented:
//! `replacements`, `configurations`, built-in transformer and generator configs under
//! `transformers:`/`generators:` (`builtin`), `vars` (`var`), `crds` (`config`), kustomize's
//! load restrictor and its refusal of an empty kustomization (`build`). `openapi` is accepted
//! but refused next to any strategic merge patch (the only place it changes output).
//! Not implemented natively (refused with a message naming the field, never ignored): helm
//! charts, remote resources, executable plugins, validators, `buildMetadata`, `imageTags`.

mod build;
mod builtin;
mod config;
mod external;
mod fs;
mod generator;
mod json6902;
mod kustomization;
mod nameref;
mod patch;
mod plugin;
mod replacement;
mod resource;
mod smp;
mod sort;
mod target;
mod transform;
mod var;
mod yaml;

use std::collections::BTreeSet;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::model::Manifest;

pub use fs::{DiskFs, EntryKind, FileSystem, FsError, MemFs, normalize};
pub use yaml::parse_objects;

/// How a path is turned into manifests.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Renderer {
    /// Native kustomize when the folder has a kustomization file, else plain YAML.
    #[default]
    Auto,
    /// Run a command (no shell) in a copy of the tree, e.g. `["kustomize", "build", "."]`.
    External { command: Vec<String> },
}

/// The result of a render.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub manifests: Vec<Manifest>,
    /// sha256 (hex) of the canonical JSON (sorted keys) of the manifests in output order.
    pub digest: String,
    /// Every file read, sorted, root-relative.
    pub inputs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Fs(#[from] FsError),
    /// `at` is `line:col: ` when the parser located the problem, else empty.
    #[error("{path}:{at}{message}")]
    Yaml {
        path: String,
        at: String,
        message: String,
    },
    #[error("{file}: {message}")]
    Kustomization { file: String, message: String },
    #[error("{from}: resource {entry:?} does not exist")]
    MissingResource { from: String, entry: String },
    #[error("kustomization cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
    #[error("{file}: patch: {message}")]
    Patch { file: String, message: String },
    #[error(
        "{file}: {what} is not supported by the native renderer; use an external renderer (e.g. kustomize build .)"
    )]
    Unsupported { file: String, what: String },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("external renderer `{command}`: {message}")]
    External { command: String, message: String },
}

impl Error {
    fn yaml(path: &str, e: &yaml::YamlError) -> Self {
        Error::Yaml {
            path: path.to_owned(),
            at: e.at.map_or(" ".into(), |(l, c)| format!("{l}:{c}: ")),
            message: e.message.clone(),
        }
    }

    /// The same error with `prefix` put before every path in it: the CLI renders a disk
    /// folder through a file system rooted at `/` and shows absolute paths.
    pub fn rooted(self, prefix: &str) -> Self {
        let p = |s: String| format!("{prefix}{s}");
        match self {
            Error::Fs(FsError::NotFound(s)) => Error::Fs(FsError::NotFound(p(s))),
            Error::Fs(FsError::Escapes(s)) => Error::Fs(FsError::Escapes(p(s))),
            Error::Fs(FsError::Io { path, message }) => Error::Fs(FsError::Io {
                path: p(path),
                message,
            }),
            Error::Yaml { path, at, message } => Error::Yaml {
                path: p(path),
                at,
                message,
            },
            Error::Kustomization { file, message } => Error::Kustomization {
                file: p(file),
                message,
            },
            Error::MissingResource { from, entry } => Error::MissingResource {
                from: p(from),
                entry,
            },
            Error::Cycle(chain) => Error::Cycle(chain.into_iter().map(p).collect()),
            Error::Patch { file, message } => Error::Patch {
                file: p(file),
                message,
            },
            Error::Unsupported { file, what } => Error::Unsupported {
                file: p(file),
                what,
            },
            Error::Invalid { path, message } => Error::Invalid {
                path: p(path),
                message,
            },
            e @ Error::External { .. } => e,
        }
    }
}

/// Renders `path` (a folder, or one YAML file) of the tree.
pub fn render(fs: &dyn FileSystem, path: &str, renderer: &Renderer) -> Result<Rendered, Error> {
    let path = fs::normalize(path)?;
    let (objects, inputs) = match renderer {
        Renderer::External { command } => external::run(fs, &path, command)?,
        Renderer::Auto => native(fs, &path)?,
    };
    let mut manifests = Vec::with_capacity(objects.len());
    for (i, obj) in objects.into_iter().enumerate() {
        let m = Manifest::new(obj).map_err(|e| Error::Invalid {
            path: if path.is_empty() {
                ".".into()
            } else {
                path.clone()
            },
            message: format!("rendered object {}: {e}", i + 1),
        })?;
        manifests.push(m);
    }
    let digest = digest(&manifests);
    Ok(Rendered {
        manifests,
        digest,
        inputs,
    })
}

fn native(fs: &dyn FileSystem, path: &str) -> Result<(Vec<Value>, Vec<String>), Error> {
    match fs.kind(path) {
        None => Err(FsError::NotFound(if path.is_empty() {
            ".".into()
        } else {
            path.to_owned()
        })
        .into()),
        Some(EntryKind::File) => {
            let mut b = build::Builder::new(fs);
            let objects = b.objects(path)?;
            Ok((objects, b.inputs.into_iter().collect()))
        }
        Some(EntryKind::Dir) => {
            let mut b = build::Builder::new(fs);
            let objects = if build::kustomization_file(fs, path).is_some() {
                b.build_root(path)?.into_iter().map(|r| r.obj).collect()
            } else {
                let mut files = Vec::new();
                yaml_files(fs, path, &mut files)?;
                let mut objects = Vec::new();
                for f in files {
                    objects.extend(b.objects(&f)?);
                }
                objects
            };
            Ok((objects, b.inputs.into_iter().collect()))
        }
    }
}

/// Every `*.yaml` / `*.yml` file below `dir`, sorted by path.
fn yaml_files(fs: &dyn FileSystem, dir: &str, out: &mut Vec<String>) -> Result<(), Error> {
    let mut found = BTreeSet::new();
    collect_yaml(fs, dir, &mut found, 0)?;
    out.extend(found);
    Ok(())
}

fn collect_yaml(
    fs: &dyn FileSystem,
    dir: &str,
    out: &mut BTreeSet<String>,
    depth: usize,
) -> Result<(), Error> {
    // Deep enough for any real repo, and a guard against symlink loops on disk.
    if depth > 64 {
        return Ok(());
    }
    for name in fs.list(dir)? {
        if name.starts_with('.') {
            continue;
        }
        let p = fs::join(dir, &name)?;
        match fs.kind(&p) {
            Some(EntryKind::Dir) => collect_yaml(fs, &p, out, depth + 1)?,
            Some(EntryKind::File) if name.ends_with(".yaml") || name.ends_with(".yml") => {
                out.insert(p);
            }
            _ => {}
        }
    }
    Ok(())
}

/// Multi-document YAML of the manifests, `---` separated.
pub fn to_yaml(manifests: &[Manifest]) -> String {
    yaml::write_documents(manifests.iter().map(Manifest::object))
}

/// sha256 over the canonical JSON (sorted keys, no spaces) of the manifests in order.
pub fn digest(manifests: &[Manifest]) -> String {
    let mut text = String::from("[");
    for (i, m) in manifests.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        generator::write_sorted(m.object(), &mut text, json_string);
    }
    text.push(']');
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// serde_json's escaping of a string, as the digest has always used.
fn json_string(text: &str, out: &mut String) {
    out.push_str(&Value::String(text.to_owned()).to_string());
}
