//! A tansu broker (the Kafka-protocol broker the event labs run) started on the host for one test: its own
//! temporary folder and SQLite file, a free loopback port advertised as itself, the topics created before it
//! starts; killed and removed when dropped.
//!
//! The binary comes from `scripts/ci-broker`'s cache (`$GAUNTLET_CACHE/tansu-0.6.0/bin/tansu`), or
//! `GAUNTLET_TANSU` names another.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Tansu {
    child: Child,
    pub addr: SocketAddr,
    /// The broker's working folder (its SQLite file), removed with it.
    dir: tempfile::TempDir,
}

/// Where the tansu binary is.
pub fn binary() -> PathBuf {
    if let Ok(p) = std::env::var("GAUNTLET_TANSU") {
        return PathBuf::from(p);
    }
    let cache = std::env::var("GAUNTLET_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let base = std::env::var("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|_| {
                    PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cache")
                });
            base.join("gauntlet")
        });
    let bin = cache.join("tansu-0.6.0/bin/tansu");
    assert!(
        bin.exists(),
        "no tansu binary at {}: run scripts/ci-broker first (or set GAUNTLET_TANSU)",
        bin.display()
    );
    bin
}

impl Tansu {
    /// Starts a broker on `port` with `topics` (name, partitions) created first.
    pub fn start(port: u16, topics: &[(&str, u32)]) -> Tansu {
        let dir = tempfile::tempdir().expect("temp dir");
        let bin = binary();
        let storage = "sqlite://tansu.db";
        let url = format!("tcp://127.0.0.1:{port}");
        let advertised = url.clone();
        let child = Command::new(&bin)
            .current_dir(dir.path())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &advertised,
            ])
            .args(["--storage-engine", storage])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tansu");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
        let t = Tansu { child, addr, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "tansu did not listen on {addr}");
            std::thread::sleep(Duration::from_millis(25));
        }
        // Topics through the broker's admin API (tansu does not create them on use).
        for (name, partitions) in topics {
            let out = Command::new(&bin)
                .current_dir(t.dir.path())
                .args([
                    "topic",
                    "create",
                    name,
                    "--partitions",
                    &partitions.to_string(),
                ])
                .args(["--broker", &url])
                .output()
                .expect("run tansu topic create");
            assert!(
                out.status.success(),
                "tansu topic create {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        t
    }
}

impl Tansu {
    /// The broker's process id (to freeze it with SIGSTOP, as `docker pause` does to a container).
    #[allow(dead_code)] // used by checks_events, not by kafka_client
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
