//! A lab's starter projects: project folders learners download from the lab page, the API or
//! `gauntlet starter`, that build and run as they are and leave the lab's work marked as TODOs.
//!
//! `labs/<id>/starter/` is the default one; a lab may offer more, in other languages, as
//! `labs/<id>/starters/<name>/`, each declared with the language it is labelled with in lab.toml's
//! `[starters]` table (`rust = "Rust"`; the key `default` labels `starter/`).
//!
//! Each is packed on request from exactly its folder, with the same packer (and limits, and ignore rules) as a
//! learner's submission, so nothing else of the lab's folder (the hidden checks) can ever be in it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::Curriculum;
use crate::archive::{self, ArchiveError, ArchiveLimits};
use crate::diagnostics::Diagnostic;
use crate::domain::LabId;

/// The folder name a lab's default starter lives in.
pub const FOLDER: &str = "starter";

/// The folder that holds a lab's other starters, one folder per name.
pub const MORE: &str = "starters";

/// The name of the default starter (`starter/`) in URLs, `gauntlet starter --name` and lab.toml's `[starters]`.
pub const DEFAULT: &str = "default";

/// The longest starter name and language label.
const MAX_LEN: usize = 32;

/// One starter project of a lab.
#[derive(Debug, Clone)]
pub struct Starter {
    /// `default` for `starter/`, else its folder's name under `starters/` (lowercase letters, digits, `-`).
    pub name: String,
    /// What the download is labelled with, from lab.toml's `[starters]`; always set for a named starter.
    pub language: Option<String>,
    pub dir: PathBuf,
}

impl Starter {
    pub fn is_default(&self) -> bool {
        self.name == DEFAULT
    }

    /// Its download on the site (and, under `/api/v1`, in the API).
    pub fn path(&self, lab: &str) -> String {
        if self.is_default() {
            format!("/labs/{lab}/starter.tar.gz")
        } else {
            format!("/labs/{lab}/starters/{}.tar.gz", self.name)
        }
    }

    /// The file name a download is saved as.
    pub fn file_name(&self, lab: &str) -> String {
        if self.is_default() {
            format!("{lab}-starter.tar.gz")
        } else {
            format!("{lab}-starter-{}.tar.gz", self.name)
        }
    }
}

/// Why a starter cannot be downloaded.
#[derive(Debug, thiserror::Error)]
pub enum StarterError {
    /// No such lab, or a lab without a starter of that name.
    #[error("no starter project")]
    NotFound,
    #[error(transparent)]
    Pack(#[from] ArchiveError),
}

/// The starter `name` (`None`: the default one) of lab `id` (as a URL names them), and its `.tar.gz`.
pub async fn for_lab(
    curriculum: &Curriculum,
    id: &str,
    name: Option<&str>,
) -> Result<(Starter, Vec<u8>), StarterError> {
    let name = name.unwrap_or(DEFAULT);
    let starter = LabId::parse(id)
        .ok()
        .and_then(|id| curriculum.lab(&id))
        .and_then(|lab| lab.starters.iter().find(|s| s.name == name).cloned())
        .ok_or(StarterError::NotFound)?;
    let bytes = archive(starter.dir.clone()).await?;
    Ok((starter, bytes))
}

/// The starter folder as a `.tar.gz`.
pub async fn archive(dir: PathBuf) -> Result<Vec<u8>, ArchiveError> {
    let packed =
        tokio::task::spawn_blocking(move || archive::pack(&dir, &ArchiveLimits::default())).await;
    packed.unwrap_or_else(|e| {
        Err(ArchiveError::Io {
            context: "pack the starter project",
            source: std::io::Error::other(e.to_string()),
        })
    })
}

/// The lab's starters, default first then by name, from its folders and lab.toml's `[starters]` (`declared`,
/// parsed from `text` at `toml_path`). A folder without a Dockerfile or a language, a declared name without a
/// folder, and a name or label that cannot appear in a URL or a button go to `problems`, with their line.
pub(super) fn resolve(
    dir: &Path,
    declared: &BTreeMap<Spanned<String>, Spanned<String>>,
    toml_path: &Path,
    text: &str,
    problems: &mut Vec<Diagnostic>,
) -> Vec<Starter> {
    let mut languages: BTreeMap<&str, &Spanned<String>> = BTreeMap::new();
    for (name, language) in declared {
        let label = language.get_ref().trim();
        if label.is_empty() || label.len() > MAX_LEN || label.contains(['\n', '\r']) {
            problems.push(Diagnostic::at_offset(
                toml_path,
                text,
                language.span().start,
                format!(
                    "[starters] `{}`: the language a download is labelled with is one line of 1 to {MAX_LEN} characters",
                    name.get_ref()
                ),
            ));
        }
        let folder = folder_of(dir, name.get_ref());
        if !folder.is_dir() {
            problems.push(Diagnostic::at_offset(
                toml_path,
                text,
                name.span().start,
                format!(
                    "[starters] declares `{}`, but there is no folder {}",
                    name.get_ref(),
                    folder.display()
                ),
            ));
        }
        languages.insert(name.get_ref(), language);
    }
    let label = |name: &str| languages.get(name).map(|l| l.get_ref().trim().to_string());
    let mut starters = Vec::new();
    let default = dir.join(FOLDER);
    if default.is_dir() {
        starters.push(Starter {
            name: DEFAULT.to_string(),
            language: label(DEFAULT),
            dir: default,
        });
    }
    let more = dir.join(MORE);
    let mut named: Vec<(String, PathBuf)> = match std::fs::read_dir(&more) {
        Ok(entries) => entries
            .flatten()
            .map(|e| (e.file_name().to_string_lossy().to_string(), e.path()))
            .collect(),
        Err(_) => Vec::new(),
    };
    named.sort();
    for (name, path) in named {
        if !path.is_dir() {
            problems.push(Diagnostic::new(
                &path,
                None,
                format!("{MORE}/ holds one folder per starter, not files"),
            ));
            continue;
        }
        if !valid_name(&name) {
            problems.push(Diagnostic::new(
                &path,
                None,
                format!(
                    "a starter's folder name is its name in URLs: 1 to {MAX_LEN} lowercase letters, digits and `-`, and not `{DEFAULT}`"
                ),
            ));
            continue;
        }
        match label(&name) {
            Some(language) => starters.push(Starter {
                name,
                language: Some(language),
                dir: path,
            }),
            None => problems.push(Diagnostic::new(
                &path,
                None,
                format!(
                    "declare the language its download is labelled with in lab.toml, e.g. `[starters]` `{name} = \"Rust\"`"
                ),
            )),
        }
    }
    for s in &starters {
        if !s.dir.join("Dockerfile").is_file() {
            problems.push(Diagnostic::new(
                &s.dir,
                None,
                "a starter project must build as it is: it needs a Dockerfile at its root"
                    .to_string(),
            ));
        }
    }
    starters
}

/// The folder of starter `name`.
fn folder_of(dir: &Path, name: &str) -> PathBuf {
    if name == DEFAULT {
        dir.join(FOLDER)
    } else {
        dir.join(MORE).join(name)
    }
}

/// Whether `name` can be a named starter's folder and URL segment.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_LEN
        && name != DEFAULT
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}
