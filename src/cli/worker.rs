//! `gauntlet worker`: grading workers with no web server, against the same database as `serve`. Run several,
//! on several Docker hosts (`DOCKER_HOST`), when one machine is not enough; on PostgreSQL they share the queue.

use std::process::ExitCode;
use std::sync::{Arc, RwLock};

use crate::config::Settings;
use crate::curriculum::Curriculum;
use crate::store::Store;

pub async fn run(mut settings: Settings) -> anyhow::Result<ExitCode> {
    if settings.grading.workers == 0 {
        settings.grading.workers = 1;
    }
    let curriculum =
        Curriculum::load(&settings.curriculum_dir, &settings.labs_dir).map_err(|p| {
            let lines: Vec<String> = p.iter().map(|d| d.to_string()).collect();
            anyhow::anyhow!("the curriculum has problems:\n{}", lines.join("\n"))
        })?;
    let store = Store::connect(&settings.database_url).await?;
    let shared = Arc::new(RwLock::new(Arc::new(curriculum)));
    let (pool, _) = crate::startup::start_workers(&settings, &store, &shared).await?;
    tracing::info!(
        workers = settings.grading.workers,
        "grading workers started"
    );
    shutdown_signal().await;
    tracing::info!("stopping: runs in progress get the shutdown grace, then go back to the queue");
    if let Some(pool) = pool {
        pool.shutdown().await;
    }
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = ctrl_c.await;
}
