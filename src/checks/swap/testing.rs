//! Local listeners for the swap's unit tests: a small HTTP backend that says who it is, a port that refuses
//! connections and one that drops them, all on 127.0.0.1.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

/// A backend named `name`: `/version` answers `{"version": name}`, `/work?ms=N` waits N ms then answers
/// `done by <name>`, `/fail` answers 503, `/claim` sends `x-gauntlet-backend: green`, `/echo` answers 201
/// with the method, target and body; anything else 200 `ok`. It serves until the test's runtime ends.
pub async fn backend(name: &'static str) -> SocketAddr {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| answer(name, req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

async fn answer(
    name: &'static str,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let target = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let method = req.method().to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = target.split('?').next().unwrap_or("/");
    let response = match path {
        "/version" => Response::new(Full::from(format!(r#"{{"version":"{name}"}}"#))),
        "/work" => {
            let ms = target
                .split("ms=")
                .nth(1)
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Response::new(Full::from(format!("done by {name}")))
        }
        "/fail" => {
            let mut r = Response::new(Full::from("broken"));
            *r.status_mut() = hyper::StatusCode::SERVICE_UNAVAILABLE;
            r
        }
        "/claim" => {
            let mut r = Response::new(Full::from("ok"));
            r.headers_mut()
                .insert("x-gauntlet-backend", "green".parse().unwrap());
            r
        }
        "/echo" => {
            let mut r = Response::new(Full::from(format!(
                "{method} {target} {}",
                String::from_utf8_lossy(&body)
            )));
            *r.status_mut() = hyper::StatusCode::CREATED;
            r
        }
        _ => Response::new(Full::from("ok")),
    };
    Ok(response)
}

/// A port nothing listens on (bound, then closed).
pub async fn refused() -> SocketAddr {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    listener.local_addr().unwrap()
}

/// A port that accepts a connection, reads the request and closes without answering.
pub async fn slams_the_door() -> SocketAddr {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf).await;
            drop(stream);
        }
    });
    addr
}
