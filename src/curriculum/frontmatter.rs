//! Splits a markdown file into its `+++`-fenced TOML front matter and its body, remembering where each starts
//! so that errors inside the front matter point at the right line of the file.

/// The two parts of a module file.
#[derive(Debug, PartialEq, Eq)]
pub struct Split<'a> {
    pub front: &'a str,
    /// Byte offset of `front` in the file.
    pub front_offset: usize,
    pub body: &'a str,
}

/// Why a file has no usable front matter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrontMatterError {
    #[error("the file must start with TOML front matter between two `+++` lines")]
    Missing,
    #[error("the front matter opened on line 1 is never closed by a `+++` line")]
    Unclosed,
}

pub fn split(text: &str) -> Result<Split<'_>, FrontMatterError> {
    let text_no_bom = text.strip_prefix('\u{feff}').unwrap_or(text);
    let bom = text.len() - text_no_bom.len();
    let first_line_end = text_no_bom.find('\n').unwrap_or(text_no_bom.len());
    if text_no_bom[..first_line_end].trim_end() != "+++" {
        return Err(FrontMatterError::Missing);
    }
    let front_offset = bom + first_line_end + 1;
    let rest = text.get(front_offset..).unwrap_or("");
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "+++" {
            let front = &rest[..offset];
            let body = &rest[offset + line.len()..];
            return Ok(Split {
                front,
                front_offset,
                body,
            });
        }
        offset += line.len();
    }
    Err(FrontMatterError::Unclosed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_front_matter_from_body() {
        let s = split("+++\nweek = 1\n+++\n# Body\n").unwrap();
        assert_eq!(s.front, "week = 1\n");
        assert_eq!(s.front_offset, 4);
        assert_eq!(s.body, "# Body\n");
    }

    #[test]
    fn reports_missing_and_unclosed() {
        assert_eq!(split("# no front"), Err(FrontMatterError::Missing));
        assert_eq!(split("+++\nweek = 1\n"), Err(FrontMatterError::Unclosed));
    }
}
