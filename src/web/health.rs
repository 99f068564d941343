//! Operational endpoints: liveness, readiness and Prometheus metrics.

use actix_web::{web, HttpResponse};

use super::AppState;

/// `GET /healthz`: the process is up and serving.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// `GET /readyz`: the process can do its work: the database answers and, when this process grades, the Docker
/// engine answers too. Submissions are still accepted while Docker is away; they wait in the queue.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = state.store.ping().await;
    if let Err(e) = &database {
        tracing::warn!(error = %e, "readiness: database unavailable");
    }
    let docker = if state.grading.local_workers {
        let reachable = tokio::time::timeout(std::time::Duration::from_secs(3), async {
            crate::sandbox::Sandbox::connect().await?.ping().await
        })
        .await;
        Some(matches!(reachable, Ok(Ok(()))))
    } else {
        None
    };
    let ready = database.is_ok() && docker != Some(false);
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "unavailable" },
        "database": if database.is_ok() { "ok" } else { "unreachable" },
        "docker": match docker { Some(true) => "ok", Some(false) => "unreachable", None => "not used" },
    });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}
