//! `config::Error`: every way finding, reading or validating `driftdeck.yaml` can fail. Each
//! variant says what and where; file problems carry `path:line:col` so an editor can jump there.

use std::fmt;
use std::path::PathBuf;

/// A position in the config file, 1-based. `line == 0` means "unknown" (printed as the bare path).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u64,
    pub col: u64,
}

impl Pos {
    pub fn new(line: u64, col: u64) -> Self {
        Pos { line, col }
    }

    pub(crate) fn of(loc: serde_saphyr::Location) -> Self {
        Pos {
            line: loc.line(),
            col: loc.column(),
        }
    }

    pub(crate) fn of_spanned<T>(s: &serde_saphyr::Spanned<T>) -> Self {
        Pos::of(s.referenced)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No config file at any of the places looked at.
    #[error("no config file found; tried {}", list(.tried))]
    NotFound { tried: Vec<PathBuf> },
    /// The file exists (or was named) but could not be read.
    #[error("{}: cannot read config file: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Bad YAML, a wrong shape, or a value that fails validation.
    #[error("{}: {message}", Located(.path, *.pos))]
    Invalid {
        path: PathBuf,
        pos: Pos,
        message: String,
    },
}

impl Error {
    /// Where in the file the problem is, for `Invalid` errors.
    pub fn pos(&self) -> Option<Pos> {
        match self {
            Error::Invalid { pos, .. } => Some(*pos),
            _ => None,
        }
    }
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

struct Located<'a>(&'a PathBuf, Pos);

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.1.line == 0 {
            write!(f, "{}", self.0.display())
        } else {
            write!(f, "{}:{}:{}", self.0.display(), self.1.line, self.1.col)
        }
    }
}
