//! The w07 consumer tests' scenario helpers: a broker with the lab's topics, the reference with one defect,
//! and the records of the lab's checks, produced with this crate's own Kafka client.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use crate::json::{self, Json};
use crate::kafka::{At, Client, Outgoing, Producer};
use crate::support::{Service, Tansu, TempDir};

pub const WAIT: Duration = Duration::from_secs(20);

/// A broker with the lab's topics, a data folder and the reference with `defect` on.
pub struct Lab {
    pub broker: Tansu,
    pub svc: Service,
    producer: Producer,
    pub data: TempDir,
}

impl Lab {
    pub fn start(defect: &str) -> Lab {
        let broker = Tansu::start(&[("accounts", 3), ("accounts.dlq", 1)]);
        let data = TempDir::new("w07-data");
        let svc = Service::start(&broker, &data.0, defect);
        let producer = Producer::new(&broker.bootstrap());
        Lab {
            broker,
            svc,
            producer,
            data,
        }
    }

    /// Produces (key, value) records in one request, in order.
    pub fn produce(&mut self, records: &[(String, String)]) {
        let out: Vec<Outgoing> = records
            .iter()
            .map(|(k, v)| Outgoing {
                key: Some(k.as_bytes()),
                value: v.as_bytes(),
                headers: &[],
            })
            .collect();
        self.producer.send_many("accounts", &out).expect("produce");
    }

    /// (status, balance, name, applied) of an account.
    pub fn account(&self, name: &str) -> (u16, i64, Option<String>, i64) {
        let (status, body) = self.svc.get(&format!("/accounts/{name}"));
        let doc = json::parse(&body).unwrap_or(Json::Null);
        let num = |k: &str| match doc.get(k) {
            Some(Json::Num(n)) => *n as i64,
            _ => -999_999,
        };
        let name = match doc.get("name") {
            Some(Json::Str(s)) => Some(s.clone()),
            _ => None,
        };
        (status, num("balance"), name, num("applied"))
    }

    /// Waits until the account shows (balance, applied); the last reading either way.
    pub fn settle(
        &self,
        name: &str,
        balance: i64,
        applied: i64,
        within: Duration,
    ) -> (bool, (u16, i64, Option<String>, i64)) {
        let deadline = Instant::now() + within;
        loop {
            let a = self.account(name);
            if a.0 == 200 && a.1 == balance && a.3 == applied {
                return (true, a);
            }
            if Instant::now() > deadline {
                return (false, a);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn client(&self) -> Client {
        Client::new(&self.broker.bootstrap())
    }

    /// Every record of the DLQ topic: (key, value, error header).
    pub fn dead_letters(&self) -> Vec<(String, String, String)> {
        let mut c = self.client();
        let end = c
            .list_offset("accounts.dlq", 0, At::Latest)
            .expect("dlq end");
        let mut out = Vec::new();
        let mut at = 0;
        while at < end {
            let f = c
                .fetch("accounts.dlq", 0, at, 1 << 20, Duration::from_millis(100))
                .expect("fetch dlq");
            for m in &f.records {
                let text =
                    |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).to_string();
                out.push((
                    text(m.key.as_deref()),
                    text(m.value.as_deref()),
                    text(m.header("error")),
                ));
                at = m.offset + 1;
            }
        }
        out
    }

    /// Waits until the group's committed offsets reach the end of every partition; the lag left.
    pub fn lag_after(&self, within: Duration) -> i64 {
        let mut c = self.client();
        let deadline = Instant::now() + within;
        loop {
            let mut lag = 0;
            for p in 0..3 {
                let end = c.list_offset("accounts", p, At::Latest).expect("end");
                let done = c
                    .committed("accounts-service", "accounts", p)
                    .expect("committed")
                    .unwrap_or(0);
                lag += end - done;
            }
            if lag == 0 || Instant::now() > deadline {
                return lag;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

pub fn credit(id: &str, account: &str, amount: i64) -> (String, String) {
    (
        account.to_string(),
        format!(r#"{{"id":"{id}","type":"credit","account":"{account}","amount":{amount}}}"#),
    )
}

pub fn debit(id: &str, account: &str, amount: i64) -> (String, String) {
    (
        account.to_string(),
        format!(r#"{{"id":"{id}","type":"debit","account":"{account}","amount":{amount}}}"#),
    )
}

pub fn rename(id: &str, account: &str, name: &str, seq: i64) -> (String, String) {
    (
        account.to_string(),
        format!(
            r#"{{"id":"{id}","type":"rename","account":"{account}","name":"{name}","seq":{seq}}}"#
        ),
    )
}

/// The poison check's records: two valid credits (15 in all) around seven invalid JSON events and a non-JSON one.
pub fn poison(account: &str) -> Vec<(String, String)> {
    let k = account.to_string();
    let mut v = vec![credit("pv1", account, 10)];
    for bad in [
        format!(r#"{{"id":"bad1","type":"refund","account":"{k}","amount":100}}"#),
        format!(r#"{{"id":"bad2","type":"credit","account":"{k}","amount":0}}"#),
        format!(r#"{{"id":"bad3","type":"debit","account":"{k}","amount":-5}}"#),
        format!(r#"{{"id":"bad4","type":"credit","account":"{k}","amount":"7"}}"#),
        r#"{"id":"bad5","type":"credit","amount":3}"#.to_string(),
        format!(r#"{{"id":"bad6","type":"rename","account":"{k}","seq":9}}"#),
        "not json".to_string(),
    ] {
        v.push((k.clone(), bad));
    }
    v.push((
        "ghost".into(),
        r#"{"id":"bad7","type":"credit","account":"ghost","amount":2.5}"#.into(),
    ));
    v.push(credit("pv2", account, 5));
    v
}

/// Sixty credits of 1 with a SIGKILL right after the last forty were produced; the balance once settled.
pub fn crash_mid_stream(lab: &mut Lab) -> (bool, (u16, i64, Option<String>, i64)) {
    let first: Vec<_> = (0..20)
        .map(|i| credit(&format!("a{i}"), "crash", 1))
        .collect();
    lab.produce(&first);
    assert!(lab.settle("crash", 20, 20, WAIT).0, "the first twenty");
    // Paced like the check's produce step (pace_ms = 10), so that the kill lands mid-stream.
    for i in 0..40 {
        lab.produce(&[credit(&format!("b{i}"), "crash", 1)]);
        std::thread::sleep(Duration::from_millis(10));
    }
    lab.svc.kill_and_restart();
    lab.settle("crash", 60, 60, Duration::from_secs(8))
}

/// 500 credits on one account: events per second from the first produced to the account showing them all.
pub fn throughput(lab: &mut Lab) -> f64 {
    let records: Vec<_> = (0..500)
        .map(|i| credit(&format!("t{i}"), "tp", 2))
        .collect();
    let start = Instant::now();
    for chunk in records.chunks(50) {
        lab.produce(chunk);
    }
    let (done, _) = lab.settle("tp", 1000, 500, Duration::from_secs(40));
    let rate = 500.0 / start.elapsed().as_secs_f64();
    if done {
        rate
    } else {
        0.0
    }
}
