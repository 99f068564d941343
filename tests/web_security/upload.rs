//! Uploads are refused without being read whole: a visitor who is not signed in, a form with a wrong token and
//! an archive over the limit are each answered while the client is still sending, after the server has taken
//! in a bounded number of bytes, and the refusal says the sizes.
//!
//! What happens to the rest of the body after the answer is actix's: it reads and discards for at most the
//! client-disconnect timeout (1 s) before closing, so that the client can read the answer rather than a reset,
//! and a chunked body (which browsers never send for a form) is drained to its end, as on every route.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::app::{csrf_in, Spawn, TestApp, PASSWORD};

/// What the client offers to send: far more than the limit and than any socket buffers can hold.
const OFFERED: usize = 96 << 20;
/// The limit of the server under test.
const LIMIT: u64 = 1 << 20;
/// Bytes the client may have sent when the refusal arrives: the limit plus what the kernel buffers on both ends.
const BOUND: usize = 24 << 20;

async fn app() -> TestApp {
    Spawn::default()
        .grading(gauntlet::config::GradingSettings {
            workers: 0,
            max_upload_bytes: LIMIT,
            ..Default::default()
        })
        .start()
        .await
}

/// A learner registered through the forms; returns their `Cookie` header and CSRF token.
async fn learner(app: &TestApp) -> (String, String) {
    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = bare.get(app.url("/register")).send().await.unwrap();
    let mut cookies = set_cookies(&page);
    let token = csrf_in(&page.text().await.unwrap());
    let code = app.invite().await;
    let res = bare
        .post(app.url("/register"))
        .header("cookie", cookies.join("; "))
        .form(&[
            ("csrf_token", token.as_str()),
            ("invite_code", &code),
            ("email", "ada@example.org"),
            ("display_name", "Ada"),
            ("password", PASSWORD),
            ("password_again", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    cookies.extend(set_cookies(&res));
    (cookies.join("; "), token)
}

fn set_cookies(res: &reqwest::Response) -> Vec<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_string))
        .collect()
}

/// How the offered body is framed.
#[derive(Clone, Copy, Debug)]
enum Framing {
    Declared,
    Chunked,
}

/// What one hostile upload cost: the response's status line and body, and how many bytes the client had sent
/// when the answer arrived.
struct Outcome {
    head: String,
    body: String,
    sent: usize,
}

/// Offers a form with `token` and a file field `field` of `OFFERED` bytes, and reads the answer while still
/// sending.
async fn offer(app: &TestApp, cookie: &str, token: &str, framing: Framing, field: &str) -> Outcome {
    let boundary = "gauntletboundary";
    let preamble = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"p.tar.gz\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    );
    let epilogue = format!("\r\n--{boundary}--\r\n");
    let length = preamble.len() + OFFERED + epilogue.len();
    let port = app.address.rsplit(':').next().unwrap();
    let stream = TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    let (mut read, mut write) = stream.into_split();
    let framing_header = match framing {
        Framing::Declared => format!("Content-Length: {length}"),
        Framing::Chunked => "Transfer-Encoding: chunked".to_string(),
    };
    let head = format!(
        "POST /labs/w01-hello/submissions HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\n{framing_header}\r\n\r\n"
    );
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = sent.clone();
    let writer = tokio::spawn(async move {
        write.write_all(head.as_bytes()).await?;
        let chunk = vec![0u8; 64 * 1024];
        let mut parts = vec![preamble.into_bytes()];
        parts.extend(std::iter::repeat_n(chunk, OFFERED / (64 * 1024)));
        parts.push(epilogue.into_bytes());
        for part in parts {
            match framing {
                Framing::Declared => write.write_all(&part).await?,
                Framing::Chunked => {
                    write
                        .write_all(format!("{:x}\r\n", part.len()).as_bytes())
                        .await?;
                    write.write_all(&part).await?;
                    write.write_all(b"\r\n").await?;
                }
            }
            counter.fetch_add(part.len(), std::sync::atomic::Ordering::SeqCst);
        }
        if let Framing::Chunked = framing {
            write.write_all(b"0\r\n\r\n").await?;
        }
        Ok::<_, std::io::Error>(write)
    });
    let mut answer = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut sent_at_answer = None;
    let read_answer = async {
        loop {
            let n = read.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            if sent_at_answer.is_none() {
                sent_at_answer = Some(sent.load(std::sync::atomic::Ordering::SeqCst));
            }
            answer.extend_from_slice(&buf[..n]);
            if answered_whole(&answer) {
                break;
            }
        }
        Ok::<_, std::io::Error>(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(30), read_answer).await;
    writer.abort();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    Outcome {
        head: head.lines().next().unwrap_or_default().to_string(),
        body: body.to_string(),
        sent: sent_at_answer.unwrap_or(usize::MAX),
    }
}

/// Whether `answer` holds a response's head and all of the body its `Content-Length` announces.
fn answered_whole(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_string())
        })
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    body.len() >= length
}

#[tokio::test]
async fn an_archive_over_the_limit_is_refused_before_it_is_read_whole() {
    let app = app().await;
    let (cookie, token) = learner(&app).await;
    for framing in [Framing::Declared, Framing::Chunked] {
        let o = offer(&app, &cookie, &token, framing, "archive").await;
        assert!(o.head.contains(" 422 "), "{framing:?}: {}", o.head);
        assert!(
            o.sent < BOUND,
            "{framing:?}: answered after {} bytes",
            o.sent
        );
        assert!(
            o.body.contains("the limit is 1 MB"),
            "{framing:?}: {}",
            o.body
        );
        if let Framing::Declared = framing {
            assert!(
                o.body.contains("the upload is 96"),
                "the real size: {}",
                o.body
            );
        }
    }
    assert_eq!(app.store.queue_depth().await.unwrap(), 0);
}

#[tokio::test]
async fn a_wrong_form_token_is_refused_before_the_archive_is_read() {
    let app = app().await;
    let (cookie, _) = learner(&app).await;
    let o = offer(&app, &cookie, "forged-token", Framing::Declared, "archive").await;
    assert!(o.head.contains(" 403 "), "{}", o.head);
    assert!(o.sent < BOUND, "answered after {} bytes", o.sent);
}

#[tokio::test]
async fn a_visitor_who_is_not_signed_in_is_refused_before_the_archive_is_read() {
    let app = app().await;
    let o = offer(&app, "", "any", Framing::Chunked, "archive").await;
    assert!(o.head.contains(" 303 "), "{}", o.head);
    assert!(o.sent < BOUND, "answered after {} bytes", o.sent);
}

#[tokio::test]
async fn a_large_field_the_form_does_not_use_is_not_read_whole() {
    let app = app().await;
    let (cookie, token) = learner(&app).await;
    let o = offer(&app, &cookie, &token, Framing::Chunked, "padding").await;
    assert!(o.head.contains(" 422 "), "{}", o.head);
    assert!(o.sent < BOUND, "answered after {} bytes", o.sent);
}

#[tokio::test]
async fn the_api_refuses_an_archive_over_the_limit_with_its_declared_size() {
    let app = app().await;
    app.signed_in_learner("ada@example.org").await;
    let token = app.api_token("cli").await;
    let res = app
        .client
        .post(app.url("/api/v1/labs/w01-hello/submissions"))
        .bearer_auth(token)
        .body(vec![0u8; 3 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 413);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("the archive is 3 MB; the limit is 1 MB"),
        "{body}"
    );
    assert_eq!(app.store.queue_depth().await.unwrap(), 0);
}

/// Posts the upload form with `fields` in order (name, value), as a browser would.
async fn post_fields(app: &TestApp, cookie: &str, fields: Vec<(String, String)>) -> (u16, String) {
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in fields {
        form = form.text(name, value);
    }
    let res = reqwest::Client::new()
        .post(app.url("/labs/w01-hello/submissions"))
        .header("cookie", cookie)
        .multipart(form)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap_or_default())
}

#[tokio::test]
async fn many_small_fields_the_form_does_not_use_are_not_read_past_the_forms_overhead() {
    let app = app().await;
    let (cookie, token) = learner(&app).await;
    let mut fields = vec![("csrf_token".to_string(), token)];
    fields.extend((0..100).map(|i| (format!("pad{i}"), "x".repeat(900))));
    let (status, body) = post_fields(&app, &cookie, fields).await;
    assert_eq!(status, 422);
    assert!(body.contains("fields it does not use"), "{body}");
    assert_eq!(app.store.queue_depth().await.unwrap(), 0);
}

#[tokio::test]
async fn a_field_before_the_token_is_refused_as_a_forged_form() {
    let app = app().await;
    let (cookie, token) = learner(&app).await;
    let fields = vec![
        ("pad".to_string(), "x".repeat(900)),
        ("csrf_token".to_string(), token),
    ];
    assert_eq!(post_fields(&app, &cookie, fields).await.0, 403);
}
