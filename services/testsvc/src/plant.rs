//! `testsvc plant` and `testsvc unplant`: build steps that write (or delete) the files a mutant of the image
//! checks needs, in a `FROM scratch` stage where there is no shell: `RUN ["/testsvc", "plant"]` with the
//! build argument `TESTSVC_PLANT`, `RUN ["/testsvc", "unplant"]` with `TESTSVC_UNPLANT`. Both are empty in
//! the reference, which then writes nothing.
//!
//! `TESTSVC_PLANT` is `path=kind;path=kind…`, kinds: `dotenv` (an env file with a token), `pem` (a private key
//! block), `aws` (an AWS credentials file), `file` (a few bytes: a tool or a cache file, judged by its path),
//! `bytes:N` (N bytes that do not compress), `texts:N:SIZE` (a folder at the path with N text files of SIZE
//! bytes, for the image benchmark). `TESTSVC_UNPLANT` is `path;path…`. The secrets are assembled at
//! run time, so this binary holds none of them as text.

use std::io::Write;

/// Runs `plant` or `unplant`; the process's exit status.
pub fn run(what: &str) -> i32 {
    let result = match what {
        "plant" => plant(&std::env::var("TESTSVC_PLANT").unwrap_or_default()),
        _ => unplant(&std::env::var("TESTSVC_UNPLANT").unwrap_or_default()),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("testsvc {what}: {e}");
            1
        }
    }
}

fn plant(spec: &str) -> std::io::Result<()> {
    for item in spec.split(';').filter(|s| !s.trim().is_empty()) {
        let (path, kind) = item
            .split_once('=')
            .ok_or_else(|| std::io::Error::other(format!("`{item}` is not path=kind")))?;
        if let Some(texts) = kind.strip_prefix("texts:") {
            plant_texts(path, texts)?;
            continue;
        }
        if let Some(dir) = std::path::Path::new(path).parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = std::fs::File::create(path)?;
        match kind {
            // Secret-looking names and key prefixes are assembled at run time, so this binary (which the w05
            // reference image holds) carries none of them whole.
            "dotenv" => {
                let name = "TOKEN";
                writeln!(file, "API_{name}=tk-{}", filler(24))?
            }
            "pem" => {
                let edge = format!("{} KEY-----", "PRIVATE");
                writeln!(file, "-----BEGIN {edge}\n{}\n-----END {edge}", filler(64))?
            }
            "aws" => {
                let (prefix, rest) = ("AK", "IAPLANTEDEXAMPLE12");
                writeln!(
                    file,
                    "[default]\naws_access_key_id = {prefix}{rest}\naws_secret_access_key = {}",
                    filler(40)
                )?
            }
            "file" => file.write_all(b"planted by testsvc\n")?,
            other => match other
                .strip_prefix("bytes:")
                .and_then(|n| n.parse::<u64>().ok())
            {
                Some(n) => write_noise(&mut file, n)?,
                None => return Err(std::io::Error::other(format!("unknown kind `{other}`"))),
            },
        }
    }
    Ok(())
}

/// `N:SIZE`: N files of SIZE bytes of lines of words in the folder `dir`.
fn plant_texts(dir: &str, spec: &str) -> std::io::Result<()> {
    let bad = || std::io::Error::other(format!("`texts:{spec}` is not texts:N:SIZE"));
    let (n, size) = spec.split_once(':').ok_or_else(bad)?;
    let n: usize = n.parse().map_err(|_| bad())?;
    let size: usize = size.parse().map_err(|_| bad())?;
    std::fs::create_dir_all(dir)?;
    let line =
        "the quick brown fox jumps over the lazy dog while the notes service keeps its notes\n";
    let text: String = line.chars().cycle().take(size).collect();
    for i in 0..n {
        std::fs::write(format!("{dir}/f{i}.txt"), &text)?;
    }
    Ok(())
}

fn unplant(spec: &str) -> std::io::Result<()> {
    for path in spec.split(';').filter(|s| !s.trim().is_empty()) {
        std::fs::remove_file(path)?;
    }
    Ok(())
}

/// Letters and digits from a fixed generator: a value that looks random and is the same in every build.
fn filler(len: usize) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            alphabet[(x % alphabet.len() as u64) as usize] as char
        })
        .collect()
}

fn write_noise(file: &mut std::fs::File, mut n: u64) -> std::io::Result<()> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut block = vec![0u8; 64 * 1024];
    while n > 0 {
        for chunk in block.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let bytes = x.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        let take = n.min(block.len() as u64) as usize;
        file.write_all(&block[..take])?;
        n -= take as u64;
    }
    Ok(())
}
