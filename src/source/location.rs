//! Where a repository lives: a local path opened in place, or a URL mirrored into a cache
//! directory. Pure string work, no IO.
//!
//! Imports nothing from the crate. The rules follow git's own: `scheme://…` is a URL;
//! `user@host:path` or `host:path` (a colon before any slash) is scp-like ssh; anything else is a
//! local path. `file://` counts as remote on purpose: it is how tests exercise the real
//! clone/fetch path without a network.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// How `RepoSpec::url` is to be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Open in place; read committed trees only.
    Local(PathBuf),
    /// Clone bare into the cache and fetch.
    Remote { url: String, transport: Transport },
}

/// Which credentials a remote may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Ssh,
    Http,
    /// `file://` and `git://`: no credentials.
    Other,
}

impl Location {
    pub fn parse(url: &str) -> Location {
        if let Some((scheme, _)) = url.split_once("://") {
            let transport = match scheme.to_ascii_lowercase().as_str() {
                "ssh" | "git+ssh" | "ssh+git" => Transport::Ssh,
                "http" | "https" => Transport::Http,
                _ => Transport::Other,
            };
            return Location::Remote {
                url: url.to_owned(),
                transport,
            };
        }
        if is_scp_like(url) {
            return Location::Remote {
                url: url.to_owned(),
                transport: Transport::Ssh,
            };
        }
        Location::Local(PathBuf::from(url))
    }
}

/// `git@github.com:org/repo.git` or `host:path`: a colon before the first slash. A single
/// letter before the colon is a Windows drive (`C:\repo`), which git also treats as a path.
fn is_scp_like(url: &str) -> bool {
    let Some(colon) = url.find(':') else {
        return false;
    };
    let host = &url[..colon];
    let slash = url.find('/').unwrap_or(usize::MAX);
    colon < slash && host.len() > 1 && !host.contains('\\')
}

/// The cache directory for a URL: readable prefix plus a hash, so two URLs never share a
/// clone and a person listing the cache can still tell them apart.
pub fn cache_path(cache_dir: &Path, url: &str) -> PathBuf {
    let digest = Sha256::digest(url.as_bytes());
    let hash = hex::encode(&digest[..6]);
    let mut name = String::new();
    for c in url.chars() {
        if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
            name.push(c.to_ascii_lowercase());
        } else if !name.ends_with('-') {
            name.push('-');
        }
    }
    let name = name.trim_matches(|c| c == '-' || c == '.');
    // Keep the end of the URL: the repository name is the telling part.
    let tail: String = {
        let chars: Vec<char> = name.chars().collect();
        let start = chars.len().saturating_sub(48);
        chars[start..].iter().collect()
    };
    let tail = tail.trim_start_matches(['-', '.']);
    cache_dir.join(format!("{tail}-{hash}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(url: &str) -> Option<Transport> {
        match Location::parse(url) {
            Location::Remote { transport, .. } => Some(transport),
            Location::Local(_) => None,
        }
    }

    #[test]
    fn urls_and_paths_are_told_apart() {
        assert_eq!(
            transport("https://github.com/o/r.git"),
            Some(Transport::Http)
        );
        assert_eq!(transport("ssh://git@host/o/r"), Some(Transport::Ssh));
        assert_eq!(transport("git@github.com:o/r.git"), Some(Transport::Ssh));
        assert_eq!(transport("file:///srv/repo"), Some(Transport::Other));
        assert_eq!(transport("./repo"), None);
        assert_eq!(transport("/abs/repo"), None);
        assert_eq!(transport("repo"), None);
        assert_eq!(transport("dir/with:colon"), None);
        assert_eq!(transport("C:\\repos\\x"), None);
    }

    #[test]
    fn cache_path_is_readable_and_distinct() {
        let a = cache_path(Path::new("/c"), "https://github.com/org/deploy.git");
        let b = cache_path(Path::new("/c"), "https://github.com/org/deploy");
        assert_ne!(a, b);
        let name = a.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("https-github.com-org-deploy.git-"),
            "{name}"
        );
        assert!(!name.contains('/') && !name.contains(':'));
    }
}
