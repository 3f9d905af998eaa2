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

/// [`split_image`], owned.
pub fn parse_image(image: &str) -> ImageRef {
    let (name, tag, digest) = split_image(image);
    ImageRef {
        name: name.to_owned(),
        tag: tag.map(str::to_owned),
        digest: digest.map(str::to_owned),
    }
}

/// `image` split into name, tag and digest, each a slice of `image`.
pub fn split_image(image: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[slash..].find(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..]), digest),
        None => (rest, None, digest),
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
