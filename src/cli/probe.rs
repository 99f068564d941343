//! `gauntlet probe`: one GET of the server's `/healthz`, exit 0 when it answers 2xx. Gauntlet's image has no
//! curl or wget (nothing a learner's service could use, nothing to patch), so its `HEALTHCHECK` runs the
//! binary itself.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The URL to ask [default: /healthz on the port of GAUNTLET_BIND, or 8080, on 127.0.0.1]
    #[arg(long, env = "GAUNTLET_PROBE_URL")]
    pub url: Option<String>,
    /// Seconds to wait for the answer
    #[arg(long, default_value_t = 3)]
    pub timeout: u64,
}

pub async fn run(args: ProbeArgs) -> anyhow::Result<ExitCode> {
    let url = args
        .url
        .unwrap_or_else(|| default_url(std::env::var("GAUNTLET_BIND").ok().as_deref()));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout))
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    match client.get(&url).send().await {
        Ok(res) if res.status().is_success() => Ok(ExitCode::SUCCESS),
        Ok(res) => {
            eprintln!("{url}: {}", res.status());
            Ok(ExitCode::FAILURE)
        }
        Err(e) => {
            eprintln!("{url}: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `/healthz` on loopback at the port the server binds: inside its container the server is always local.
fn default_url(bind: Option<&str>) -> String {
    let port = bind
        .and_then(|b| b.rsplit_once(':'))
        .and_then(|(_, p)| p.parse::<u16>().ok())
        .unwrap_or(8080);
    format!("http://127.0.0.1:{port}/healthz")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_url_follows_the_bound_port() {
        assert_eq!(default_url(None), "http://127.0.0.1:8080/healthz");
        assert_eq!(
            default_url(Some("0.0.0.0:9000")),
            "http://127.0.0.1:9000/healthz"
        );
        assert_eq!(
            default_url(Some("[::]:8081")),
            "http://127.0.0.1:8081/healthz"
        );
        assert_eq!(
            default_url(Some("nonsense")),
            "http://127.0.0.1:8080/healthz"
        );
    }
}
