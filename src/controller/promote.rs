//! Promotion's Git half: which image versions FROM runs, the edits that put them into TO's
//! path (kustomize `images:` entries; plain YAML container `image:` fields), TO's render after
//! those edits (the preview), and the commit `promote(FROM→TO): …`.
//!
//! INTERFACE STUB: bodies are filled in by the git-write work. Blocking (git2): call through
//! `spawn_blocking`.

use crate::config::{Config, EnvConfig};
use crate::model::Manifest;
use crate::source::{Author, Edit, Published, Source};

use super::engine::ImageChange;

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
/// generated commit message.
pub fn plan_promotion(
    source: &Source,
    config: &Config,
    from: &EnvConfig,
    from_revision: &str,
    to: &EnvConfig,
    message: Option<&str>,
) -> Result<PromotionPlan, PromoteError> {
    let _ = (source, config, from, from_revision, to, message);
    Err(PromoteError::Unsupported(
        "promotion is not implemented yet".into(),
    ))
}

/// Plans and publishes the promotion as one commit (pushed when remote; re-planned on the new
/// head after a rejected push).
pub fn commit_promotion(
    source: &Source,
    config: &Config,
    from: &EnvConfig,
    from_revision: &str,
    to: &EnvConfig,
    message: Option<&str>,
    author: &Author,
) -> Result<(Published, PromotionPlan), PromoteError> {
    let _ = (source, config, from, from_revision, to, message, author);
    Err(PromoteError::Unsupported(
        "promotion is not implemented yet".into(),
    ))
}
