//! Reading one file of the unpacked submission for a check (the `manifests` kind's `file` source).
//!
//! The project is the learner's: a path is taken only as plain relative parts, every part is looked at
//! without following links (a link could point anywhere on the grading host), and the file is read only when
//! it is a regular file no larger than the check's cap.

use std::io::Read as _;
use std::path::{Component, Path};

/// Reads `rel` under `root`: `Ok(None)` when it is not there, is not a regular file, passes through a link or
/// is larger than `max` bytes; `Err` only for an I/O fault of the host.
pub fn read(root: &Path, rel: &str, max: usize) -> Result<Option<Vec<u8>>, std::io::Error> {
    let rel = Path::new(rel);
    if rel.as_os_str().is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return Ok(None);
    }
    let mut at = root.to_path_buf();
    for part in rel.components() {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => return Ok(None),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    let meta = std::fs::symlink_metadata(&at)?;
    if !meta.is_file() || meta.len() > max as u64 {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    std::fs::File::open(&at)?
        .take(max as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() <= max).then_some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_plain_file_and_nothing_outside_or_through_a_link() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("project");
        std::fs::create_dir_all(root.join("deploy")).expect("mkdir");
        std::fs::write(root.join("deploy/k8s.yaml"), "kind: x\n").expect("write");
        std::fs::write(dir.path().join("outside"), "secret").expect("write");
        std::os::unix::fs::symlink(dir.path().join("outside"), root.join("deploy/link.yaml"))
            .expect("symlink");
        std::os::unix::fs::symlink(dir.path(), root.join("up")).expect("symlink");
        assert_eq!(
            read(&root, "deploy/k8s.yaml", 100).expect("io"),
            Some(b"kind: x\n".to_vec())
        );
        for refused in [
            "deploy/link.yaml",
            "up/outside",
            "../outside",
            "/etc/hostname",
            "deploy",
            "none.yaml",
        ] {
            assert_eq!(read(&root, refused, 100).expect("io"), None, "{refused}");
        }
        assert_eq!(read(&root, "deploy/k8s.yaml", 3).expect("io"), None);
    }
}
