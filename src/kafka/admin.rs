//! Preparing a lab's broker before the service starts: wait until it answers metadata requests, create the
//! lab's topics (tansu creates none on its own, and a lab's topics must exist with their partition counts before
//! a consumer group forms), and read the topics back.
//!
//! librdkafka's metadata call blocks its thread, so it runs on tokio's blocking pool; every call is bounded.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::types::RDKafkaErrorCode;

use super::{GraderContext, KafkaTarget, TopicSpec, REQUEST_TIMEOUT};

/// A topic as the broker describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    pub name: String,
    pub partitions: usize,
}

/// Pause between attempts while a broker comes up or a topic appears.
const POLL: Duration = Duration::from_millis(100);

type Admin = Arc<AdminClient<GraderContext>>;

fn admin(target: &KafkaTarget) -> Result<Admin, AdminError> {
    Ok(Arc::new(
        target.client_config().create_with_context(GraderContext)?,
    ))
}

/// The broker's topics (those it reports without an error), by one metadata request bounded by `timeout`.
async fn fetch_topics(admin: &Admin, timeout: Duration) -> Result<Vec<TopicInfo>, AdminError> {
    let admin = admin.clone();
    tokio::task::spawn_blocking(move || -> Result<Vec<TopicInfo>, AdminError> {
        let metadata = admin.inner().fetch_metadata(None, timeout)?;
        Ok(metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none())
            .map(|t| TopicInfo {
                name: t.name().to_string(),
                partitions: t.partitions().len(),
            })
            .collect())
    })
    .await
    .map_err(|e| AdminError::Task(e.to_string()))?
}

/// Waits until the broker answers a metadata request, for at most `deadline`.
pub async fn wait_ready(target: &KafkaTarget, deadline: Duration) -> Result<(), AdminError> {
    let admin = admin(target)?;
    let started = Instant::now();
    loop {
        let left = deadline.saturating_sub(started.elapsed());
        let attempt = left.min(REQUEST_TIMEOUT).max(Duration::from_millis(100));
        let last = match fetch_topics(&admin, attempt).await {
            Ok(_) => return Ok(()),
            Err(e) => e.to_string(),
        };
        if started.elapsed() >= deadline {
            return Err(AdminError::NotReady {
                addr: target.addr,
                after: deadline,
                last,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The broker's topics, by one metadata request bounded by `timeout`: an unanswered request (a paused broker) is
/// an error once it has passed.
pub async fn topics(target: &KafkaTarget, timeout: Duration) -> Result<Vec<TopicInfo>, AdminError> {
    fetch_topics(&admin(target)?, timeout).await
}

/// Creates `wanted` (one replica each) and waits, within `deadline`, until the broker lists every one of them.
/// A topic that exists already is fine (a retried preparation); its partitions are what they are.
pub async fn create_topics(
    target: &KafkaTarget,
    wanted: &[TopicSpec],
    deadline: Duration,
) -> Result<(), AdminError> {
    if wanted.is_empty() {
        return Ok(());
    }
    let admin = admin(target)?;
    let started = Instant::now();
    let new: Vec<NewTopic<'_>> = wanted
        .iter()
        .map(|t| NewTopic::new(&t.name, t.partitions, TopicReplication::Fixed(1)))
        .collect();
    let options = AdminOptions::new()
        .request_timeout(Some(deadline))
        .operation_timeout(Some(deadline));
    for result in admin.create_topics(&new, &options).await? {
        match result {
            Ok(_) => {}
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(AdminError::CreateTopic {
                    topic,
                    reason: code.to_string(),
                })
            }
        }
    }
    loop {
        let left = deadline.saturating_sub(started.elapsed());
        let listed = fetch_topics(&admin, left.min(REQUEST_TIMEOUT).max(POLL)).await;
        let missing = match &listed {
            Ok(listed) => wanted
                .iter()
                .find(|w| !listed.iter().any(|t| t.name == w.name))
                .map(|w| format!("it does not list topic `{}`", w.name)),
            Err(e) => Some(e.to_string()),
        };
        let Some(missing) = missing else {
            return Ok(());
        };
        if started.elapsed() >= deadline {
            let topic = wanted.first().map(|t| t.name.clone()).unwrap_or_default();
            return Err(AdminError::CreateTopic {
                topic,
                reason: format!("not listed after {}s: {missing}", deadline.as_secs()),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Why the grader could not prepare a broker.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("the broker at {addr} did not answer a metadata request within {}s: {last}", .after.as_secs())]
    NotReady {
        addr: std::net::SocketAddr,
        after: Duration,
        last: String,
    },
    #[error("the broker could not create topic `{topic}`: {reason}")]
    CreateTopic { topic: String, reason: String },
    #[error("the Kafka client failed: {0}")]
    Client(#[from] rdkafka::error::KafkaError),
    #[error("a Kafka client task failed: {0}")]
    Task(String),
}
