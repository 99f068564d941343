//! Walking an image as `docker save` writes it, without holding it: the outer tar is read entry by entry and
//! each layer tar inside it is read as a nested stream, file by file, as it goes past.
//!
//! Which layer a tar is (its place in the image) is written in `manifest.json`, which the engine puts after the
//! layers (both the legacy layout, `<id>/layer.tar`, and the OCI one, `blobs/sha256/<digest>`), so findings are
//! kept per tar and given their layer number at the end. A layer identical to an earlier one is a link to it.
//!
//! Each regular file is read at most [`SCAN_CAP`] bytes into one reused buffer; only text (no NUL byte in the
//! first 8 KiB) is searched for key patterns, so a secret past the first MiB of a file, or inside a binary,
//! is not seen. Every file's name is judged, whatever its size.

use std::collections::HashMap;
use std::io::Read;

use super::report::Finding;
use super::secrets;
use super::tools::{self, ToolClass};
use super::Rule;

/// Bytes of a file read for key patterns.
pub const SCAN_CAP: usize = 1 << 20;
/// Bytes read to decide whether a file is text.
const TEXT_SNIFF: usize = 8 * 1024;
/// `manifest.json` is a few hundred bytes per image; more is not an engine's export.
const MANIFEST_CAP: u64 = 1 << 20;

/// What walking the export found.
#[derive(Debug, Clone, Default)]
pub struct LayerScan {
    pub findings: Vec<Finding>,
    pub layers: usize,
    /// Entries of every layer together (files, links, folders).
    pub entries: u64,
    /// Bytes of text searched for key patterns.
    pub text_bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("reading the export: {0}")]
    Io(#[from] std::io::Error),
    #[error("the export has no readable manifest.json: {0}")]
    Manifest(String),
    #[error("the key patterns do not compile: {0}")]
    Patterns(String),
}

/// A finding before its layer is known, with the class it was found as.
struct Raw {
    finding: Finding,
    class: Option<ToolClass>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestEntry {
    layers: Vec<String>,
}

/// Walks a `docker save` tar, judging each file of each layer for `rules` (build tools, secrets); package
/// managers count only in layers from `base_layers` on (the learner's).
pub fn scan_export(
    reader: impl Read,
    rules: &[Rule],
    base_layers: usize,
) -> Result<LayerScan, ScanError> {
    secrets::ready().map_err(ScanError::Patterns)?;
    let mut outer = tar::Archive::new(reader);
    let mut per_tar: HashMap<String, Vec<Raw>> = HashMap::new();
    let mut links: HashMap<String, String> = HashMap::new();
    let mut manifest = None;
    let mut scan = LayerScan::default();
    let mut buf = Vec::with_capacity(SCAN_CAP);
    for entry in outer.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        if path == "manifest.json" {
            let mut text = Vec::new();
            entry.by_ref().take(MANIFEST_CAP).read_to_end(&mut text)?;
            manifest = Some(text);
            continue;
        }
        let blob = path.starts_with("blobs/sha256/");
        if !(blob || path.ends_with("/layer.tar")) {
            continue;
        }
        match entry.header().entry_type() {
            tar::EntryType::Symlink | tar::EntryType::Link => {
                if let Ok(Some(target)) = entry.link_name() {
                    let target = resolve(&path, &target.to_string_lossy());
                    links.insert(path, target);
                }
            }
            tar::EntryType::Regular => match scan_layer(&mut entry, rules, &mut buf, &mut scan) {
                Ok(found) => {
                    per_tar.insert(path, found);
                }
                // An OCI export's blobs include its JSON config and manifests, which are not tars.
                Err(_) if blob => {}
                Err(e) => return Err(e.into()),
            },
            _ => {}
        }
    }
    let manifest = manifest.ok_or_else(|| ScanError::Manifest("missing".into()))?;
    let entries: Vec<ManifestEntry> =
        serde_json::from_slice(&manifest).map_err(|e| ScanError::Manifest(e.to_string()))?;
    let layers = entries
        .into_iter()
        .next()
        .ok_or_else(|| ScanError::Manifest("no image in it".into()))?
        .layers;
    scan.layers = layers.len();
    for (index, name) in layers.iter().enumerate() {
        let name = links.get(name).unwrap_or(name);
        let Some(found) = per_tar.get(name) else {
            continue;
        };
        for raw in found {
            if raw.class == Some(ToolClass::PackageManager) && index < base_layers {
                continue;
            }
            let mut f = raw.finding.clone();
            f.layer = Some(index);
            scan.findings.push(f);
        }
    }
    Ok(scan)
}

/// `../<id>/layer.tar` seen from `<other>/layer.tar`, as a path from the export's root.
fn resolve(from: &str, target: &str) -> String {
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for part in target.split('/') {
        match part {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// Judges every file of one layer tar, read as a stream.
fn scan_layer(
    layer: impl Read,
    rules: &[Rule],
    buf: &mut Vec<u8>,
    scan: &mut LayerScan,
) -> std::io::Result<Vec<Raw>> {
    let tools = rules.contains(&Rule::NoBuildTools);
    let secrets = rules.contains(&Rule::NoSecrets);
    let mut found = Vec::new();
    let mut inner = tar::Archive::new(layer);
    for entry in inner.entries()? {
        let mut entry = entry?;
        scan.entries += 1;
        let raw_path = entry.path()?.to_string_lossy().into_owned();
        let path = raw_path.trim_start_matches("./").trim_start_matches('/');
        let name = path.rsplit('/').next().unwrap_or(path);
        // Whiteouts mark deletions; the deleted file is still in the layer below, where it was seen.
        if name.starts_with(".wh.") || path.is_empty() {
            continue;
        }
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        let regular = kind.is_file() || kind.is_hard_link();
        let shown = format!("/{path}");
        if tools {
            if let Some(tool) = tools::classify(path, regular) {
                let what = match tool.class {
                    ToolClass::Compiler => format!(
                        "{}: build tools do not belong in a runtime image",
                        tool.what
                    ),
                    ToolClass::PackageManager => format!("{}: added in your layers", tool.what),
                    ToolClass::Cache => format!(
                        "{}: clean it in the same `RUN` or use a cache mount",
                        tool.what
                    ),
                };
                found.push(Raw {
                    finding: Finding::new(Rule::NoBuildTools, shown.clone(), what),
                    class: Some(tool.class),
                });
            }
        }
        if !secrets {
            continue;
        }
        let head = if kind.is_file() && entry.size() > 0 {
            buf.clear();
            entry.by_ref().take(SCAN_CAP as u64).read_to_end(buf)?;
            let sniff = &buf[..buf.len().min(TEXT_SNIFF)];
            (!sniff.contains(&0)).then_some(buf.as_slice())
        } else {
            None
        };
        let mut push = |what: String| {
            found.push(Raw {
                finding: Finding::new(Rule::NoSecrets, shown.clone(), what),
                class: None,
            })
        };
        if let Some(what) = secrets::secret_file(path, head) {
            push(what);
        }
        if let Some(text) = head {
            scan.text_bytes += text.len() as u64;
            for (what, line) in secrets::patterns_in(text) {
                push(format!("{what} at line {line}"));
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_between_layer_tars_resolve_from_the_linking_folder() {
        assert_eq!(resolve("b/layer.tar", "../a/layer.tar"), "a/layer.tar");
    }

    /// A tar of `files` (path, bytes).
    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, bytes) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, path, *bytes).expect("append");
        }
        b.into_inner().expect("tar")
    }

    #[test]
    fn layers_are_numbered_by_the_manifest_that_comes_last_and_a_linked_layer_counts_for_each_place(
    ) {
        let base = tar_of(&[("usr/bin/apt-get", b"x"), ("usr/bin/gcc", b"x")]);
        let mine = tar_of(&[("usr/local/bin/pip3", b"x"), ("app/.wh.key.pem", b"")]);
        let mut outer = tar::Builder::new(Vec::new());
        for (path, bytes) in [("bbb/layer.tar", &mine), ("aaa/layer.tar", &base)] {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            outer
                .append_data(&mut h, path, bytes.as_slice())
                .expect("layer");
        }
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        outer
            .append_link(&mut link, "ccc/layer.tar", "../bbb/layer.tar")
            .expect("link");
        let manifest =
            br#"[{"Config":"x.json","Layers":["aaa/layer.tar","bbb/layer.tar","ccc/layer.tar"]}]"#;
        let mut h = tar::Header::new_gnu();
        h.set_size(manifest.len() as u64);
        outer
            .append_data(&mut h, "manifest.json", &manifest[..])
            .expect("manifest");
        let bytes = outer.into_inner().expect("outer");

        let scan = scan_export(bytes.as_slice(), &[Rule::NoBuildTools], 1).expect("scan");
        let found: Vec<(String, Option<usize>)> = scan
            .findings
            .iter()
            .map(|f| (f.subject.clone(), f.layer))
            .collect();
        // The base's apt-get is its own; its compiler is not; the learner's pip counts in both places.
        assert_eq!(
            found,
            [
                ("/usr/bin/gcc".to_string(), Some(0)),
                ("/usr/local/bin/pip3".to_string(), Some(1)),
                ("/usr/local/bin/pip3".to_string(), Some(2)),
            ]
        );
        assert_eq!(scan.layers, 3);
        assert!(scan_export(&tar_of(&[("a/layer.tar", &base)])[..], &[], 0).is_err());
    }
}
