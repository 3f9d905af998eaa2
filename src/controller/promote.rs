//! Promotion's Git half: which image versions FROM runs, the edits that put them into TO's
//! path (kustomize `images:` entries; plain YAML container `image:` fields), TO's render after
//! those edits (the preview), and the commit `promote(FROM→TO): …`. Blocking (git2): call
//! through `spawn_blocking`.
//!
//! May import model, config, source, render and the engine's pure promotion half. Must not
//! touch a cluster: whether FROM is Synced and Healthy is the engine's check, made before this.
//!
//! Decisions where the design is silent:
//! - FROM's versions are read from FROM's *render* at `from_revision` (what FROM runs), TO's
//!   from TO's render at the branch head; an image is promoted only when TO runs it too.
//!   Promotion copies versions, it does not add workloads, so an image only FROM has is left
//!   out (an `images:` entry for it in TO would be dead config).
//! - FROM running one image at two versions is refused: which one to promote is a human call.
//! - TO with a kustomization file: only TO's own kustomization is edited (an entry there
//!   overrides its bases); without one, the `image:` lines of TO's YAML files are rewritten.
//! - The edited tree is rendered and every promoted image checked to run at FROM's version;
//!   when it does not (an edit this tool misread, a base that rewrites the image again), the
//!   promotion is refused instead of committing a change that does nothing.
//! - A remote repository is fetched before FROM's revision is read: that revision comes from
//!   the cluster (FROM's synced revision, written by whichever controller synced it) and may be
//!   newer than this process's mirror. Without the fetch, a remote that cannot be reached (an
//!   unknown host key, rejected credentials) surfaced as "unknown revision" instead of its own
//!   one-line reason.

mod edit;
mod images;

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::config::EnvConfig;
use crate::model::Manifest;
use crate::render::{self, EntryKind, FileSystem, FsError};
use crate::source::{self, Author, Edit, Published, Source, Tree};

use super::desired::{GitFs, desired, env_path, renderer_for};
use super::engine::{ImageChange, promotion_message};
use images::{ImageRef, Version, images_of, short_name};

/// What a promotion would write.
#[derive(Debug, Clone)]
pub struct PromotionPlan {
    /// The revision FROM's versions were read at.
    pub from_revision: String,
    /// TO's branch head the edits apply to.
    pub base_revision: String,
    pub edits: Vec<Edit>,
    pub changes: Vec<ImageChange>,
    /// The commit message (generated, or the operator's).
    pub message: String,
    /// TO's render with the edits applied: what TO would get.
    pub rendered: Vec<Manifest>,
}

#[derive(Debug, thiserror::Error)]
pub enum PromoteError {
    #[error(transparent)]
    Source(#[from] crate::source::Error),
    #[error("render {env}: {message}")]
    Render { env: String, message: String },
    /// TO already runs FROM's versions.
    #[error("nothing to promote: {to} already has {from}'s image versions")]
    NothingToPromote { from: String, to: String },
    #[error("{0}")]
    Unsupported(String),
}

/// Plans FROM → TO at FROM's `from_revision` onto the branch head; `message` replaces the
/// generated commit message. Writes nothing.
pub fn plan_promotion(
    source: &Source,
    from: &EnvConfig,
    from_revision: &str,
    to: &EnvConfig,
    message: Option<&str>,
) -> Result<PromotionPlan, PromoteError> {
    source.fetch()?;
    let (from_sha, from_images) = from_versions(source, from, from_revision)?;
    let head = source.resolve(None)?;
    let tree = source.tree(&head.sha)?;
    let mut plan = plan_on(&tree, &from_sha, &from_images, from, to, message)?;
    plan.base_revision = head.sha;
    Ok(plan)
}

/// Plans and publishes the promotion as one commit (pushed when remote; re-planned on the new
/// head after a rejected push). `forced` (a guard `--force` overrode) is recorded in the commit
/// as a `Driftdeck-Forced:` trailer.
pub fn commit_promotion(
    source: &Source,
    from: &EnvConfig,
    from_revision: &str,
    to: &EnvConfig,
    message: Option<&str>,
    forced: Option<&str>,
    author: &Author,
) -> Result<(Published, PromotionPlan), PromoteError> {
    source.fetch()?;
    let (from_sha, from_images) = from_versions(source, from, from_revision)?;
    // `publish` speaks source::Error; a promotion error inside `make` is parked here and a
    // stand-in error stops the publish.
    let failed: RefCell<Option<PromoteError>> = RefCell::new(None);
    let last: RefCell<Option<PromotionPlan>> = RefCell::new(None);
    let published = source.publish(
        |tree| match plan_on(tree, &from_sha, &from_images, from, to, message) {
            Ok(plan) => {
                let mut message = plan.message.clone();
                if let Some(note) = forced {
                    message = format!("{}\n\nDriftdeck-Forced: {note}", message.trim_end());
                }
                let out = (plan.edits.clone(), message);
                *last.borrow_mut() = Some(plan);
                Ok(out)
            }
            Err(PromoteError::Source(e)) => Err(e),
            Err(e) => {
                *failed.borrow_mut() = Some(e);
                Err(source::Error::InvalidPath {
                    path: env_path(to),
                    reason: "promotion planning failed",
                })
            }
        },
        author,
    );
    if let Some(e) = failed.into_inner() {
        return Err(e);
    }
    let published = match published {
        Ok(p) => p,
        // The plan found edits, yet the tree did not change: TO already had the versions.
        Err(source::Error::NothingToCommit { .. }) => {
            return Err(PromoteError::NothingToPromote {
                from: from.name.clone(),
                to: to.name.clone(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    let Some(mut plan) = last.into_inner() else {
        return Err(PromoteError::Unsupported(
            "the promotion was committed without a plan".into(),
        ));
    };
    let parent = source.resolve(Some(&format!("{}^", published.sha)))?;
    plan.base_revision = parent.sha;
    Ok((published, plan))
}

type Images = BTreeMap<String, Vec<Version>>;

/// FROM's revision as a sha (so a retry after a rejected push reads the same one) and the image
/// versions its render runs there.
fn from_versions(
    source: &Source,
    from: &EnvConfig,
    revision: &str,
) -> Result<(String, Images), PromoteError> {
    let d = desired(source, from, Some(revision)).map_err(|e| render_error(from, e))?;
    Ok((d.revision.sha, images_of(&d.rendered.manifests)))
}

fn render_error(env: &EnvConfig, e: super::DesiredError) -> PromoteError {
    match e {
        super::DesiredError::Source(s) => PromoteError::Source(s),
        other => PromoteError::Render {
            env: env.name.clone(),
            message: other.to_string(),
        },
    }
}

/// The plan on one tree (the branch head). `base_revision` is left empty for the caller.
fn plan_on(
    tree: &Tree<'_>,
    from_sha: &str,
    from_images: &Images,
    from: &EnvConfig,
    to: &EnvConfig,
    message: Option<&str>,
) -> Result<PromotionPlan, PromoteError> {
    let to_path = env_path(to);
    let git = GitFs(tree);
    let renderer = renderer_for(to);
    let render_err = |e: render::Error| PromoteError::Render {
        env: to.name.clone(),
        message: e.to_string(),
    };
    let before = render::render(&git, &to_path, &renderer).map_err(render_err)?;
    let to_images = images_of(&before.manifests);

    let mut wanted: Vec<(String, Version, ImageChange)> = Vec::new();
    for (name, versions) in from_images {
        let Some(have) = to_images.get(name) else {
            continue;
        };
        let new = match versions.as_slice() {
            [one] => one,
            _ => {
                let all: Vec<String> = versions.iter().map(ToString::to_string).collect();
                return Err(PromoteError::Unsupported(format!(
                    "{} runs {name} at {} versions ({}); promote it by hand",
                    from.name,
                    all.len(),
                    all.join(", ")
                )));
            }
        };
        let Some(old) = have.iter().find(|v| *v != new) else {
            continue;
        };
        wanted.push((
            name.clone(),
            new.clone(),
            ImageChange {
                image: short_name(name).to_owned(),
                old: Some(old.to_string()),
                new: new.to_string(),
            },
        ));
    }
    if wanted.is_empty() {
        return Err(PromoteError::NothingToPromote {
            from: from.name.clone(),
            to: to.name.clone(),
        });
    }

    let edits = match kustomization_file(tree, &to_path) {
        Some(file) => kustomize_edits(tree, &file, &wanted)?,
        None => plain_edits(tree, &before.inputs, &to_path, &wanted)?,
    };
    let fs = Overlay {
        base: &git,
        edits: edits.iter().cloned().collect(),
    };
    let after = render::render(&fs, &to_path, &renderer).map_err(render_err)?;
    let now = images_of(&after.manifests);
    for (name, version, _) in &wanted {
        if now.get(name).map(Vec::as_slice) != Some(std::slice::from_ref(version)) {
            return Err(PromoteError::Unsupported(format!(
                "after editing {}, {} still does not run {} at {version} only; promote it by hand",
                edits
                    .iter()
                    .map(|(p, _)| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                to.name,
                ImageRef {
                    name: name.clone(),
                    version: version.clone()
                }
                .with(version),
            )));
        }
    }
    let changes: Vec<ImageChange> = wanted.into_iter().map(|(_, _, c)| c).collect();
    let message = match message {
        Some(m) => m.to_owned(),
        None => promotion_message(&from.name, &to.name, &changes),
    };
    Ok(PromotionPlan {
        from_revision: from_sha.to_owned(),
        base_revision: String::new(),
        edits,
        changes,
        message,
        rendered: after.manifests,
    })
}

/// TO's own kustomization file, as kustomize looks for it.
fn kustomization_file(tree: &Tree<'_>, dir: &str) -> Option<String> {
    ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .map(|name| join(dir, name))
        .find(|p| tree.kind(p) == Some(source::EntryKind::File))
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() || dir == "." {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

fn read_text(tree: &Tree<'_>, path: &str) -> Result<String, PromoteError> {
    String::from_utf8(tree.read(path)?)
        .map_err(|_| PromoteError::Unsupported(format!("{path}: not UTF-8 text")))
}

fn kustomize_edits(
    tree: &Tree<'_>,
    file: &str,
    wanted: &[(String, Version, ImageChange)],
) -> Result<Vec<Edit>, PromoteError> {
    let mut text = read_text(tree, file)?;
    for (name, version, _) in wanted {
        text = edit::set_kustomize_image(&text, name, version)
            .map_err(|why| PromoteError::Unsupported(format!("{file}: {why}")))?;
    }
    Ok(vec![(file.to_owned(), Some(text.into_bytes()))])
}

/// Rewrites `image:` lines in the YAML files TO's render read (all below TO's path for a plain
/// env), each file at most once.
fn plain_edits(
    tree: &Tree<'_>,
    inputs: &[String],
    to_path: &str,
    wanted: &[(String, Version, ImageChange)],
) -> Result<Vec<Edit>, PromoteError> {
    let prefix = if to_path.is_empty() || to_path == "." {
        String::new()
    } else {
        format!("{to_path}/")
    };
    let mut edits = Vec::new();
    for file in inputs {
        let own = file.starts_with(&prefix) || file == to_path;
        if !own || !(file.ends_with(".yaml") || file.ends_with(".yml")) {
            continue;
        }
        let original = read_text(tree, file)?;
        let mut text = original.clone();
        for (name, version, _) in wanted {
            text = edit::set_plain_images(&text, name, version).0;
        }
        if text != original {
            edits.push((file.clone(), Some(text.into_bytes())));
        }
    }
    Ok(edits)
}

/// A file system with edited files laid over it, for render. Edits only rewrite files or
/// delete them, so folders come from the base (a written new file is listed in its folder too).
struct Overlay<'a> {
    base: &'a dyn FileSystem,
    edits: BTreeMap<String, Option<Vec<u8>>>,
}

impl FileSystem for Overlay<'_> {
    fn read(&self, path: &str) -> Result<Vec<u8>, FsError> {
        let key = render::normalize(path)?;
        match self.edits.get(&key) {
            Some(Some(bytes)) => Ok(bytes.clone()),
            Some(None) => Err(FsError::NotFound(path.to_owned())),
            None => self.base.read(&key),
        }
    }

    fn kind(&self, path: &str) -> Option<EntryKind> {
        let key = render::normalize(path).ok()?;
        match self.edits.get(&key) {
            Some(Some(_)) => Some(EntryKind::File),
            Some(None) => None,
            None => self.base.kind(&key),
        }
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, FsError> {
        let key = render::normalize(dir)?;
        let mut names = match self.base.list(&key) {
            Ok(names) => names,
            Err(FsError::NotFound(_)) => Vec::new(),
            Err(e) => return Err(e),
        };
        let prefix = if key.is_empty() {
            String::new()
        } else {
            format!("{key}/")
        };
        for (path, content) in &self.edits {
            let Some(name) = path.strip_prefix(&prefix) else {
                continue;
            };
            if name.contains('/') {
                continue;
            }
            match content {
                Some(_) if !names.iter().any(|n| n == name) => names.push(name.to_owned()),
                None => names.retain(|n| n != name),
                Some(_) => {}
            }
        }
        names.sort();
        Ok(names)
    }
}
