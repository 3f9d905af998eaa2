//! The demo repo's story: who changed what, when. Each step is a list of small edits; the tree
//! of every commit is derived from the HEAD files ([`super::assets::FILES`]) by undoing later
//! steps, so the assets stay the single source and HEAD equals them by construction (checked
//! again after replaying forward).
//!
//! The story, oldest first: the platform lands in all three envs; version bumps reach dev, are
//! promoted to staging and (some of them) to production; production gains an HPA; a base config
//! change lands; the newest bumps are in dev or staging but not yet in production.

use std::collections::BTreeMap;

use super::Error;
use super::assets::FILES;

/// The file tree of one commit: path → content.
pub type Tree = BTreeMap<String, String>;

#[derive(Debug, Clone, Copy)]
pub struct Author {
    pub name: &'static str,
    pub email: &'static str,
    /// Minutes east of UTC: the team is spread over time zones.
    pub utc_offset_min: i32,
}

pub const MAYA: Author = Author {
    name: "Maya Chen",
    email: "maya.chen@example.com",
    utc_offset_min: -8 * 60,
};
pub const DMITRI: Author = Author {
    name: "Dmitri Volkov",
    email: "dmitri.volkov@example.com",
    utc_offset_min: 2 * 60,
};
pub const PRIYA: Author = Author {
    name: "Priya Raman",
    email: "priya.raman@example.com",
    utc_offset_min: 5 * 60 + 30,
};
pub const SAM: Author = Author {
    name: "Sam Okafor",
    email: "sam.okafor@example.com",
    utc_offset_min: 60,
};

#[derive(Debug, Clone)]
pub enum Edit {
    /// Replace the single occurrence of `from` with `to` in `path`.
    Replace {
        path: String,
        from: String,
        to: String,
    },
    /// The file appears (with its HEAD content) in this step.
    Add { path: String },
}

impl Edit {
    fn replace(path: &str, from: &str, to: &str) -> Self {
        Edit::Replace {
            path: path.into(),
            from: from.into(),
            to: to.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Step {
    pub author: Author,
    /// How long before "now" the commit was made, in seconds.
    pub ago_secs: i64,
    pub message: &'static str,
    pub edits: Vec<Edit>,
}

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

/// Bumps one image's tag in an overlay's `images:` list.
fn tag(env: &str, image: &str, from: &str, to: &str) -> Vec<Edit> {
    let entry = |t: &str| format!("name: ghcr.io/driftdeck-demo/{image}\n    newTag: {t}\n");
    vec![Edit::replace(
        &format!("overlays/{env}/kustomization.yaml"),
        &entry(from),
        &entry(to),
    )]
}

/// Oldest first; the first step is the initial commit (its edits are empty: its tree is what
/// remains after undoing all later steps).
pub fn steps() -> Vec<Step> {
    let mut steps = vec![
        Step {
            author: MAYA,
            ago_secs: 9 * DAY + 6 * HOUR,
            message: "Initial log platform: collector, processor and API with dev/staging/production overlays",
            edits: vec![],
        },
        Step {
            author: DMITRI,
            ago_secs: 8 * DAY + 3 * HOUR,
            message: "log-processor 2.0.1 in dev: stop dropping lines on partial flush",
            edits: tag("dev", "log-processor", "2.0.0", "2.0.1"),
        },
        Step {
            author: MAYA,
            ago_secs: 7 * DAY + 5 * HOUR,
            message: "promote(dev→staging): log-processor 2.0.0 → 2.0.1",
            edits: tag("staging", "log-processor", "2.0.0", "2.0.1"),
        },
        Step {
            author: PRIYA,
            ago_secs: 6 * DAY + 9 * HOUR,
            message: "production: autoscale log-api with an HPA (3-10 replicas at 70% CPU)",
            edits: vec![
                Edit::Add {
                    path: "overlays/production/log-api-hpa.yaml".into(),
                },
                Edit::replace(
                    "overlays/production/kustomization.yaml",
                    "  - ../../base\n  - pdb.yaml\n",
                    "  - ../../base\n  - log-api-hpa.yaml\n  - pdb.yaml\n",
                ),
            ],
        },
        Step {
            author: SAM,
            ago_secs: 6 * DAY + 2 * HOUR,
            message: "log-api 1.4.1 in dev: faster /search pagination",
            edits: tag("dev", "log-api", "1.4.0", "1.4.1"),
        },
        Step {
            author: PRIYA,
            ago_secs: 5 * DAY + 4 * HOUR,
            message: "promote(dev→staging): log-api 1.4.0 → 1.4.1",
            edits: tag("staging", "log-api", "1.4.0", "1.4.1"),
        },
        Step {
            author: PRIYA,
            ago_secs: 4 * DAY + 7 * HOUR,
            message: "promote(staging→production): log-api 1.4.0 → 1.4.1, log-processor 2.0.0 → 2.0.1",
            edits: [
                tag("production", "log-api", "1.4.0", "1.4.1"),
                tag("production", "log-processor", "2.0.0", "2.0.1"),
            ]
            .concat(),
        },
        Step {
            author: SAM,
            ago_secs: 3 * DAY + 11 * HOUR,
            message: "regions: log platform in us-east, eu-west and ap-south at production's versions",
            edits: ["us-east", "eu-west", "ap-south"]
                .iter()
                .map(|r| Edit::Add {
                    path: format!("overlays/prod-{r}/kustomization.yaml"),
                })
                .collect(),
        },
        Step {
            author: DMITRI,
            ago_secs: 3 * DAY + 8 * HOUR,
            message: "log-collector 0.9.3 in dev: fix multiline buffer leak",
            edits: tag("dev", "log-collector", "0.9.2", "0.9.3"),
        },
        Step {
            author: MAYA,
            ago_secs: 2 * DAY + 10 * HOUR,
            message: "base: raise BATCH_SIZE 250 → 500 to halve store writes",
            edits: vec![Edit::replace(
                "base/kustomization.yaml",
                "- BATCH_SIZE=250\n",
                "- BATCH_SIZE=500\n",
            )],
        },
        Step {
            author: SAM,
            ago_secs: 2 * DAY + 3 * HOUR,
            message: "log-api 1.4.2 in dev: keep /tail connections alive behind the ingress",
            edits: tag("dev", "log-api", "1.4.1", "1.4.2"),
        },
        Step {
            author: PRIYA,
            ago_secs: DAY + 5 * HOUR,
            message: "promote(dev→staging): log-api 1.4.1 → 1.4.2, log-collector 0.9.2 → 0.9.3",
            edits: [
                tag("staging", "log-api", "1.4.1", "1.4.2"),
                tag("staging", "log-collector", "0.9.2", "0.9.3"),
            ]
            .concat(),
        },
        Step {
            author: DMITRI,
            ago_secs: 5 * HOUR,
            message: "log-processor 2.1.0 in dev: parse batches in parallel",
            edits: tag("dev", "log-processor", "2.0.1", "2.1.0"),
        },
    ];
    // Tidy: the list above is written oldest first; keep it so even if edited carelessly.
    steps.sort_by_key(|s| std::cmp::Reverse(s.ago_secs));
    steps
}

/// The HEAD tree from the embedded assets.
pub fn head_tree() -> Tree {
    FILES
        .iter()
        .map(|(p, c)| ((*p).to_string(), (*c).to_string()))
        .collect()
}

/// The tree after each step, oldest first; the last equals [`head_tree`].
pub fn trees(steps: &[Step]) -> Result<Vec<Tree>, Error> {
    let head = head_tree();
    let mut initial = head.clone();
    for step in steps.iter().rev() {
        for edit in step.edits.iter().rev() {
            undo(&mut initial, edit)?;
        }
    }
    let mut out = Vec::with_capacity(steps.len());
    let mut tree = initial;
    for step in steps {
        for edit in &step.edits {
            apply(&mut tree, edit, &head)?;
        }
        out.push(tree.clone());
    }
    if out.last() != Some(&head) {
        return Err(Error::Assets(
            "replaying the history does not reproduce the assets".into(),
        ));
    }
    Ok(out)
}

fn undo(tree: &mut Tree, edit: &Edit) -> Result<(), Error> {
    match edit {
        Edit::Add { path } => {
            tree.remove(path).ok_or_else(|| {
                Error::Assets(format!("{path}: added by a step but not in the assets"))
            })?;
        }
        Edit::Replace { path, from, to } => swap(tree, path, to, from)?,
    }
    Ok(())
}

fn apply(tree: &mut Tree, edit: &Edit, head: &Tree) -> Result<(), Error> {
    match edit {
        Edit::Add { path } => {
            let content = head
                .get(path)
                .ok_or_else(|| Error::Assets(format!("{path}: not in the assets")))?;
            tree.insert(path.clone(), content.clone());
        }
        Edit::Replace { path, from, to } => swap(tree, path, from, to)?,
    }
    Ok(())
}

/// Replaces the one occurrence of `old` in `path`; zero or several is an error in the story.
fn swap(tree: &mut Tree, path: &str, old: &str, new: &str) -> Result<(), Error> {
    let text = tree
        .get_mut(path)
        .ok_or_else(|| Error::Assets(format!("{path}: edited but missing")))?;
    match text.matches(old).count() {
        1 => {
            *text = text.replacen(old, new, 1);
            Ok(())
        }
        n => Err(Error::Assets(format!(
            "{path}: expected exactly one {old:?}, found {n}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_replays_to_the_assets_and_starts_without_later_changes() {
        let steps = steps();
        let trees = trees(&steps).unwrap();
        assert_eq!(trees.len(), steps.len());
        assert_eq!(trees.last(), Some(&head_tree()));
        let first = &trees[0];
        assert!(!first.contains_key("overlays/production/log-api-hpa.yaml"));
        assert!(first["base/kustomization.yaml"].contains("BATCH_SIZE=250"));
        for env in ["dev", "staging", "production"] {
            let k = &first[&format!("overlays/{env}/kustomization.yaml")];
            assert!(k.contains("log-api\n    newTag: 1.4.0"), "{env}");
        }
    }

    #[test]
    fn production_lags_behind_dev_at_head() {
        let head = head_tree();
        assert!(head["overlays/dev/kustomization.yaml"].contains("log-api\n    newTag: 1.4.2"));
        assert!(
            head["overlays/production/kustomization.yaml"].contains("log-api\n    newTag: 1.4.1")
        );
    }
}
