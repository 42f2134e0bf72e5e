//! Docker's image-reference grammar, parsed by hand.
//!
//! oci-spec's `Reference::try_from` matches one large regular expression, compiled on the first
//! parse in every process: it cost a `berth exec REGISTRY/REPO:TAG` about 40 ms on every start,
//! for a lookup that is otherwise a few file reads. This parser accepts the same language
//! (`[DOMAIN/]PATH[:TAG][@DIGEST]`, the grammar of distribution's `reference` package, tags in
//! the OCI spec's ASCII form) and normalizes names as Docker does; oci-spec's `Reference` is
//! built from the parts only where a registry is spoken to.

/// The longest repository name a registry accepts.
const NAME_MAX: usize = 255;
/// The longest tag.
const TAG_MAX: usize = 128;

/// A reference split into its normalized parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parts {
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

/// Splits and checks `text`; the error says what is wrong with it.
pub(crate) fn parse(text: &str) -> Result<Parts, String> {
    if text.is_empty() {
        return Err("empty image reference".into());
    }
    let (rest, digest) = match text.split_once('@') {
        Some((rest, digest)) => (rest, Some(check_digest(digest)?)),
        None => (text, None),
    };
    // A tag's colon comes after the last slash; an earlier one is the registry's port.
    let (name, tag) = match rest.rfind(':') {
        Some(colon) if !rest[colon..].contains('/') => {
            let tag = &rest[colon + 1..];
            check_tag(tag)?;
            (&rest[..colon], Some(tag.to_owned()))
        }
        _ => (rest, None),
    };
    check_name(name)?;
    let (registry, repository) = split_registry(name);
    if repository.len() > NAME_MAX {
        return Err(format!("repository name longer than {NAME_MAX} characters"));
    }
    let tag = match (&tag, &digest) {
        (None, None) => Some("latest".to_owned()),
        _ => tag,
    };
    Ok(Parts {
        registry,
        repository,
        tag,
        digest: digest.map(str::to_owned),
    })
}

/// `[DOMAIN/]COMPONENT(/COMPONENT)*`: the first of several segments may be a registry host.
fn check_name(name: &str) -> Result<(), String> {
    let segments: Vec<&str> = name.split('/').collect();
    let (first, rest) = segments.split_first().expect("split yields one segment");
    let first_ok = is_path_component(first) || (!rest.is_empty() && is_domain(first));
    if !first_ok {
        return Err(format!("{first:?} is not a valid name component"));
    }
    match rest.iter().find(|segment| !is_path_component(segment)) {
        Some(bad) => Err(format!("{bad:?} is not a valid name component")),
        None => Ok(()),
    }
}

/// A repository path component: lowercase letters and digits, joined by one `.`, one or two
/// `_`, or any number of `-`.
fn is_path_component(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if !alnum(first) || !alnum(last) {
        return false;
    }
    let mut separator = String::new();
    for &b in bytes {
        if alnum(&b) {
            if !matches!(separator.as_str(), "" | "." | "_" | "__") && !is_dashes(&separator) {
                return false;
            }
            separator.clear();
        } else if matches!(b, b'.' | b'_' | b'-') {
            separator.push(b as char);
        } else {
            return false;
        }
    }
    true
}

fn is_dashes(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b == b'-')
}

/// A registry host: dot-separated labels of letters, digits and inner hyphens, with an optional
/// `:PORT`.
fn is_domain(segment: &str) -> bool {
    let (host, port) = match segment.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (segment, None),
    };
    let label_ok = |label: &str| {
        let bytes = label.as_bytes();
        match (bytes.first(), bytes.last()) {
            (Some(first), Some(last)) => {
                first.is_ascii_alphanumeric()
                    && last.is_ascii_alphanumeric()
                    && bytes
                        .iter()
                        .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            }
            _ => false,
        }
    };
    host.split('.').all(label_ok)
        && port.is_none_or(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
}

/// An OCI tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn check_tag(tag: &str) -> Result<(), String> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    let valid = bytes.first().is_some_and(|&b| word(b))
        && bytes.len() <= TAG_MAX
        && bytes.iter().all(|&b| word(b) || b == b'.' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(format!("{tag:?} is not a valid tag"))
    }
}

/// `ALGORITHM:HEX` with a hex length that fits the algorithm (sha256, sha384, sha512).
fn check_digest(digest: &str) -> Result<&str, String> {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Err(format!("{digest:?} is not a digest (ALGORITHM:HEX)"));
    };
    let expected = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        other => return Err(format!("unsupported digest algorithm {other:?}")),
    };
    if hex.len() != expected || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "a {algorithm} digest is {expected} hexadecimal characters"
        ));
    }
    Ok(digest)
}

/// Docker's normalization: the first segment names a registry when it has a `.` or a `:` or is
/// `localhost`; otherwise the registry is Docker Hub, where a one-segment name is an official
/// image under `library/`.
fn split_registry(name: &str) -> (String, String) {
    let (registry, repository) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first, rest.to_owned())
        }
        _ => ("docker.io", name.to_owned()),
    };
    let registry = if registry == "index.docker.io" {
        "docker.io"
    } else {
        registry
    };
    let repository = if registry == "docker.io" && !repository.contains('/') {
        format!("library/{repository}")
    } else {
        repository
    };
    (registry.to_owned(), repository)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(text: &str) -> (String, String, Option<String>, Option<String>) {
        let p = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        (p.registry, p.repository, p.tag, p.digest)
    }

    fn some(text: &str) -> Option<String> {
        Some(text.to_owned())
    }

    #[test]
    fn names_normalize_as_docker_does() {
        let hex = "c".repeat(64);
        let cases = [
            (
                "busybox",
                ("docker.io", "library/busybox", some("latest"), None),
            ),
            (
                "test.com:tag",
                ("docker.io", "library/test.com", some("tag"), None),
            ),
            (
                "test.com:5000",
                ("docker.io", "library/test.com", some("5000"), None),
            ),
            ("test.com/repo:tag", ("test.com", "repo", some("tag"), None)),
            (
                "test:5000/repo",
                ("test:5000", "repo", some("latest"), None),
            ),
            ("localhost/x", ("localhost", "x", some("latest"), None)),
            (
                "acme/tool",
                ("docker.io", "acme/tool", some("latest"), None),
            ),
            (
                "index.docker.io/alpine",
                ("docker.io", "library/alpine", some("latest"), None),
            ),
            (
                "Registry.Example.com/a/b-c__d.e---f:v1.0_x",
                (
                    "Registry.Example.com",
                    "a/b-c__d.e---f",
                    some("v1.0_x"),
                    None,
                ),
            ),
        ];
        for (text, (registry, repository, tag, digest)) in cases {
            assert_eq!(
                parts(text),
                (registry.to_owned(), repository.to_owned(), tag, digest),
                "{text}"
            );
        }
        assert_eq!(
            parts(&format!("h:5000/r:t@sha256:{hex}")),
            (
                "h:5000".into(),
                "r".into(),
                some("t"),
                some(&format!("sha256:{hex}"))
            )
        );
        assert_eq!(
            parts(&format!("h:5000/r@sha256:{hex}")),
            (
                "h:5000".into(),
                "r".into(),
                None,
                some(&format!("sha256:{hex}"))
            )
        );
    }

    #[test]
    fn malformed_references_say_what_is_wrong() {
        let long_name = format!("h.io/{}", "a".repeat(NAME_MAX + 1));
        let long_tag = format!("r:{}", "t".repeat(TAG_MAX + 1));
        let cases = [
            ("", "empty image reference"),
            ("UPPER/Case", "\"Case\" is not a valid name component"),
            ("Upper", "\"Upper\" is not a valid name component"),
            ("a..b/c", "\"a..b\" is not a valid name component"),
            ("h.io/a__-b", "\"a__-b\" is not a valid name component"),
            ("h.io/a___b", "\"a___b\" is not a valid name component"),
            ("h.io/-a", "\"-a\" is not a valid name component"),
            ("h.io//a", "\"\" is not a valid name component"),
            ("h.io/a/", "\"\" is not a valid name component"),
            ("-h.io/a", "\"-h.io\" is not a valid name component"),
            ("h.io:port/a", "\"h.io:port\" is not a valid name component"),
            ("h.io:/a", "\"h.io:\" is not a valid name component"),
            ("r:", "\"\" is not a valid tag"),
            ("r:.x", "\".x\" is not a valid tag"),
            ("r:a/b", "\"r:a\" is not a valid name component"),
            ("r:é", "\"é\" is not a valid tag"),
            (
                "repo@sha256:short",
                "a sha256 digest is 64 hexadecimal characters",
            ),
            ("repo@md5:abcd", "unsupported digest algorithm \"md5\""),
            ("repo@abcd", "\"abcd\" is not a digest (ALGORITHM:HEX)"),
            (
                "a@sha256:@b",
                "a sha256 digest is 64 hexadecimal characters",
            ),
            ("r a", "\"r a\" is not a valid name component"),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text).unwrap_err(), expected, "{text}");
        }
        assert_eq!(
            parse(&long_tag).unwrap_err(),
            format!("{:?} is not a valid tag", "t".repeat(TAG_MAX + 1))
        );
        assert_eq!(
            parse(&long_name).unwrap_err(),
            "repository name longer than 255 characters"
        );
        let hex = "g".repeat(64);
        assert_eq!(
            parse(&format!("r@sha256:{hex}")).unwrap_err(),
            "a sha256 digest is 64 hexadecimal characters"
        );
    }
}
