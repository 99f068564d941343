//! A Dockerfile's logical lines as the engine's parser reads them: parser directives at the top (`# escape=`),
//! comments dropped (also between continued lines), line continuations joined with the escape character in
//! force, and the number of the line each instruction starts on.
//!
//! Being exact here matters: an instruction this reader and the engine split differently is one the build
//! policy never sees. The rules follow the parser of Docker 20.10's classic builder.

/// One instruction: its keyword upper-cased, the rest as written (continuations joined), and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// 1-based number of the line the instruction starts on.
    pub line: usize,
    pub keyword: String,
    pub rest: String,
}

/// A Dockerfile the engine would refuse to parse (so no build runs), or that this reader refuses to guess at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Dockerfile line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

/// The instructions of `text` and the escape character in force (`\` unless a directive says `` ` ``).
pub fn instructions(text: &str) -> Result<(Vec<Instruction>, char), ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut directives = Directives::default();
    let mut out = Vec::new();
    let mut lines = text.split('\n').enumerate().peekable();
    while let Some((index, raw)) = lines.next() {
        let raw = raw.trim_end_matches(['\r', '\n']);
        directives.read(raw, index + 1)?;
        let escape = directives.escape();
        let first = raw.trim_start();
        if is_comment(first) {
            continue;
        }
        let (mut joined, mut ended) = continuation(first, escape);
        if ended && joined.trim().is_empty() {
            continue;
        }
        while !ended {
            let Some((next_index, next)) = lines.next() else {
                break;
            };
            let next = next.trim_end_matches(['\r', '\n']);
            directives.read(next, next_index + 1)?;
            if is_comment(next) || next.trim().is_empty() {
                continue;
            }
            let (part, end) = continuation(next, directives.escape());
            joined.push_str(&part);
            ended = end;
        }
        let trimmed = joined.trim();
        if trimmed.is_empty() {
            continue;
        }
        let (keyword, rest) = match trimmed.split_once(char::is_whitespace) {
            Some((k, r)) => (k, r.trim()),
            None => (trimmed, ""),
        };
        out.push(Instruction {
            line: index + 1,
            keyword: keyword.to_ascii_uppercase(),
            rest: rest.to_string(),
        });
    }
    Ok((out, directives.escape()))
}

/// A comment is a line whose first non-blank character is `#`.
fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// The line without its continuation mark (the escape character then only blanks at its end), and whether the
/// instruction ends on it.
fn continuation(line: &str, escape: char) -> (String, bool) {
    let body = line.trim_end_matches([' ', '\t']);
    match body.strip_suffix(escape) {
        Some(head) => (head.to_string(), false),
        None => (line.to_string(), true),
    }
}

/// Parser directives: only on the first lines, before anything else, as Docker 20.10's parser reads them: a
/// line `# name = value` (any case); `escape` (`\` or `` ` `` exactly) and `syntax` may each appear once and
/// keep the directives going; any other line, another directive included, ends them.
#[derive(Default)]
struct Directives {
    escape: Option<char>,
    seen_syntax: bool,
    done: bool,
}

impl Directives {
    fn escape(&self) -> char {
        self.escape.unwrap_or('\\')
    }

    fn read(&mut self, line: &str, number: usize) -> Result<(), ParseError> {
        if self.done {
            return Ok(());
        }
        let fail = |message: String| ParseError {
            line: number,
            message,
        };
        match directive(line) {
            Some((name, value)) if name == "escape" => {
                if self.escape.is_some() {
                    return Err(fail("only one escape parser directive can be used".into()));
                }
                match value {
                    "\\" => self.escape = Some('\\'),
                    "`" => self.escape = Some('`'),
                    other => {
                        return Err(fail(format!(
                            "invalid escape token `{other}` (use \\ or `)"
                        )))
                    }
                }
            }
            Some((name, _)) if name == "syntax" => {
                if std::mem::replace(&mut self.seen_syntax, true) {
                    return Err(fail("only one syntax parser directive can be used".into()));
                }
            }
            _ => self.done = true,
        }
        Ok(())
    }
}

/// `# name = value` (the name lower-cased), with blanks as Go's `\s` (space, tab, form feed, CR, LF).
fn directive(line: &str) -> Option<(String, &str)> {
    let blank = [' ', '\t', '\x0c', '\r', '\n'];
    let rest = line
        .trim_start()
        .strip_prefix('#')?
        .trim_start_matches(blank);
    let name_len = rest
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_alphabetic() || (*i > 0 && c.is_ascii_digit())))
        .map_or(rest.len(), |(i, _)| i);
    if name_len == 0 {
        return None;
    }
    let (name, rest) = rest.split_at(name_len);
    let value = rest
        .trim_start_matches(blank)
        .strip_prefix('=')?
        .trim_matches(blank);
    (!value.is_empty()).then(|| (name.to_ascii_lowercase(), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Vec<(usize, String, String)> {
        instructions(text)
            .expect("parses")
            .0
            .into_iter()
            .map(|i| (i.line, i.keyword, i.rest))
            .collect()
    }

    #[test]
    fn continuations_join_and_comments_between_them_are_dropped() {
        let text = "FROM scratch\nCOPY \\\n# a comment\n\n  --from=x \\  \n  /a /b\nrun x\n";
        assert_eq!(
            parsed(text),
            vec![
                (1, "FROM".into(), "scratch".into()),
                (2, "COPY".into(), "  --from=x   /a /b".trim().into()),
                (7, "RUN".into(), "x".into()),
            ]
        );
    }

    #[test]
    fn the_escape_directive_changes_the_continuation_character() {
        let text = "# escape=`\nFROM scratch\nCOPY --from=a `\n  /x /y\nRUN c:\\dir\\\nFROM b\n";
        let got = parsed(text);
        assert_eq!(got[1], (3, "COPY".into(), "--from=a   /x /y".into()));
        // A backslash no longer continues a line.
        assert_eq!(got[2], (5, "RUN".into(), "c:\\dir\\".into()));
        assert_eq!(got[3], (6, "FROM".into(), "b".into()));
    }

    #[test]
    fn directives_count_only_at_the_top() {
        let text = "FROM scratch\n# escape=`\nRUN a \\\nFROM b\n";
        assert_eq!(parsed(text).len(), 2, "the late directive was taken");
        // `syntax` keeps the directives going; any other directive ends them (seen on Docker 20.10).
        let (_, escape) = instructions("# Syntax=x\n# escape=`\nFROM a\n").expect("parses");
        assert_eq!(escape, '`');
        let (_, escape) = instructions("# foo=bar\n# escape=`\nFROM a\n").expect("parses");
        assert_eq!(escape, '\\');
        let (_, escape) = instructions("  #escape = ` \nFROM a\n").expect("parses");
        assert_eq!(escape, '`');
        let (_, escape) = instructions("#   ESCAPE = `\nFROM a\n").expect("parses");
        assert_eq!(escape, '`');
    }

    #[test]
    fn a_bad_or_repeated_escape_directive_is_an_error() {
        assert!(instructions("# escape=x\nFROM a\n").is_err());
        assert!(instructions("# escape=`x\nFROM a\n").is_err());
        assert!(instructions("# syntax=x\n# syntax=y\nFROM a\n").is_err());
        assert!(instructions("# escape=`\n# escape=\\\nFROM a\n").is_err());
    }

    #[test]
    fn windows_line_ends_and_a_byte_order_mark_are_read() {
        let text = "\u{feff}FROM a \\\r\n  AS b\r\nCOPY --from=b / /\r\n";
        assert_eq!(
            parsed(text),
            vec![
                (1, "FROM".into(), "a   AS b".into()),
                (3, "COPY".into(), "--from=b / /".into()),
            ]
        );
    }
}
