//! Where a page may send a visitor after signing in: a path on this site, decided the way a browser will read
//! it. Comparing prefixes by hand misses what the URL standard does before resolving (tabs and line breaks are
//! dropped, `\` is a `/`, so `/\t/evil.example` is `//evil.example`, another host); parsing with the `url`
//! crate, which implements that standard, and emitting its own serialisation leaves nothing to disagree about.

use url::Url;

/// An origin no request can carry, to resolve relative targets against.
const BASE: &str = "http://gauntlet.invalid/";

/// `next` as a same-origin path and query (control characters percent-encoded, so it is always a valid header
/// value), or `/` when it is missing, not a path, or resolves to another origin.
pub fn same_site_path(next: Option<&str>) -> String {
    next.and_then(resolve).unwrap_or_else(|| "/".to_string())
}

fn resolve(next: &str) -> Option<String> {
    // Only absolute paths: a relative target would depend on the page it was given on.
    if !next.starts_with('/') {
        return None;
    }
    let base = Url::parse(BASE).ok()?;
    let target = base.join(next).ok()?;
    if target.origin() != base.origin() {
        return None;
    }
    let mut out = target.path().to_string();
    if let Some(query) = target.query() {
        out.push('?');
        out.push_str(query);
    }
    // Belt and braces: what the browser gets must itself resolve to this site.
    (!out.starts_with("//") && !out.starts_with("/\\")).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::same_site_path;

    #[test]
    fn paths_on_this_site_are_kept_with_their_query() {
        assert_eq!(same_site_path(Some("/labs/w01-hello")), "/labs/w01-hello");
        assert_eq!(same_site_path(Some("/runs/7?x=1")), "/runs/7?x=1");
        assert_eq!(same_site_path(None), "/");
    }

    /// What a browser on `https://site.example` would reach by following `location`.
    fn followed(location: &str) -> url::Url {
        url::Url::parse("https://site.example/runs/1")
            .unwrap()
            .join(location)
            .unwrap()
    }

    #[test]
    fn targets_a_browser_would_read_as_another_host_go_home() {
        for hostile in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/\t\\evil.example",
            "\\/evil.example",
            "https://evil.example/",
            "http:evil.example",
            "evil.example",
        ] {
            assert_eq!(same_site_path(Some(hostile)), "/", "{hostile:?}");
        }
    }

    #[test]
    fn whatever_comes_out_stays_on_this_site() {
        for next in [
            "/%09/evil.example",
            "/%2F/evil.example",
            "/%5C/evil.example",
            "/ /evil.example",
            "/./\t/x",
        ] {
            let got = same_site_path(Some(next));
            assert_eq!(
                followed(&got).host_str(),
                Some("site.example"),
                "{next:?} → {got:?}"
            );
        }
    }

    #[test]
    fn control_characters_come_out_encoded() {
        let got = same_site_path(Some("/a\u{1}b\u{7f}c"));
        assert!(got.bytes().all(|b| (0x21..0x7f).contains(&b)), "{got:?}");
    }
}
