//! What the testsvc broker tests share: a tansu broker on the host, a testsvc process, a tiny HTTP GET.
//!
//! The tansu binary comes from `scripts/ci-broker`'s cache (`$GAUNTLET_CACHE/tansu-0.6.0/bin/tansu`, default
//! `~/.cache/gauntlet`), or `GAUNTLET_TANSU` names another (as in the main crate's tests).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A loopback port nothing listens on, below the kernel's ephemeral range (see the main crate's
/// tests/common/ports.rs for why), distinct within this test process.
pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = std::process::id().wrapping_mul(7919) % 12_000;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (20_000 + (start + n) % 12_000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A fresh empty folder under the system's temp folder, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "testsvc-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tansu_binary() -> PathBuf {
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

/// A tansu broker with its own folder and SQLite file, topics created before it starts; killed on drop.
pub struct Tansu {
    child: Child,
    pub addr: SocketAddr,
    _dir: TempDir,
}

impl Tansu {
    pub fn start(topics: &[(&str, u32)]) -> Tansu {
        let dir = TempDir::new("tansu");
        let bin = tansu_binary();
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(&bin)
            .current_dir(&dir.0)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "sqlite://tansu.db"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tansu");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
        let t = Tansu {
            child,
            addr,
            _dir: dir,
        };
        wait_listening(addr, "tansu");
        // `tansu topic create` asks the running broker (it does not create topics on demand).
        for (name, partitions) in topics {
            let out = Command::new(&bin)
                .current_dir(&t._dir.0)
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

    pub fn bootstrap(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_listening(addr: SocketAddr, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {addr}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A testsvc process as the w07 reference (`GAUNTLET_LAB=w07-consumer`), with its data in `data`.
pub struct Service {
    child: Option<Child>,
    pub port: u16,
    env: Vec<(String, String)>,
    log: PathBuf,
}

impl Service {
    pub fn start(broker: &Tansu, data: &Path, defect: &str) -> Service {
        let env = vec![
            ("GAUNTLET_LAB".to_string(), "w07-consumer".to_string()),
            ("KAFKA_BOOTSTRAP_SERVERS".into(), broker.bootstrap()),
            ("KAFKA_TOPIC".into(), "accounts".into()),
            ("KAFKA_DLQ_TOPIC".into(), "accounts.dlq".into()),
            ("KAFKA_GROUP_ID".into(), "accounts-service".into()),
            ("DATA_DIR".into(), data.display().to_string()),
            ("TESTSVC_DEFECT".into(), defect.into()),
        ];
        let mut s = Service {
            child: None,
            port: 0,
            env,
            log: data.with_extension("log"),
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        self.port = free_port();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_testsvc"))
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("PORT", self.port.to_string())
            .env("BIND", "127.0.0.1")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start testsvc");
        self.child = Some(child);
        wait_listening(
            format!("127.0.0.1:{}", self.port).parse().expect("addr"),
            "testsvc",
        );
    }

    /// SIGKILL, then start again on the same data.
    pub fn kill_and_restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// What the service printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET path`: (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect testsvc");
        s.set_read_timeout(Some(Duration::from_secs(10))).ok();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        )
        .expect("write");
        let mut text = String::new();
        s.read_to_string(&mut text).expect("read");
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_string();
        (status, body)
    }

    /// Polls `GET path` until `want(status, body)` holds or `within` passes; the last answer.
    pub fn settle(
        &self,
        path: &str,
        within: Duration,
        want: impl Fn(u16, &str) -> bool,
    ) -> (bool, u16, String) {
        let deadline = Instant::now() + within;
        loop {
            let (st, body) = self.get(path);
            if want(st, &body) {
                return (true, st, body);
            }
            if Instant::now() > deadline {
                return (false, st, body);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(&self.log);
    }
}
