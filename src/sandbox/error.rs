//! The sandbox's errors, split by who can act on them.
//!
//! `SandboxError` is the platform's fault (engine unreachable, a refused API call). `BuildError` and
//! `StartError` wrap it, and add the outcomes that are the learner's doing — a failing Dockerfile, a service
//! that exits or never answers — whose `Display` is written for the learner.

use std::time::Duration;

/// A fault on the platform's side while talking to Docker.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The engine did not answer at all (socket missing, daemon down).
    #[error("the Docker engine could not be reached")]
    Unreachable(#[source] bollard::errors::Error),

    /// The engine answered but refused or failed an operation.
    #[error("the Docker engine could not {action}")]
    Docker {
        action: &'static str,
        #[source]
        source: bollard::errors::Error,
    },

    /// A run id that cannot be used in Docker names and labels.
    #[error("`{0}` is not a valid run id (1 to 48 of a-z, 0-9, `-`, `_`, starting with a letter or digit)")]
    InvalidRunId(String),

    /// An instance name suffix that cannot be used in a Docker name.
    #[error(
        "`{0}` is not a valid instance name (1 to 32 of a-z, 0-9, `-`, not starting with `-`)"
    )]
    InvalidInstanceName(String),

    /// The container started but has no address on its run's network.
    #[error("the container has no address on its network")]
    NoAddress,

    /// The engine gave the run's network no IPv4 subnet, so no counterpart can have a fixed address on it.
    #[error("the run's network has no IPv4 subnet")]
    NoSubnet,

    /// A lab's `data_dir` that cannot be a mount point (`validate` refuses these; this guards other callers).
    #[error("`{dir}` cannot be a data folder: it must be an absolute path below `/`")]
    DataDir { dir: String },

    /// A tar the sandbox writes itself could not be made.
    #[error("could not write an archive for the engine")]
    Archive {
        #[source]
        source: std::io::Error,
    },

    /// A base image had to be pulled and its registry could not be reached (DNS, connection, TLS): not the
    /// learner's doing. The message, with the resolver's or registry's address, is for instructors only.
    #[error("a base image could not be pulled: its registry could not be reached")]
    RegistryUnreachable(#[source] bollard::errors::Error),

    /// The host could not be closed to run networks, so no service may run (see `firewall.rs`).
    #[error("the sandbox firewall is not in place: {0}")]
    Firewall(#[from] super::firewall::FirewallError),
}

impl SandboxError {
    /// Wraps a bollard error, telling a dead engine apart from a refused request.
    pub(crate) fn docker(action: &'static str) -> impl FnOnce(bollard::errors::Error) -> Self {
        move |source| {
            if is_unreachable(&source) {
                Self::Unreachable(source)
            } else {
                Self::Docker { action, source }
            }
        }
    }
}

/// Errors that mean the engine is not there, as opposed to one request being refused.
pub(crate) fn is_unreachable(e: &bollard::errors::Error) -> bool {
    use bollard::errors::Error as E;
    matches!(
        e,
        E::HyperResponseError { .. }
            | E::HyperLegacyError { .. }
            | E::HttpClientError { .. }
            | E::IOError { .. }
            | E::SocketNotFoundError(_)
            | E::RequestTimeoutError
    )
}

/// Why an image could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The Dockerfile is wrong or one of its steps failed: the learner's to fix.
    #[error("the image could not be built: {message}")]
    Failed { message: String, log_tail: String },

    /// Refused before the build started (the build policy, a size limit); the message names the reason and,
    /// for the policy, the Dockerfile line.
    #[error("{message}")]
    Refused { message: String },

    /// The build ran past its time budget and was cancelled.
    #[error("the image build took longer than {}s and was stopped", .after.as_secs())]
    Timeout { after: Duration, log_tail: String },

    /// The platform failed, not the learner's project.
    #[error(transparent)]
    Platform(#[from] SandboxError),
}

impl BuildError {
    /// Whether the learner can fix this by changing the project.
    pub fn is_learner_fault(&self) -> bool {
        !matches!(self, Self::Platform(_))
    }

    /// The end of the build log, for the run page.
    pub fn log_tail(&self) -> &str {
        match self {
            Self::Failed { log_tail, .. } | Self::Timeout { log_tail, .. } => log_tail,
            Self::Refused { .. } | Self::Platform(_) => "",
        }
    }
}

/// Why a started service never became healthy.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The process ended before it answered; `oom` when the kernel killed it for memory.
    #[error("{}", exited_message(*.code, *.oom))]
    Exited { code: i64, oom: bool },

    /// The engine could not start the image's command: a `CMD`/`ENTRYPOINT` naming a missing file, one that is
    /// not executable (by the service's user), or built for another machine.
    #[error("the service's command could not be started: {message}")]
    CannotRun { message: String },

    /// The process count sat at the pids limit: the service forks or spawns threads without bound.
    #[error(
        "the service is running {pids} processes or threads, its limit, and stopped answering \
         (a fork bomb or a thread per request without bound?)"
    )]
    ForkBomb { pids: u64 },

    /// Still running, never answered with a 2xx.
    #[error("the service did not answer GET {path} with a 2xx within {}s (last attempt: {last})", .after.as_secs())]
    Timeout {
        after: Duration,
        path: String,
        last: String,
    },

    /// Still running, never accepted a connection on its port (an instance, which is not health-checked).
    #[error("the service did not listen on port {port} within {:.1}s (last attempt: {last})", .after.as_secs_f64())]
    NotListening {
        after: Duration,
        port: u16,
        last: String,
    },

    /// The platform failed, not the learner's service.
    #[error(transparent)]
    Platform(#[from] SandboxError),
}

impl StartError {
    /// Whether the learner can fix this by changing the service.
    pub fn is_learner_fault(&self) -> bool {
        !matches!(self, Self::Platform(_))
    }
}

fn exited_message(code: i64, oom: bool) -> String {
    if oom {
        format!("the service was killed for using more memory than its limit (exit code {code})")
    } else {
        format!("the service exited with code {code} before it answered its health check")
    }
}

/// Whether a build failed because a registry could not be reached while pulling its base image, as the engine
/// words it (`Get "https://registry-1.docker.io/v2/": dial tcp: lookup … no such host`). A registry that
/// answered that the name does not exist (`manifest unknown`, `pull access denied`) is the learner's.
pub(crate) fn registry_unreachable(e: &bollard::errors::Error) -> bool {
    let bollard::errors::Error::DockerStreamError { error } = e else {
        return false;
    };
    let about_registry = error.starts_with("Get \"http") && error.contains("/v2/");
    let unreachable = [
        "dial tcp",
        "no such host",
        "i/o timeout",
        "connection refused",
        "TLS handshake timeout",
        "request canceled",
        "network is unreachable",
    ]
    .iter()
    .any(|s| error.contains(s));
    about_registry && unreachable
}

/// The learner's part of an engine's refusal to start a container, when the refusal is about the image's
/// command: the runtime's `exec: "/app": stat /app: no such file or directory` and its kin. Whatever else the
/// engine refuses (a missing network, a full disk) is the platform's and gives `None`.
pub(crate) fn cannot_run(e: &bollard::errors::Error) -> Option<String> {
    let bollard::errors::Error::DockerResponseServerError { message, .. } = e else {
        return None;
    };
    let about_command = message.contains("starting container process") || message.contains("exec:");
    // A data folder or working directory the image made a file: the runtime cannot mount or enter it.
    let about_image_paths =
        message.contains("not a directory") || message.contains("is not directory");
    if !about_command && !about_image_paths {
        return None;
    }
    // From `exec:` on is about the learner's command; before it are the runtime's file and line.
    let start = message.find("exec:").unwrap_or(0);
    let useful = message[start..].trim();
    let useful = useful.strip_suffix(": unknown").unwrap_or(useful);
    Some(without_host_paths(useful.trim_end_matches([':', ' '])))
}

/// The message with the engine's own paths on the host (`/var/lib/docker/…/merged/data`) cut to what the
/// learner knows, the path inside their image.
fn without_host_paths(message: &str) -> String {
    message
        .split(' ')
        .map(|word| match word.find("/merged/") {
            Some(at) if word.starts_with('/') => word[at + "/merged".len()..].to_string(),
            _ if word.starts_with("/var/lib/docker") => "(a path of the engine)".to_string(),
            _ => word.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_error(status_code: u16, message: &str) -> bollard::errors::Error {
        bollard::errors::Error::DockerResponseServerError {
            status_code,
            message: message.to_string(),
        }
    }

    #[test]
    fn a_command_that_cannot_be_run_is_the_learners_with_the_runtimes_words() {
        let e = server_error(
            400,
            "OCI runtime create failed: container_linux.go:380: starting container process caused: \
             exec: \"/app\": stat /app: no such file or directory: unknown",
        );
        assert_eq!(
            cannot_run(&e).as_deref(),
            Some("exec: \"/app\": stat /app: no such file or directory")
        );
    }

    #[test]
    fn an_unreachable_registry_is_the_platforms_and_a_missing_name_the_learners() {
        let stream = |error: &str| bollard::errors::Error::DockerStreamError {
            error: error.to_string(),
        };
        assert!(registry_unreachable(&stream(
            "Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io on \
             10.255.255.53:53: no such host"
        )));
        assert!(registry_unreachable(&stream(
            "Get \"http://127.0.0.1:1/v2/\": dial tcp 127.0.0.1:1: connect: connection refused"
        )));
        assert!(!registry_unreachable(&stream(
            "pull access denied for nosuchimage, repository does not exist or may require 'docker login'"
        )));
        assert!(!registry_unreachable(&stream(
            "manifest for debian:nosuchtag not found: manifest unknown: manifest unknown"
        )));
        assert!(!registry_unreachable(&stream(
            "The command '/bin/sh -c curl http://x/v2/' returned a non-zero code: 7"
        )));
    }

    #[test]
    fn a_data_folder_the_image_made_a_file_is_the_learners_without_the_engines_paths() {
        let e = server_error(
            400,
            "source /var/lib/docker/fuse-overlayfs/0a1b/merged/data is not directory",
        );
        assert_eq!(
            cannot_run(&e).as_deref(),
            Some("source /data is not directory")
        );
    }

    #[test]
    fn other_refusals_stay_the_platforms() {
        assert_eq!(
            cannot_run(&server_error(404, "network gauntlet-x not found")),
            None
        );
        assert_eq!(
            cannot_run(&server_error(500, "no space left on device")),
            None
        );
    }
}
