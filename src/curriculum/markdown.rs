//! Markdown to safe HTML: pulldown-cmark renders (tables, fenced code, footnotes, task lists), headings get
//! stable anchors and feed a table of contents, and ammonia removes whatever could run script — an author's raw
//! HTML included.

use std::collections::HashSet;

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// One heading in a table of contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TocEntry {
    pub level: u8,
    pub id: String,
    pub title: String,
}

/// A rendered document.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// Sanitized HTML, safe to insert into a page as is.
    pub html: String,
    /// The `##` and `###` headings, in order.
    pub toc: Vec<TocEntry>,
}

/// Renders markdown to sanitized HTML with heading anchors and a table of contents.
pub fn render(markdown: &str) -> Rendered {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS;
    let events: Vec<Event> = Parser::new_ext(markdown, options).collect();
    let mut out: Vec<Event> = Vec::with_capacity(events.len());
    let mut toc = Vec::new();
    let mut used = HashSet::new();
    let mut i = 0;
    while i < events.len() {
        if let Event::Start(Tag::Heading {
            level,
            classes,
            attrs,
            ..
        }) = &events[i]
        {
            let end = events[i..]
                .iter()
                .position(|e| matches!(e, Event::End(TagEnd::Heading(_))))
                .map_or(events.len(), |p| i + p);
            let title = plain_text(&events[i + 1..end]);
            let id = unique(slugify(&title), &mut used);
            let depth = heading_depth(*level);
            if (2..=3).contains(&depth) {
                toc.push(TocEntry {
                    level: depth,
                    id: id.clone(),
                    title: title.clone(),
                });
            }
            out.push(Event::Start(Tag::Heading {
                level: *level,
                id: Some(CowStr::from(id)),
                classes: classes.clone(),
                attrs: attrs.clone(),
            }));
            out.extend(events[i + 1..end].iter().cloned());
            if end < events.len() {
                out.push(events[end].clone());
            }
            i = end + 1;
            continue;
        }
        out.push(events[i].clone());
        i += 1;
    }
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut raw, out.into_iter());
    Rendered {
        html: sanitize(&raw),
        toc,
    }
}

fn sanitize(html: &str) -> String {
    ammonia::Builder::default()
        .add_tag_attributes("h1", &["id"])
        .add_tag_attributes("h2", &["id"])
        .add_tag_attributes("h3", &["id"])
        .add_tag_attributes("h4", &["id"])
        .add_tag_attributes("h5", &["id"])
        .add_tag_attributes("h6", &["id"])
        .add_tag_attributes("code", &["class"])
        .add_tag_attributes("sup", &["id", "class"])
        .add_tag_attributes("div", &["id", "class"])
        .add_tag_attributes("th", &["style"])
        .add_tag_attributes("td", &["style"])
        .filter_style_properties(["text-align"].into_iter().collect())
        .clean(html)
        .to_string()
}

fn heading_depth(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

fn plain_text(events: &[Event]) -> String {
    let mut s = String::new();
    for e in events {
        if let Event::Text(t) | Event::Code(t) = e {
            s.push_str(t);
        }
    }
    s.trim().to_string()
}

/// GitHub-style anchor: lower-case words joined by hyphens.
pub fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if (c.is_whitespace() || c == '-' || c == '_') && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_matches('-').to_string();
    if slug.is_empty() {
        "section".to_string()
    } else {
        slug
    }
}

fn unique(base: String, used: &mut HashSet<String>) -> String {
    let mut candidate = base.clone();
    let mut n = 1;
    while !used.insert(candidate.clone()) {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_get_anchors_and_a_table_of_contents() {
        let r = render(
            "## Getting started\n\ntext\n\n### Status codes & errors\n\n## Getting started\n",
        );
        assert!(
            r.html.contains(r#"<h2 id="getting-started">"#),
            "{}",
            r.html
        );
        assert!(
            r.html.contains(r#"<h3 id="status-codes-errors">"#),
            "{}",
            r.html
        );
        assert!(
            r.html.contains(r#"<h2 id="getting-started-1">"#),
            "{}",
            r.html
        );
        let ids: Vec<_> = r.toc.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "getting-started",
                "status-codes-errors",
                "getting-started-1"
            ]
        );
    }

    #[test]
    fn tables_and_fenced_code_render() {
        let r = render("| a | b |\n|---|---|\n| 1 | 2 |\n\n```go\nfunc main() {}\n```\n");
        assert!(r.html.contains("<table>"), "{}", r.html);
        assert!(
            r.html.contains(r#"<code class="language-go">"#),
            "{}",
            r.html
        );
    }

    #[test]
    fn raw_html_cannot_run_script() {
        let r = render(
            "<script>alert(1)</script>\n\n<img src=x onerror=\"alert(2)\">\n\n[x](javascript:alert(3))\n",
        );
        assert!(!r.html.contains("<script"), "{}", r.html);
        assert!(!r.html.contains("onerror"), "{}", r.html);
        assert!(!r.html.contains("javascript:"), "{}", r.html);
    }
}
