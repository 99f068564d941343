//! The `image` kind's own cost on a built image, for scripts/bench-image: reads the image's facts and walks its
//! `docker save` stream as the check does (the layer tars as nested streams, a blocking walk fed through
//! `SyncIoBridge`), or, with `--drain`, only reads the stream to its end (the baseline: what the engine's
//! export costs without the scan). Prints one line: mode, seconds, layers, entries, text bytes, findings.
//!
//! Usage: `bench_image IMAGE [--drain]`

use std::time::Instant;

use gauntlet::checks::image::{scan_export, Rule};
use gauntlet::sandbox::Sandbox;
use tokio::io::AsyncReadExt;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let image = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: bench_image IMAGE [--drain]"))?;
    let drain = args.next().as_deref() == Some("--drain");
    let sandbox = Sandbox::connect().await?;
    let started = Instant::now();
    if drain {
        let mut export = Box::pin(sandbox.export_image(&image));
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        loop {
            let n = export.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            total += n as u64;
        }
        println!(
            "drain {:.2} s, {total} bytes",
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let facts = sandbox.read_image(&image).await?;
    let export = Box::pin(sandbox.export_image(&image));
    let handle = tokio::runtime::Handle::current();
    let base_layers = facts.base.as_ref().map_or(0, |b| b.layers);
    let scan = tokio::task::spawn_blocking(move || {
        let bridge = tokio_util::io::SyncIoBridge::new_with_handle(export, handle);
        let reader = std::io::BufReader::with_capacity(256 * 1024, bridge);
        scan_export(reader, &[Rule::NoBuildTools, Rule::NoSecrets], base_layers)
    })
    .await??;
    println!(
        "scan {:.2} s, {} layers, {} entries, {} text bytes scanned, {} findings",
        started.elapsed().as_secs_f64(),
        scan.layers,
        scan.entries,
        scan.text_bytes,
        scan.findings.len()
    );
    Ok(())
}
