//! `/metrics` stays bounded whatever clients send, and can be kept off the public address or behind a token.

use gauntlet::config::{BearerToken, MetricsSettings};

use crate::common::app::{spawn_app, Spawn};

#[tokio::test]
async fn invented_methods_and_paths_add_no_metric_series() {
    let app = spawn_app().await;
    app.get("/login").await;
    let (_, before) = app.get_text("/metrics").await;
    for i in 0..50 {
        let method = format!("X{i}{}", "M".repeat(2_000));
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let res = app
            .client
            .request(
                method,
                app.url(&format!("/nowhere-{i}-{}", "p".repeat(500))),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 404);
    }
    let (status, after) = app.get_text("/metrics").await;
    assert_eq!(status, 200);
    assert!(!after.contains("X0M"), "no label holds a client's method");
    assert!(!after.contains("nowhere"), "no label holds a client's path");
    assert!(
        after.contains(
            "gauntlet_http_requests_total{method=\"other\",route=\"unmatched\",status=\"404\"} 50"
        ),
        "{after}"
    );
    assert!(
        after.len() < before.len() + 4_000,
        "50 odd requests grew /metrics from {} to {} bytes",
        before.len(),
        after.len()
    );
}

#[tokio::test]
async fn metrics_on_their_own_address_are_not_served_on_the_main_one() {
    let app = Spawn::default()
        .metrics(MetricsSettings {
            bind: Some("127.0.0.1:0".parse().unwrap()),
            token: None,
        })
        .start()
        .await;
    app.get("/login").await;
    assert_eq!(app.get("/metrics").await.status().as_u16(), 404);
    let separate = app.metrics_address.clone().expect("a metrics address");
    let res = app
        .client
        .get(format!("{separate}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.text().await.unwrap().contains("route=\"/login\""));
    let other = app
        .client
        .get(format!("{separate}/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status().as_u16(),
        404,
        "only /metrics is served there"
    );
}

#[tokio::test]
async fn metrics_behind_a_token_refuse_everyone_without_it() {
    let app = Spawn::default()
        .metrics(MetricsSettings {
            bind: None,
            token: BearerToken::new("scrape-me"),
        })
        .start()
        .await;
    let anonymous = app.get("/metrics").await;
    assert_eq!(anonymous.status().as_u16(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    let wrong = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-you")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let right = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status().as_u16(), 200);
    assert!(right
        .text()
        .await
        .unwrap()
        .contains("gauntlet_http_requests_total"));
}
