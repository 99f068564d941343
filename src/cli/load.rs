//! `gauntlet load URL`: the load generator of `load` checks, from the command line, so that an instructor can
//! measure a reference service before choosing a check's thresholds (and compare with `wrk`).

use std::process::ExitCode;

use anyhow::Context;

use crate::loadgen::{self, LoadReport, LoadSpec};

/// Arguments of `gauntlet load`.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// The URL to load, e.g. http://127.0.0.1:8080/healthz
    pub url: String,
    /// Concurrent keep-alive connections, each with one request in flight
    #[arg(short, long, default_value_t = 10)]
    pub connections: usize,
    /// Measured time after the warm-up, e.g. 10s or 500ms [default: 10s unless --requests is given]
    #[arg(short, long, value_parser = humantime::parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// Stop after this many counted requests (with --duration too, whichever comes first)
    #[arg(short = 'n', long)]
    pub requests: Option<u64>,
    /// Load sent first and not counted, e.g. 1s
    #[arg(short, long, value_parser = humantime::parse_duration, default_value = "0s")]
    pub warmup: std::time::Duration,
    /// The request method
    #[arg(short = 'X', long, default_value = "GET")]
    pub method: String,
    /// A request header, `Name: value` (repeatable)
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,
    /// A request body sent with every request
    #[arg(long)]
    pub body: Option<String>,
    /// Open loop: requests due per second (a constant arrival rate, latency measured from each request's due
    /// time, as wrk2 does); --connections then bounds the requests outstanding. Needs a duration.
    #[arg(short = 'R', long)]
    pub rate: Option<f64>,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

/// Default measured time when neither a duration nor a request count is given.
const DEFAULT_DURATION: std::time::Duration = std::time::Duration::from_secs(10);

pub async fn run(args: LoadArgs) -> anyhow::Result<ExitCode> {
    let url = url::Url::parse(&args.url).with_context(|| format!("`{}` is not a URL", args.url))?;
    let headers = args
        .headers
        .iter()
        .map(|h| {
            h.split_once(':')
                .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
                .with_context(|| format!("header `{h}` is not `Name: value`"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let spec = LoadSpec {
        method: args.method.to_ascii_uppercase(),
        headers,
        body: args.body.map(String::into_bytes),
        duration: match (args.duration, args.requests) {
            (None, None) => Some(DEFAULT_DURATION),
            (d, _) => d,
        },
        requests: args.requests,
        warmup: args.warmup,
        rate: args.rate,
        ..LoadSpec::get(url, args.connections)
    };
    let report = loadgen::run(&spec).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(&report));
    }
    Ok(ExitCode::SUCCESS)
}

/// The report as a small aligned table, the figures people compare first at the top.
fn table(r: &LoadReport) -> String {
    let l = &r.latency;
    let ms = |v: f64| format!("{v:.2} ms");
    format!(
        "{method} {url}: {mode} loop{at}, {conns} connection(s), {secs:.2} s measured after {warm:.2} s of warm-up\n\
         \n  requests/s  {rps:>12.1}\n  requests    {req:>12}\n  errors      {err:>12} \
         ({non} non-2xx, {con} connect, {tra} transport, {tim} timed out, {dro} dropped; {rate:.2}%)\n\
         \n  latency {:>10} {:>10} {:>10} {:>10} {:>10}\n          {:>10} {:>10} {:>10} {:>10} {:>10}\n",
        "p50",
        "p90",
        "p95",
        "p99",
        "max",
        ms(l.p50_ms),
        ms(l.p90_ms),
        ms(l.p95_ms),
        ms(l.p99_ms),
        ms(l.max_ms),
        method = r.method,
        mode = r.mode,
        at = r.rate.map_or(String::new(), |x| format!(" at {x} requests/s")),
        tim = r.timeouts,
        dro = r.dropped,
        url = r.url,
        conns = r.connections,
        secs = r.duration_ms / 1000.0,
        warm = r.warmup_ms / 1000.0,
        rps = r.requests_per_sec,
        req = r.requests,
        err = r.non_2xx + r.connect_errors + r.transport_errors + r.timeouts + r.dropped,
        non = r.non_2xx,
        con = r.connect_errors,
        tra = r.transport_errors,
        rate = r.error_rate * 100.0,
    )
}
