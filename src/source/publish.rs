//! Publishing commits: commit edits computed from the branch head, push when the repository
//! has a remote, and `git revert` of a range — never a force-push. A rejected push is fetched,
//! the edits recomputed on the new head once, and pushed again; a second rejection is an error.
//!
//! INTERFACE STUB: bodies are filled in by the git-write work.

use super::{Author, Edit, Error, Source, Tree};

/// A commit that landed on the branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub sha: String,
    /// First line of the message.
    pub summary: String,
    /// Pushed to the remote (false for a local repository).
    pub pushed: bool,
    /// The first push was rejected and the edits were re-made on the fetched head.
    pub rebased: bool,
}

impl Source {
    /// Commits what `make` computes from the branch head's tree (`(edits, message)`), then
    /// pushes when remote. `make` runs again on the new head after a rejected push.
    pub fn publish<F>(&self, make: F, author: &Author) -> Result<Published, Error>
    where
        F: Fn(&Tree<'_>) -> Result<(Vec<Edit>, String), Error>,
    {
        let _ = (make, author);
        Err(Error::Remote {
            action: "publish",
            url: self.spec().url.clone(),
            message: "not implemented yet".into(),
        })
    }

    /// One commit on the branch head that reverts the commits after `good` up to and including
    /// `bad` (first-parent), message `Revert …` naming them (or `message`); pushed when remote.
    pub fn revert_range(
        &self,
        good: &str,
        bad: &str,
        message: Option<&str>,
        author: &Author,
    ) -> Result<Published, Error> {
        let _ = (good, bad, message, author);
        Err(Error::Remote {
            action: "revert",
            url: self.spec().url.clone(),
            message: "not implemented yet".into(),
        })
    }
}
