//! How a `kafka` counterpart's image is run: tansu (the default, `gauntlet-ci/tansu:0.6.0`, built here by
//! `scripts/ci-broker`) or Apache Kafka's own image in KRaft single-node mode, chosen by the image's name.
//!
//! Either way the broker listens on 9092 on every interface and advertises `<host>:9092`, where the host is its
//! fixed address on the run network (`network.rs` says why not its name): the service bootstraps from
//! `<name>:9092` and both it and the grader then reach the broker at that address. Its data lives in `/data`, a
//! tmpfs counted in its memory limit, gone with the container.

/// The broker image used when the operator names none.
pub const DEFAULT_KAFKA_IMAGE: &str = "gauntlet-ci/tansu:0.6.0";
/// The port every broker listens on and advertises.
pub const BROKER_PORT: u16 = 9092;

/// How to start the broker image: entrypoint arguments, environment, working folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerRun {
    pub command: Vec<String>,
    pub env: Vec<(String, String)>,
    pub working_dir: Option<String>,
}

/// The settings for `image` advertised as `<host>:9092`.
pub fn broker_run(image: &str, host: &str) -> BrokerRun {
    let advertised = format!("{host}:{BROKER_PORT}");
    if image.contains("tansu") {
        // tansu's image runs `/bin/tansu`; the SQLite engine (its in-memory one loses records, NOTES-stack.md).
        return BrokerRun {
            command: [
                "broker",
                "--listener-url",
                &format!("tcp://0.0.0.0:{BROKER_PORT}"),
                "--advertised-listener-url",
                &format!("tcp://{advertised}"),
                "--storage-engine",
                // Relative to the working folder, `/data` (tansu reads `sqlite:///data/x` as `/data/data/x`).
                "sqlite://tansu.db",
            ]
            .map(String::from)
            .to_vec(),
            env: Vec::new(),
            working_dir: Some("/data".to_string()),
        };
    }
    // Apache Kafka's image (`apache/kafka`) configures itself from KAFKA_* variables: one node that is broker
    // and controller, the controller on a port of its own that nothing else uses, one replica of everything.
    let env = [
        ("KAFKA_NODE_ID", "1".to_string()),
        ("KAFKA_PROCESS_ROLES", "broker,controller".to_string()),
        (
            "KAFKA_LISTENERS",
            format!("PLAINTEXT://0.0.0.0:{BROKER_PORT},CONTROLLER://127.0.0.1:9093"),
        ),
        (
            "KAFKA_ADVERTISED_LISTENERS",
            format!("PLAINTEXT://{advertised}"),
        ),
        ("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER".to_string()),
        (
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
            "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT".to_string(),
        ),
        (
            "KAFKA_CONTROLLER_QUORUM_VOTERS",
            "1@127.0.0.1:9093".to_string(),
        ),
        ("KAFKA_INTER_BROKER_LISTENER_NAME", "PLAINTEXT".to_string()),
        ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1".to_string()),
        (
            "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
            "1".to_string(),
        ),
        ("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1".to_string()),
        ("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0".to_string()),
        // As with tansu, topics are the lab's to declare: a typo in a service's topic must not create one.
        ("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false".to_string()),
        ("KAFKA_LOG_DIRS", "/data/kafka-logs".to_string()),
        ("KAFKA_HEAP_OPTS", "-Xmx192m -Xms192m".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    BrokerRun {
        command: Vec::new(),
        env,
        working_dir: None,
    }
}

/// What to tell an operator whose broker image is missing.
pub fn missing_broker_hint(image: &str) -> String {
    if image == DEFAULT_KAFKA_IMAGE {
        "build it once on this machine with scripts/ci-broker".to_string()
    } else {
        format!("load `{image}` into this Docker engine (docker pull or docker load where a registry is reachable), or set GAUNTLET_KAFKA_IMAGE to an image that is here (scripts/ci-broker builds {DEFAULT_KAFKA_IMAGE})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tansu_listens_everywhere_and_advertises_the_given_host() {
        let run = broker_run(DEFAULT_KAFKA_IMAGE, "172.19.255.254");
        assert_eq!(run.command[0], "broker");
        let after = |flag: &str| {
            let i = run.command.iter().position(|a| a == flag).expect(flag);
            run.command[i + 1].clone()
        };
        assert_eq!(after("--listener-url"), "tcp://0.0.0.0:9092");
        assert_eq!(
            after("--advertised-listener-url"),
            "tcp://172.19.255.254:9092"
        );
        assert!(after("--storage-engine").starts_with("sqlite://"));
        assert_eq!(run.working_dir.as_deref(), Some("/data"));
    }

    #[test]
    fn another_image_is_run_as_apache_kafka_in_kraft_mode() {
        let run = broker_run("apache/kafka:3.9.0", "events");
        assert!(run.command.is_empty());
        let env: std::collections::HashMap<_, _> = run.env.into_iter().collect();
        assert_eq!(env["KAFKA_ADVERTISED_LISTENERS"], "PLAINTEXT://events:9092");
        assert_eq!(env["KAFKA_PROCESS_ROLES"], "broker,controller");
        assert_eq!(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"], "1");
        assert!(missing_broker_hint("apache/kafka:3.9.0").contains("GAUNTLET_KAFKA_IMAGE"));
        assert!(missing_broker_hint(DEFAULT_KAFKA_IMAGE).contains("scripts/ci-broker"));
    }
}
