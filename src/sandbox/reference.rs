//! Image references as the engine normalises them (`debian` is `docker.io/library/debian:latest`), so that the
//! build policy compares what the engine will resolve, not what the learner happened to write.
//!
//! Hand-written rather than taken from a crate: the rules are Docker's `reference` package in a few lines,
//! and the OCI client crates that carry a parser bring a registry client with them.

use std::fmt;

/// The registry Docker assumes when a name has none.
const DEFAULT_DOMAIN: &str = "docker.io";

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host (with port), `docker.io` by default.
    pub domain: String,
    /// Repository path; `library/` added for a one-part name on Docker Hub.
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

/// Why a reference is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a valid image name")]
pub struct BadReference(pub String);

impl ImageRef {
    pub fn parse(s: &str) -> Result<ImageRef, BadReference> {
        let bad = || BadReference(s.to_string());
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => {
                let (algo, hex) = d.split_once(':').ok_or_else(bad)?;
                let ok = !algo.is_empty()
                    && algo
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                    && hex.len() >= 32
                    && hex.bytes().all(|b| b.is_ascii_hexdigit());
                if !ok {
                    return Err(bad());
                }
                (r, Some(d.to_string()))
            }
            None => (s, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(t) = tag {
            let ok = (1..=128).contains(&t.len())
                && t.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
            if !ok {
                return Err(bad());
            }
        }
        let (domain, path) = match name.split_once('/') {
            Some((first, path))
                if first.contains(['.', ':'])
                    || first == "localhost"
                    || first.chars().any(|c| c.is_ascii_uppercase()) =>
            {
                (first.to_string(), path.to_string())
            }
            _ => (DEFAULT_DOMAIN.to_string(), name.to_string()),
        };
        let domain = if domain == "index.docker.io" {
            DEFAULT_DOMAIN.to_string()
        } else {
            domain
        };
        if path.is_empty() || !path.split('/').all(valid_component) {
            return Err(bad());
        }
        let path = if domain == DEFAULT_DOMAIN && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        let tag = tag
            .map(str::to_string)
            .or_else(|| digest.is_none().then(|| "latest".to_string()));
        Ok(ImageRef {
            domain,
            path,
            tag,
            digest,
        })
    }

    /// The name as `docker` prints it: `debian:latest`, `gauntlet-base/deb:1`, `ghcr.io/o/x@sha256:…`.
    pub fn familiar(&self) -> String {
        let name = if self.domain == DEFAULT_DOMAIN {
            self.path
                .strip_prefix("library/")
                .unwrap_or(&self.path)
                .to_string()
        } else {
            format!("{}/{}", self.domain, self.path)
        };
        with_suffix(name, self)
    }

    /// The whole name: `docker.io/library/debian:latest`.
    pub fn full(&self) -> String {
        with_suffix(format!("{}/{}", self.domain, self.path), self)
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.familiar())
    }
}

fn with_suffix(mut name: String, r: &ImageRef) -> String {
    if let Some(t) = &r.tag {
        name.push(':');
        name.push_str(t);
    }
    if let Some(d) = &r.digest {
        name.push('@');
        name.push_str(d);
    }
    name
}

/// A path component: lower-case letters and digits, separated by one `.`, one or two `_`, or any `-`s.
fn valid_component(c: &str) -> bool {
    let edges_ok = c.starts_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
        && c.ends_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit());
    edges_ok
        && c.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && !c.contains("..")
        && !c.contains("___")
}

/// Whether `name` can only mean an image id (`sha256:…`, or hexadecimal digits alone, which the engine also
/// tries as a prefix of a local image's id): ids reach any image on the engine, whatever its name.
pub fn is_image_id(name: &str) -> bool {
    let hex = name.strip_prefix("sha256:").unwrap_or(name);
    !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(s: &str) -> String {
        ImageRef::parse(s).expect("valid").full()
    }

    #[test]
    fn names_are_normalised_as_docker_does() {
        assert_eq!(full("debian"), "docker.io/library/debian:latest");
        assert_eq!(full("gauntlet-run/x-1:t"), "docker.io/gauntlet-run/x-1:t");
        assert_eq!(
            full("docker.io/gauntlet-run/x"),
            "docker.io/gauntlet-run/x:latest"
        );
        assert_eq!(
            full("index.docker.io/library/debian:12"),
            "docker.io/library/debian:12"
        );
        assert_eq!(full("localhost:5000/a/b"), "localhost:5000/a/b:latest");
        let digest = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            ImageRef::parse(&format!("python:3.12-slim@{digest}"))
                .expect("valid")
                .familiar(),
            format!("python:3.12-slim@{digest}")
        );
        assert_eq!(
            ImageRef::parse(&format!("x@{digest}")).expect("valid").tag,
            None
        );
    }

    #[test]
    fn invalid_names_are_refused() {
        for bad in [
            "",
            "Debian",
            "a//b",
            "a:",
            "a@sha256:12",
            "-a",
            "a/",
            "a b",
            "x:t@y",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn ids_and_hex_prefixes_are_image_ids() {
        assert!(is_image_id("1d81abcaf808"));
        assert!(is_image_id(&format!("sha256:{}", "0".repeat(64))));
        assert!(is_image_id("5"));
        assert!(!is_image_id("debian"));
        assert!(!is_image_id("scratch"));
    }
}
