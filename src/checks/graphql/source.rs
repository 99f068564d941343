//! Where things are in a check file, and the text a document is parsed as at load time: the line of a
//! `[check.graphql…]` header (toml gives no span to a table only its sub-tables declare), the SDL line a
//! parser error names, and a templated document with its variables standing in.

use crate::checks::load::Source;

/// Where the first line of the check starting at `start` that begins with `header` (`[check.graphql`, which
/// `[[check.graphql.query]]` also begins with) is, before the next `[[check]]`; `start` when there is none.
pub(in crate::checks) fn header_at(src: &Source, start: usize, header: &str) -> usize {
    let text = &src.text[start.min(src.text.len())..];
    let mut offset = start;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let t = line.trim_start();
        if i > 0 && t.starts_with("[[check]]") {
            break;
        }
        if t.starts_with(header) || t.strip_prefix('[').is_some_and(|r| r.starts_with(header)) {
            return offset + (line.len() - t.len());
        }
        offset += line.len();
    }
    start
}

/// `text` with every `{{…}}` replaced by `0`, to parse a document before its variables are known.
pub(super) fn stand_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        match rest[i..].find("}}") {
            Some(j) => {
                out.push('0');
                rest = &rest[i + j + 2..];
            }
            None => {
                rest = &rest[i..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

pub(super) fn one_line(e: &str) -> String {
    e.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(": ")
}

/// The byte offset in the check file of the SDL line a parser error names (`Parse error at 3:14`): the
/// string starts at `start`; a `'''` or `"""` string drops the newline right after its opening quotes.
pub(super) fn sdl_offset(text: &str, start: usize, error: &str) -> usize {
    let line = error
        .split("Parse error at ")
        .nth(1)
        .and_then(|r| r.split(':').next())
        .and_then(|l| l.trim().parse::<usize>().ok())
        .unwrap_or(1);
    let body = &text[start.min(text.len())..];
    let mut skip = line.saturating_sub(1);
    if body.starts_with("'''\n") || body.starts_with("\"\"\"\n") {
        skip += 1;
    }
    let mut offset = start;
    for l in body.split_inclusive('\n').take(skip) {
        offset += l.len();
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::graphql::require::requirements;

    #[test]
    fn variables_stand_in_as_zero_so_a_templated_document_parses() {
        assert_eq!(
            stand_in("query { note(id: \"{{a}}\") { id } notes(limit: {{n}}) { items { id } } }"),
            "query { note(id: \"0\") { id } notes(limit: 0) { items { id } } }"
        );
        assert_eq!(stand_in("{ x }"), "{ x }");
    }

    #[test]
    fn an_sdl_error_points_at_its_line_in_the_check_file() {
        let text = "[check.graphql]\nrequire = '''\ntype Query {\n  note(id: ID!: Note\n}'''\n";
        let start = text.find("'''").expect("string");
        let e = requirements("type Query {\n  note(id: ID!: Note\n}").expect_err("broken");
        let at = sdl_offset(text, start, &e);
        assert_eq!(crate::diagnostics::line_of(text, at), 4, "{e}");
    }
}
