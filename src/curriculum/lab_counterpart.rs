//! A lab's `[[counterpart]]` tables: the containers the grader runs beside the learner's service on the run's
//! network (a Kafka-protocol broker for the event labs, later any container a lab names), each problem reported
//! at its line as `validate` prints it.
//!
//! Everything here is what the author wrote; which image a `kafka` counterpart runs is the operator's setting
//! (`GAUNTLET_KAFKA_IMAGE`), read by the sandbox when the run starts.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use toml::Spanned;

pub use crate::checks::CounterpartKind;

/// The port a `kafka` counterpart listens on and advertises (`<name>:9092`).
pub const KAFKA_PORT: u16 = 9092;
/// The variable a `kafka` counterpart always adds to the service's environment.
pub const KAFKA_BOOTSTRAP: &str = "KAFKA_BOOTSTRAP_SERVERS";
/// Most partitions a topic may ask for: enough for any consumer-group exercise, small enough for a broker in
/// 256 MiB.
const MAX_PARTITIONS: i64 = 64;
/// The variable every `container` counterpart gets: a per-run token, derived under the server's key, that the
/// checks present on the counterpart's control requests (faults on cue, its ledger) and the service never sees,
/// so a submission on the same network cannot steer or read the counterpart.
pub const CONTROL_TOKEN: &str = "GAUNTLET_CONTROL_TOKEN";

/// One counterpart as the grader starts it.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterpartSpec {
    /// Its name in `lab.toml`, also its host name on the run network (a network alias).
    pub name: String,
    pub kind: CounterpartKind,
    /// The image of a `container` counterpart; `None` for `kafka`, whose image is the operator's setting.
    pub image: Option<String>,
    /// Arguments given to the image's entrypoint (`container` only; a broker's are Gauntlet's).
    pub command: Vec<String>,
    /// The port it listens on inside the run network (9092 for `kafka`).
    pub port: u16,
    /// The counterpart's own environment (`container` only).
    pub env: BTreeMap<String, String>,
    /// Topics the grader creates before the service starts (`kafka` only; tansu creates none by itself).
    pub topics: Vec<TopicSpec>,
    pub memory_mb: u64,
    pub cpus: f64,
    pub pids: i64,
    /// Extra environment of the service (and of the checks' `{{env.NAME}}`).
    pub service_env: BTreeMap<String, String>,
    /// Names of the lab's `[service] secrets` this counterpart gets too, with the run's values (`container`
    /// only): a model upstream must know the per-run API key the service is given.
    pub secrets: Vec<String>,
}

/// A topic a `kafka` counterpart must have before the service starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCounterpart {
    name: Spanned<String>,
    kind: Spanned<String>,
    image: Option<Spanned<String>>,
    command: Option<Spanned<Vec<String>>>,
    port: Option<Spanned<i64>>,
    env: Option<Spanned<BTreeMap<String, String>>>,
    topics: Option<Spanned<Vec<RawTopic>>>,
    memory_mb: Option<Spanned<i64>>,
    cpus: Option<Spanned<f64>>,
    pids: Option<Spanned<i64>>,
    #[serde(default)]
    service_env: BTreeMap<Spanned<String>, String>,
    secrets: Option<Spanned<Vec<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTopic {
    name: Spanned<String>,
    partitions: Option<Spanned<i64>>,
}

/// What Gauntlet itself sets in the service's environment, which a counterpart's `service_env` may not replace.
pub(super) struct Reserved<'a> {
    pub secrets: &'a [String],
}

impl Reserved<'_> {
    pub(super) fn why(&self, name: &str) -> Option<&'static str> {
        match name {
            "PORT" | "GAUNTLET_SEED" | "DATA_DIR" => Some("Gauntlet sets it for every service"),
            KAFKA_BOOTSTRAP => Some("a `kafka` counterpart sets it"),
            _ if self.secrets.iter().any(|s| s == name) => {
                Some("it is one of the lab's [service] secrets")
            }
            _ => None,
        }
    }
}

/// Resolves the tables in order; every problem goes to `problem` at its byte offset, and a counterpart with a
/// problem is left out.
pub(super) fn resolve(
    raw: Vec<RawCounterpart>,
    reserved: &Reserved<'_>,
    mut problem: impl FnMut(usize, String),
) -> Vec<CounterpartSpec> {
    let mut names = BTreeSet::new();
    let mut service_env: BTreeMap<String, String> = BTreeMap::new();
    let mut specs = Vec::new();
    let mut kafka_seen = false;
    for c in raw {
        let mut bad = false;
        let mut report = |at: usize, msg: String| {
            bad = true;
            problem(at, msg);
        };
        let name = c.name.get_ref().clone();
        if !valid_name(&name) {
            report(
                c.name.span().start,
                format!("[[counterpart]] name must be 1 to 20 of a-z, 0-9 and `-`, starting with a letter (it is a host name on the run network), not `{name}`"),
            );
        } else if !names.insert(name.clone()) {
            report(
                c.name.span().start,
                format!("[[counterpart]] `{name}` is declared twice"),
            );
        }
        let kind = match c.kind.get_ref().as_str() {
            // Both would set KAFKA_BOOTSTRAP_SERVERS; no lab needs two brokers.
            "kafka" if kafka_seen => {
                report(
                    c.kind.span().start,
                    "[[counterpart]] a lab has at most one `kafka` counterpart".to_string(),
                );
                continue;
            }
            "kafka" => {
                kafka_seen = true;
                CounterpartKind::Kafka
            }
            "container" => CounterpartKind::Container,
            other => {
                report(
                    c.kind.span().start,
                    format!("[[counterpart]] kind must be `kafka` or `container`, not `{other}`"),
                );
                continue;
            }
        };
        let port = match (kind, &c.port) {
            (CounterpartKind::Kafka, Some(p)) => {
                report(p.span().start, format!("[[counterpart]] `{name}`: a `kafka` counterpart listens on {KAFKA_PORT}; leave out `port`"));
                KAFKA_PORT
            }
            (CounterpartKind::Kafka, None) => KAFKA_PORT,
            (CounterpartKind::Container, Some(p)) => match u16::try_from(*p.get_ref()) {
                Ok(port) if port > 0 => port,
                _ => {
                    report(
                        p.span().start,
                        format!(
                            "[[counterpart]] `{name}`: port must be between 1 and 65535, not {}",
                            p.get_ref()
                        ),
                    );
                    0
                }
            },
            (CounterpartKind::Container, None) => {
                report(
                    c.name.span().start,
                    format!("[[counterpart]] `{name}`: a `container` counterpart needs `port` (where it listens)"),
                );
                0
            }
        };
        let image = match (kind, &c.image) {
            (CounterpartKind::Kafka, Some(i)) => {
                report(i.span().start, format!("[[counterpart]] `{name}`: a `kafka` counterpart's image is the operator's setting (GAUNTLET_KAFKA_IMAGE); leave out `image`"));
                None
            }
            (CounterpartKind::Container, Some(i)) if i.get_ref().trim().is_empty() => {
                report(
                    i.span().start,
                    format!("[[counterpart]] `{name}`: image is empty"),
                );
                None
            }
            (CounterpartKind::Container, Some(i)) => Some(i.get_ref().trim().to_string()),
            (CounterpartKind::Container, None) => {
                report(
                    c.name.span().start,
                    format!("[[counterpart]] `{name}`: a `container` counterpart needs `image` and `command`"),
                );
                None
            }
            (CounterpartKind::Kafka, None) => None,
        };
        let command = match (kind, c.command) {
            (CounterpartKind::Kafka, Some(cmd)) => {
                report(cmd.span().start, format!("[[counterpart]] `{name}`: a `kafka` counterpart is started by Gauntlet; leave out `command`"));
                Vec::new()
            }
            (CounterpartKind::Container, None) if c.image.is_some() => {
                report(
                    c.name.span().start,
                    format!("[[counterpart]] `{name}`: a `container` counterpart needs `command` (`[]` for the image's own)"),
                );
                Vec::new()
            }
            (_, cmd) => cmd.map(Spanned::into_inner).unwrap_or_default(),
        };
        let env = match (kind, c.env) {
            (CounterpartKind::Kafka, Some(e)) => {
                report(e.span().start, format!("[[counterpart]] `{name}`: a `kafka` counterpart is configured by Gauntlet; leave out `env`"));
                BTreeMap::new()
            }
            (_, e) => e.map(Spanned::into_inner).unwrap_or_default(),
        };
        let topics = match (kind, c.topics) {
            (CounterpartKind::Container, Some(t)) => {
                report(
                    t.span().start,
                    format!("[[counterpart]] `{name}`: only a `kafka` counterpart has `topics`"),
                );
                Vec::new()
            }
            (_, t) => topics(
                &name,
                t.map(Spanned::into_inner).unwrap_or_default(),
                &mut report,
            ),
        };
        let memory_mb = u64::try_from(positive(&c.memory_mb, 256, &name, "memory_mb", &mut report))
            .unwrap_or(256);
        let pids = positive(&c.pids, 256, &name, "pids", &mut report);
        let cpus = match &c.cpus {
            Some(v) if !(v.get_ref().is_finite() && *v.get_ref() >= 0.001) => {
                report(v.span().start, format!("[[counterpart]] `{name}`: cpus must be at least 0.001 (0 would mean no limit), not {}", v.get_ref()));
                1.0
            }
            Some(v) => *v.get_ref(),
            None => 1.0,
        };
        let secrets = match (kind, c.secrets) {
            (CounterpartKind::Kafka, Some(s)) => {
                report(s.span().start, format!("[[counterpart]] `{name}`: a `kafka` counterpart is configured by Gauntlet; leave out `secrets`"));
                Vec::new()
            }
            (_, Some(s)) => {
                let at = s.span().start;
                let names = s.into_inner();
                for unknown in names.iter().filter(|n| !reserved.secrets.contains(n)) {
                    report(at, format!("[[counterpart]] `{name}`: secret `{unknown}` is not one of the lab's [service] secrets"));
                }
                names
            }
            (_, None) => Vec::new(),
        };
        if env.contains_key(CONTROL_TOKEN) || secrets.iter().any(|s| s == CONTROL_TOKEN) {
            report(
                c.name.span().start,
                format!("[[counterpart]] `{name}`: {CONTROL_TOKEN} is Gauntlet's to set"),
            );
        }
        let mut own_env = BTreeMap::new();
        for (key, value) in c.service_env {
            let at = key.span().start;
            let key = key.into_inner();
            if !valid_env_name(&key) {
                report(at, format!("[[counterpart]] `{name}`: `{key}` is not an environment variable name (A-Z, 0-9, `_`, not starting with a digit)"));
            } else if let Some(why) = reserved.why(&key) {
                report(
                    at,
                    format!("[[counterpart]] `{name}`: service_env may not set `{key}`: {why}"),
                );
            } else if service_env.contains_key(&key) {
                report(
                    at,
                    format!("[[counterpart]] `{name}`: `{key}` is set by another counterpart's service_env too"),
                );
            } else {
                service_env.insert(key.clone(), value.clone());
                own_env.insert(key, value);
            }
        }
        if bad {
            continue;
        }
        specs.push(CounterpartSpec {
            name,
            kind,
            image,
            command,
            port,
            env,
            topics,
            memory_mb,
            cpus,
            pids,
            service_env: own_env,
            secrets,
        });
    }
    specs
}

fn topics(
    counterpart: &str,
    raw: Vec<RawTopic>,
    report: &mut impl FnMut(usize, String),
) -> Vec<TopicSpec> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for t in raw {
        let name = t.name.get_ref().clone();
        if !valid_topic(&name) {
            report(t.name.span().start, format!("[[counterpart]] `{counterpart}`: topic name must be 1 to 249 of a-z, A-Z, 0-9, `.`, `_` and `-` (not `.` or `..`), not `{name}`"));
            continue;
        }
        if !seen.insert(name.clone()) {
            report(
                t.name.span().start,
                format!("[[counterpart]] `{counterpart}`: topic `{name}` is listed twice"),
            );
            continue;
        }
        let partitions = match &t.partitions {
            Some(p) if !(1..=MAX_PARTITIONS).contains(p.get_ref()) => {
                report(p.span().start, format!("[[counterpart]] `{counterpart}`: topic `{name}` partitions must be between 1 and {MAX_PARTITIONS}, not {}", p.get_ref()));
                continue;
            }
            Some(p) => i32::try_from(*p.get_ref()).unwrap_or(1),
            None => 1,
        };
        out.push(TopicSpec { name, partitions });
    }
    out
}

fn positive(
    value: &Option<Spanned<i64>>,
    default: i64,
    counterpart: &str,
    field: &str,
    report: &mut impl FnMut(usize, String),
) -> i64 {
    match value {
        Some(v) if *v.get_ref() <= 0 => {
            report(v.span().start, format!("[[counterpart]] `{counterpart}`: {field} must be greater than 0 (Docker would read 0 as no limit at all), not {}", v.get_ref()));
            default
        }
        Some(v) => *v.get_ref(),
        None => default,
    }
}

/// `[a-z][a-z0-9-]{0,19}`: a host name on the run network and part of a container's name.
fn valid_name(name: &str) -> bool {
    crate::sandbox::valid_counterpart_name(name)
}

fn valid_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Kafka's own rule for topic names.
fn valid_topic(name: &str) -> bool {
    (1..=249).contains(&name.len())
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

impl CounterpartSpec {
    /// What the service's environment gains from this counterpart: `KAFKA_BOOTSTRAP_SERVERS` for a broker, then
    /// the lab's `service_env`.
    pub fn service_env(&self) -> impl Iterator<Item = (String, String)> + '_ {
        let bootstrap = (self.kind == CounterpartKind::Kafka).then(|| {
            (
                KAFKA_BOOTSTRAP.to_string(),
                format!("{}:{}", self.name, self.port),
            )
        });
        bootstrap
            .into_iter()
            .chain(self.service_env.iter().map(|(k, v)| (k.clone(), v.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Doc {
        #[serde(default)]
        counterpart: Vec<RawCounterpart>,
    }

    /// The specs and the problems (line, message) of `text`.
    fn parse(text: &str) -> (Vec<CounterpartSpec>, Vec<(usize, String)>) {
        let doc: Doc = toml::from_str(text).expect("toml");
        let secrets = ["JWT_SECRET".to_string()];
        let mut found = Vec::new();
        let specs = resolve(doc.counterpart, &Reserved { secrets: &secrets }, |at, m| {
            found.push((crate::diagnostics::line_of(text, at), m))
        });
        (specs, found)
    }

    fn one_problem(text: &str, line: usize, says: &str) {
        let (specs, found) = parse(text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, line, "{found:?}");
        assert!(found[0].1.contains(says), "{found:?}");
        assert!(specs.len() < text.matches("[[counterpart]]").count());
    }

    #[test]
    fn a_kafka_counterpart_gets_its_port_topics_defaults_and_bootstrap() {
        let (specs, found) = parse(
            "[[counterpart]]\nname = \"kafka\"\nkind = \"kafka\"\n\
             topics = [ { name = \"accounts\", partitions = 3 }, { name = \"accounts.dlq\" } ]\n\
             [counterpart.service_env]\nKAFKA_TOPIC = \"accounts\"\n",
        );
        assert!(found.is_empty(), "{found:?}");
        let k = &specs[0];
        assert_eq!(
            (k.kind, k.port, k.memory_mb, k.pids),
            (CounterpartKind::Kafka, 9092, 256, 256)
        );
        assert_eq!(k.cpus, 1.0);
        assert_eq!(
            k.topics,
            vec![
                TopicSpec {
                    name: "accounts".into(),
                    partitions: 3
                },
                TopicSpec {
                    name: "accounts.dlq".into(),
                    partitions: 1
                }
            ]
        );
        let env: Vec<_> = k.service_env().collect();
        assert_eq!(
            env,
            vec![
                ("KAFKA_BOOTSTRAP_SERVERS".into(), "kafka:9092".into()),
                ("KAFKA_TOPIC".into(), "accounts".into())
            ]
        );
    }

    #[test]
    fn a_container_counterpart_needs_image_command_and_port() {
        let (specs, found) = parse(
            "[[counterpart]]\nname = \"peer\"\nkind = \"container\"\nimage = \"x:1\"\ncommand = []\nport = 9000\n\
             env = { PORT = \"9000\" }\nmemory_mb = 64\n",
        );
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(specs[0].port, 9000);
        assert_eq!(specs[0].image.as_deref(), Some("x:1"));
        assert_eq!(specs[0].env["PORT"], "9000");
        assert_eq!(specs[0].service_env().count(), 0);
        one_problem(
            "[[counterpart]]\nname = \"peer\"\nkind = \"container\"\ncommand = []\nport = 9000\n",
            2,
            "needs `image`",
        );
        one_problem(
            "[[counterpart]]\nname = \"peer\"\nkind = \"container\"\nimage = \"x\"\nport = 9000\n",
            2,
            "needs `command`",
        );
        one_problem(
            "[[counterpart]]\nname = \"peer\"\nkind = \"container\"\nimage = \"x\"\ncommand = []\n",
            2,
            "needs `port`",
        );
        one_problem(
            "[[counterpart]]\nname = \"peer\"\nkind = \"container\"\nimage = \"x\"\ncommand = []\nport = 70000\n",
            6,
            "between 1 and 65535",
        );
    }

    #[test]
    fn names_must_be_host_names_and_unique() {
        one_problem(
            "[[counterpart]]\nname = \"Kafka\"\nkind = \"kafka\"\n",
            2,
            "a-z",
        );
        one_problem(
            "[[counterpart]]\nname = \"a-very-long-name-indeed\"\nkind = \"kafka\"\n",
            2,
            "1 to 20",
        );
        one_problem(
            "[[counterpart]]\nname = \"k\"\nkind = \"kafka\"\n[[counterpart]]\nname = \"k\"\nkind = \"container\"\n\
             image = \"x\"\ncommand = []\nport = 1\n",
            5,
            "declared twice",
        );
        one_problem(
            "[[counterpart]]\nname = \"k\"\nkind = \"redis\"\n",
            3,
            "`kafka` or `container`",
        );
        one_problem(
            "[[counterpart]]\nname = \"k\"\nkind = \"kafka\"\n[[counterpart]]\nname = \"l\"\nkind = \"kafka\"\n",
            6,
            "at most one `kafka`",
        );
    }

    #[test]
    fn a_kafka_counterpart_takes_no_image_command_port_or_env_and_a_container_no_topics() {
        one_problem(
            "[[counterpart]]\nname = \"k\"\nkind = \"kafka\"\nimage = \"apache/kafka\"\n",
            4,
            "operator's setting",
        );
        one_problem(
            "[[counterpart]]\nname = \"k\"\nkind = \"kafka\"\ncommand = [\"x\"]\n",
            4,
            "leave out `command`",
        );
        one_problem(
            "[[counterpart]]\nname = \"k\"\nkind = \"kafka\"\nport = 9093\n",
            4,
            "leave out `port`",
        );
        one_problem(
            "[[counterpart]]\nname = \"k\"\nkind = \"kafka\"\nenv = { A = \"b\" }\n",
            4,
            "leave out `env`",
        );
        one_problem(
            "[[counterpart]]\nname = \"p\"\nkind = \"container\"\nimage = \"x\"\ncommand = []\nport = 1\n\
             topics = [ { name = \"t\" } ]\n",
            7,
            "only a `kafka` counterpart has `topics`",
        );
    }

    #[test]
    fn a_container_may_share_the_labs_secrets_but_not_set_its_control_token() {
        let (specs, found) = parse(
            "[[counterpart]]\nname = \"m\"\nkind = \"container\"\nimage = \"x\"\ncommand = []\nport = 1\n\
             secrets = [\"JWT_SECRET\"]\n",
        );
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(specs[0].secrets, vec!["JWT_SECRET".to_string()]);
        one_problem(
            "[[counterpart]]\nname = \"m\"\nkind = \"container\"\nimage = \"x\"\ncommand = []\nport = 1\n\
             secrets = [\"API_KEY\"]\n",
            7,
            "secret `API_KEY` is not one of the lab's [service] secrets",
        );
        one_problem(
            "[[counterpart]]\nname = \"k\"\nkind = \"kafka\"\nsecrets = [\"JWT_SECRET\"]\n",
            4,
            "leave out `secrets`",
        );
        one_problem(
            "[[counterpart]]\nname = \"m\"\nkind = \"container\"\nimage = \"x\"\ncommand = []\nport = 1\n\
             env = { GAUNTLET_CONTROL_TOKEN = \"mine\" }\n",
            2,
            "GAUNTLET_CONTROL_TOKEN is Gauntlet's to set",
        );
    }

    #[test]
    fn topics_need_kafka_names_and_sane_partitions() {
        one_problem(
            "[[counterpart]]\nname = \"k\"\nkind = \"kafka\"\ntopics = [ { name = \"a b\" } ]\n",
            4,
            "topic name",
        );
        one_problem(
            "[[counterpart]]\nname = \"k\"\nkind = \"kafka\"\ntopics = [ { name = \"a\" }, { name = \"a\" } ]\n",
            4,
            "listed twice",
        );
        one_problem(
            "[[counterpart]]\nname = \"k\"\nkind = \"kafka\"\ntopics = [\n { name = \"a\", partitions = 0 } ]\n",
            5,
            "partitions must be between 1 and 64",
        );
    }

    #[test]
    fn limits_must_be_real_limits() {
        one_problem(
            "[[counterpart]]\nname = \"k\"\nkind = \"kafka\"\nmemory_mb = 0\n",
            4,
            "memory_mb must be greater than 0",
        );
        one_problem(
            "[[counterpart]]\nname = \"k\"\nkind = \"kafka\"\npids = -1\n",
            4,
            "pids must be greater than 0",
        );
        one_problem(
            "[[counterpart]]\nname = \"k\"\nkind = \"kafka\"\ncpus = 0.0\n",
            4,
            "cpus must be at least",
        );
    }

    #[test]
    fn service_env_may_not_replace_what_gauntlet_sets() {
        for (key, why) in [
            ("PORT", "every service"),
            ("GAUNTLET_SEED", "every service"),
            ("DATA_DIR", "every service"),
            ("KAFKA_BOOTSTRAP_SERVERS", "`kafka` counterpart sets it"),
            ("JWT_SECRET", "secrets"),
        ] {
            one_problem(
                &format!("[[counterpart]]\nname = \"k\"\nkind = \"kafka\"\n[counterpart.service_env]\n{key} = \"x\"\n"),
                5,
                why,
            );
        }
        one_problem(
            "[[counterpart]]\nname = \"k\"\nkind = \"kafka\"\n[counterpart.service_env]\nlower = \"x\"\n",
            5,
            "not an environment variable name",
        );
        one_problem(
            "[[counterpart]]\nname = \"a\"\nkind = \"kafka\"\n[counterpart.service_env]\nT = \"x\"\n\
             [[counterpart]]\nname = \"b\"\nkind = \"container\"\nimage = \"x\"\ncommand = []\nport = 1\n\
             [counterpart.service_env]\nT = \"y\"\n",
            13,
            "another counterpart",
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = toml::from_str::<Doc>(
            "[[counterpart]]\nname = \"k\"\nkind = \"kafka\"\nimgae = \"x\"\n",
        )
        .err()
        .expect("refused");
        assert!(err.message().contains("imgae"), "{err}");
    }
}
