//! Container image references: `registry:5000/org/app:1.2@sha256:…` split into name, tag and
//! digest. One parser for the renderer's `images:` transformer, promotion's version copy and
//! the versions shown per env, so they never read the same reference differently.
//!
//! Kustomize's reading (api/image `Split`): the digest follows the first `@`; a `:` after the
//! last `/` starts the tag (one before it is a registry port). Never fails: what it cannot read
//! stays in `name`.

/// An image reference split into name, tag and digest, as written (no `latest` default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub name: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

pub fn parse_image(image: &str) -> ImageRef {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d.to_owned())),
        None => (image, None),
    };
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[slash..].find(':') {
        Some(i) => (&rest[..slash + i], Some(rest[slash + i + 1..].to_owned())),
        None => (rest, None),
    };
    ImageRef {
        name: name.to_owned(),
        tag,
        digest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_port_is_not_a_tag() {
        let r = parse_image("registry.local:5000/org/app:1.2@sha256:abc");
        assert_eq!(r.name, "registry.local:5000/org/app");
        assert_eq!(r.tag.as_deref(), Some("1.2"));
        assert_eq!(r.digest.as_deref(), Some("sha256:abc"));
        let r = parse_image("registry.local:5000/app");
        assert_eq!(
            (r.name.as_str(), r.tag, r.digest),
            ("registry.local:5000/app", None, None)
        );
    }
}
