//! Surgical YAML text edits for promotion: set an image's `newTag`/`digest` in a kustomization's
//! `images:` list (appending an entry, or the list, when absent), and rewrite container `image:`
//! lines in plain manifests. Line-based on purpose: comments, key order, quoting and blank lines
//! the team wrote stay exactly as they were, and the commit's diff shows only the version.
//!
//! Imports nothing of the crate but the sibling `images`. Handles block-style YAML, the way
//! kustomizations are written; a flow-style `images: [...]` is refused with a message rather
//! than rewritten. The caller re-renders the edited tree and checks the versions took, so an
//! edit this reading got wrong cannot reach a commit unnoticed.

use super::images::{ImageRef, Version};

/// Splits a `key: value` line, optionally a `- ` list item: the key (`[A-Za-z_][A-Za-z0-9_]*`)
/// and the byte offset where the value starts (after the colon and any spaces or tabs).
/// Hand-written rather than a regex, so nothing here can fail at run time.
fn split_key_line(line: &str) -> Option<(&str, usize)> {
    let b = line.as_bytes();
    let ws = |i: usize| b.get(i).is_some_and(u8::is_ascii_whitespace);
    let mut i = 0;
    while ws(i) {
        i += 1;
    }
    if b.get(i) == Some(&b'-') && ws(i + 1) {
        i += 1;
        while ws(i) {
            i += 1;
        }
    }
    let start = i;
    if !b
        .get(i)
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
    {
        return None;
    }
    while b
        .get(i)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
    {
        i += 1;
    }
    let key = &line[start..i];
    while ws(i) {
        i += 1;
    }
    if b.get(i) != Some(&b':') {
        return None;
    }
    i += 1;
    while matches!(b.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    Some((key, i))
}

/// The image reference of an `image: ref` line: its byte range and whether its quotes (if
/// any) are balanced.
fn image_reference(line: &str) -> Option<(std::ops::Range<usize>, bool)> {
    let (key, value) = split_key_line(line)?;
    if key != "image" {
        return None;
    }
    let b = line.as_bytes();
    let quote = |i: usize| b.get(i).filter(|c| matches!(c, b'"' | b'\''));
    let open = quote(value);
    let start = value + usize::from(open.is_some());
    let mut end = start;
    while b
        .get(end)
        .is_some_and(|c| !c.is_ascii_whitespace() && !matches!(c, b'"' | b'\'' | b'#'))
    {
        end += 1;
    }
    if end == start {
        return None;
    }
    Some((start..end, open == quote(end)))
}

/// A text split into lines, remembering the line ending and the final newline.
struct Lines {
    lines: Vec<String>,
    eol: &'static str,
    trailing: bool,
}

impl Lines {
    fn new(text: &str) -> Self {
        let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let trailing = text.ends_with('\n');
        let body = text.strip_suffix(eol).unwrap_or(text);
        let lines = if text.is_empty() {
            Vec::new()
        } else {
            body.split(eol).map(str::to_owned).collect()
        };
        Self {
            lines,
            eol,
            trailing,
        }
    }

    fn join(&self) -> String {
        let mut s = self.lines.join(self.eol);
        if self.trailing || self.lines.is_empty() {
            s.push_str(self.eol);
        }
        s
    }
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

/// One `key: value` line of an `images:` entry.
struct KeyLine {
    line: usize,
    key: String,
    value: String,
    /// Byte range of the value text (quotes included) in the line.
    span: (usize, usize),
    quote: Option<char>,
}

fn key_line(lines: &[String], i: usize) -> Option<KeyLine> {
    let line = lines.get(i)?;
    let (key, rest) = split_key_line(line)?;
    let key = key.to_owned();
    let raw = line.get(rest..)?;
    let (value, len, quote) = match raw.chars().next() {
        Some(q @ ('"' | '\'')) => {
            let end = raw[1..].find(q)? + 1;
            (raw[1..end].to_owned(), end + 1, Some(q))
        }
        _ => {
            let end = raw.find(" #").unwrap_or(raw.len());
            let v = raw[..end].trim_end();
            (v.to_owned(), v.len(), None)
        }
    };
    Some(KeyLine {
        line: i,
        key,
        value,
        span: (rest, rest + len),
        quote,
    })
}

/// A scalar as YAML would read it back as the same string: quoted when plain it would be a
/// number, a boolean, null, or would start a YAML construct.
fn scalar(value: &str, quote: Option<char>) -> String {
    if let Some(q) = quote {
        return format!("{q}{value}{q}");
    }
    let lower = value.to_ascii_lowercase();
    let special = matches!(
        lower.as_str(),
        "" | "~" | "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
    ) || yaml_number(&lower)
        || value.starts_with(|c: char| "[]{},&*!|>'\"%@`#-?: ".contains(c))
        || value.contains(": ")
        || value.contains(" #");
    if special {
        format!("\"{value}\"")
    } else {
        value.to_owned()
    }
}

/// Sets `image`'s version in the kustomization `text`: the `images:` entry whose rendered name
/// is `image` (its `newName`, else its `name`) gets `newTag` and `digest` as `version` says
/// (an absent part is removed); without such an entry one is appended, and without an
/// `images:` list one is added at the end of the file.
pub fn set_kustomize_image(text: &str, image: &str, version: &Version) -> Result<String, String> {
    let mut doc = Lines::new(text);
    let lines = &mut doc.lines;
    let header = lines.iter().position(|l| key_is(l, "images"));
    let Some(header) = header else {
        if lines.last().is_some_and(|l| !l.trim().is_empty()) {
            lines.push(String::new());
        }
        lines.push("images:".to_owned());
        lines.extend(new_entry(2, image, version));
        doc.trailing = true;
        return Ok(doc.join());
    };
    let inline = key_line(lines, header).map(|k| k.value).unwrap_or_default();
    if !inline.is_empty() && inline != "null" && inline != "~" {
        return Err(format!(
            "line {}: `images:` is not a block list; edit it by hand",
            header + 1
        ));
    }
    // The list runs while lines are indented or are `- ` items at column 0 (both legal).
    let mut last = header;
    for (i, line) in lines.iter().enumerate().skip(header + 1) {
        if is_blank_or_comment(line) {
            continue;
        }
        if line.starts_with(' ') || line.starts_with('-') {
            last = i;
        } else {
            break;
        }
    }
    let body: Vec<usize> = (header + 1..=last)
        .filter(|&i| !is_blank_or_comment(&lines[i]))
        .collect();
    let dash = body
        .iter()
        .find(|&&i| lines[i].trim_start().starts_with('-'))
        .map(|&i| indent(&lines[i]));
    let Some(dash) = dash else {
        let entry = new_entry(2, image, version);
        let at = last + 1;
        lines.splice(at..at, entry);
        return Ok(doc.join());
    };
    let starts: Vec<usize> = body
        .iter()
        .copied()
        .filter(|&i| indent(&lines[i]) == dash && lines[i].trim_start().starts_with('-'))
        .collect();
    for (n, &start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).map(|&s| s - 1).unwrap_or(last);
        let keys: Vec<KeyLine> = (start..=end)
            .filter(|&i| i == start || indent(&lines[i]) > dash)
            .filter_map(|i| key_line(lines, i))
            .collect();
        let get = |k: &str| keys.iter().find(|l| l.key == k);
        let rendered_name = get("newName").or_else(|| get("name")).map(|l| &l.value);
        if rendered_name.map(String::as_str) != Some(image) {
            continue;
        }
        let key_col = keys
            .iter()
            .find(|k| k.line != start)
            .map(|k| indent(&lines[k.line]))
            .unwrap_or(dash + 2);
        let mut removals = Vec::new();
        let mut inserts = Vec::new();
        for (field, wanted) in [("newTag", &version.tag), ("digest", &version.digest)] {
            match (get(field), wanted) {
                (Some(k), Some(v)) => {
                    let mut line = lines[k.line].clone();
                    line.replace_range(k.span.0..k.span.1, &scalar(v, k.quote));
                    lines[k.line] = line;
                }
                (Some(k), None) if k.line == start => {
                    return Err(format!(
                        "line {}: the entry for {image} starts with `{field}:`, which \
                         must go; edit it by hand",
                        start + 1
                    ));
                }
                (Some(k), None) => removals.push(k.line),
                (None, Some(v)) => inserts.push(format!(
                    "{}{field}: {}",
                    " ".repeat(key_col),
                    scalar(v, None)
                )),
                (None, None) => {}
            }
        }
        let after = keys.last().map(|k| k.line).unwrap_or(start) + 1;
        lines.splice(after..after, inserts);
        for r in removals.into_iter().rev() {
            lines.remove(r);
        }
        return Ok(doc.join());
    }
    let at = last + 1;
    lines.splice(at..at, new_entry(dash, image, version));
    Ok(doc.join())
}

/// A top-level (unindented) `key:` line.
fn key_is(line: &str, key: &str) -> bool {
    split_key_line(line).is_some_and(|(k, _)| k == key) && !line.starts_with(' ')
}

/// Whether a lowercased plain scalar reads as a YAML 1.1/1.2 number (`12`, `1.5e3`, `0x1f`,
/// `0o17`, `.inf`, `-.nan`, `1_000`), so it needs quotes to stay a string.
fn yaml_number(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let all = |t: &str, ok: fn(char) -> bool| !t.is_empty() && t.chars().all(ok);
    if s == ".inf" || s == ".nan" {
        return true;
    }
    if s.strip_prefix("0x")
        .is_some_and(|hex| all(hex, |c| c.is_ascii_hexdigit() || c == '_'))
        || s.strip_prefix("0o")
            .is_some_and(|oct| all(oct, |c| matches!(c, '0'..='7' | '_')))
    {
        return true;
    }
    // \.?[0-9][0-9_]*(\.[0-9_]*)?([e][-+]?[0-9]+)?
    let rest = s.strip_prefix('.').unwrap_or(s);
    let mut chars = rest.chars().peekable();
    if !chars.next().is_some_and(|c| c.is_ascii_digit()) {
        return false;
    }
    let digits = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        while chars.next_if(|c| c.is_ascii_digit() || *c == '_').is_some() {}
    };
    digits(&mut chars);
    if chars.next_if_eq(&'.').is_some() {
        digits(&mut chars);
    }
    if chars.next_if_eq(&'e').is_some() {
        chars.next_if(|c| *c == '-' || *c == '+');
        if !chars.next().is_some_and(|c| c.is_ascii_digit()) {
            return false;
        }
        while chars.next_if(char::is_ascii_digit).is_some() {}
    }
    chars.next().is_none()
}

fn new_entry(dash: usize, image: &str, version: &Version) -> Vec<String> {
    let pad = " ".repeat(dash);
    let mut out = vec![format!("{pad}- name: {}", scalar(image, None))];
    if let Some(t) = &version.tag {
        out.push(format!("{pad}  newTag: {}", scalar(t, None)));
    }
    if let Some(d) = &version.digest {
        out.push(format!("{pad}  digest: {}", scalar(d, None)));
    }
    out
}

/// Rewrites every `image:` line of `text` naming `image` at another version; returns the new
/// text and how many lines changed.
pub fn set_plain_images(text: &str, image: &str, version: &Version) -> (String, usize) {
    let mut doc = Lines::new(text);
    let mut changed = 0;
    for line in &mut doc.lines {
        let Some((range, balanced)) = image_reference(line) else {
            continue;
        };
        if !balanced {
            continue;
        }
        let Some(parsed) = ImageRef::parse(&line[range.clone()]) else {
            continue;
        };
        if parsed.name != image || &parsed.version == version {
            continue;
        }
        line.replace_range(range, &parsed.with(version));
        changed += 1;
    }
    (doc.join(), changed)
}

#[cfg(test)]
mod matcher_equivalence {
    //! The hand-written matchers against the regular expressions they replaced: same answer on
    //! every generated line.

    use proptest::prelude::*;
    use regex::Regex;

    use super::{image_reference, split_key_line, yaml_number};

    fn key_re() -> Regex {
        Regex::new(r"^(\s*(?:-\s+)?)([A-Za-z_][A-Za-z0-9_]*)(\s*:[ \t]*)(.*)$").unwrap()
    }
    fn image_re() -> Regex {
        Regex::new(r#"^(\s*(?:-\s+)?image\s*:[ \t]*)(["']?)([^\s"'#]+)(["']?)(.*)$"#).unwrap()
    }
    fn number_re() -> Regex {
        Regex::new(r"^[-+]?(\.?[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?|0x[0-9a-fA-F_]+|0o[0-7_]+|\.inf|\.nan)$").unwrap()
    }

    fn check(line: &str, key: &Regex, image: &Regex, number: &Regex) {
        let want = key
            .captures(line)
            .map(|c| (c.get(2).unwrap().as_str(), c.get(4).unwrap().start()));
        assert_eq!(split_key_line(line), want, "key line {line:?}");
        let want = image.captures(line).map(|c| {
            let r = c.get(3).unwrap();
            (
                r.range(),
                c.get(2).unwrap().as_str() == c.get(4).unwrap().as_str(),
            )
        });
        assert_eq!(image_reference(line), want, "image line {line:?}");
        assert_eq!(yaml_number(line), number.is_match(line), "number {line:?}");
    }

    #[test]
    fn known_lines() {
        let (k, i, n) = (key_re(), image_re(), number_re());
        for line in [
            "images:",
            "  - name: log-api",
            "    newTag: \"1.2\"",
            "- image: 'x:1' # c",
            "image: \"a:1",
            "image: 'a:1\"",
            "  image:",
            "imagePullPolicy: Always",
            "-name: x",
            "- - name: x",
            "\t image :\tnginx",
            "12",
            "-0x1f",
            "+.inf",
            ".5.3",
            "1e",
            "1e5",
            "0o17",
            "0o",
            "1_000.5e-3",
            ".",
            "",
            "name:value",
            "image: #x",
        ] {
            check(line, &k, &i, &n);
        }
    }

    proptest! {
        #[test]
        fn same_as_the_regexes(line in "[ \t\\-a-zA-Z0-9_:.'\"#+/@]{0,24}") {
            check(&line, &key_re(), &image_re(), &number_re());
        }

        #[test]
        fn same_as_the_regexes_on_yaml_shaped_lines(
            prefix in prop::sample::select(vec!["", "  ", "- ", "  -  ", "\t", "-"]),
            key in prop::sample::select(vec!["image", "images", "name", "newTag", "_k9", "9k", ""]),
            sep in prop::sample::select(vec![":", " :", ": ", ":\t ", "", " "]),
            value in "[ a-z0-9_:.'\"#@/+-]{0,16}",
        ) {
            let line = format!("{prefix}{key}{sep}{value}");
            check(&line, &key_re(), &image_re(), &number_re());
            check(&value, &key_re(), &image_re(), &number_re());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUST: &str = "\
resources:
  - ../../base

images:
  # the API
  - name: ghcr.io/o/log-api
    newTag: 1.4.2 # pinned by Maya
  - name: ghcr.io/o/log-processor
    newTag: \"2.0\"
  - name: worker
    newName: ghcr.io/o/worker
    digest: sha256:aaa

patches: []
";

    #[test]
    fn sets_new_tag_in_place_keeping_comments_and_quotes() {
        let out = set_kustomize_image(KUST, "ghcr.io/o/log-api", &Version::tag("1.5.0")).unwrap();
        assert_eq!(
            out,
            KUST.replace("newTag: 1.4.2 # pinned", "newTag: 1.5.0 # pinned")
        );
        let out =
            set_kustomize_image(KUST, "ghcr.io/o/log-processor", &Version::tag("2.1")).unwrap();
        assert_eq!(out, KUST.replace("\"2.0\"", "\"2.1\""));
    }

    #[test]
    fn matches_entries_by_new_name_and_swaps_digest_for_tag() {
        let out = set_kustomize_image(KUST, "ghcr.io/o/worker", &Version::tag("3")).unwrap();
        assert_eq!(
            out,
            KUST.replace(
                "newName: ghcr.io/o/worker\n    digest: sha256:aaa\n",
                "newName: ghcr.io/o/worker\n    newTag: \"3\"\n"
            )
        );
    }

    #[test]
    fn appends_an_entry_or_a_list() {
        let out = set_kustomize_image(KUST, "ghcr.io/o/new", &Version::tag("0.1.0")).unwrap();
        assert_eq!(
            out,
            KUST.replace(
                "digest: sha256:aaa\n",
                "digest: sha256:aaa\n  - name: ghcr.io/o/new\n    newTag: 0.1.0\n"
            )
        );
        let bare = "resources:\n- a.yaml\n";
        let out = set_kustomize_image(bare, "app", &Version::tag("2")).unwrap();
        assert_eq!(
            out,
            "resources:\n- a.yaml\n\nimages:\n  - name: app\n    newTag: \"2\"\n"
        );
        let zero = "images:\n- name: app\n  newTag: v1\nresources: [a.yaml]\n";
        let out = set_kustomize_image(zero, "other", &Version::tag("v2")).unwrap();
        assert_eq!(
            out,
            "images:\n- name: app\n  newTag: v1\n- name: other\n  newTag: v2\nresources: [a.yaml]\n"
        );
    }

    #[test]
    fn flow_lists_are_refused() {
        let err = set_kustomize_image("images: [{name: a}]\n", "a", &Version::tag("1"));
        assert!(err.unwrap_err().contains("line 1"));
    }

    #[test]
    fn plain_image_lines_are_rewritten_and_nothing_else() {
        let text = "spec:\n  containers:\n    - name: a\n      image: \"reg:5000/app:1.0\" # x\n    - image: reg:5000/app-sidecar:1.0\n      name: b\n";
        let (out, n) = set_plain_images(text, "reg:5000/app", &Version::tag("1.1"));
        assert_eq!(n, 1);
        assert_eq!(out, text.replace("app:1.0\"", "app:1.1\""));
        let (same, n) = set_plain_images(&out, "reg:5000/app", &Version::tag("1.1"));
        assert_eq!((same, n), (out, 0));
    }

    #[test]
    fn scalars_that_would_not_read_back_as_strings_are_quoted() {
        assert_eq!(scalar("1.5.0", None), "1.5.0");
        assert_eq!(scalar("1.5", None), "\"1.5\"");
        assert_eq!(scalar("10", None), "\"10\"");
        assert_eq!(scalar("true", None), "\"true\"");
        assert_eq!(scalar("sha256:abc", None), "sha256:abc");
        assert_eq!(scalar("v2", Some('\'')), "'v2'");
    }
}
