//! After signing in, `next` can only lead to a page of this site, in every spelling a browser understands.

use crate::common::app::{spawn_app, PASSWORD};

/// `next` values (already URL-encoded for the query string) that a browser would follow to another host.
const HOSTILE: [&str; 9] = [
    "/%09/evil.example",
    "/%0A/evil.example",
    "/%0D%0A/evil.example",
    "//evil.example",
    "/%5Cevil.example",
    "/%5C/evil.example",
    "%5C%5Cevil.example",
    "https://evil.example/",
    "/%09%5Cevil.example",
];

/// Where a browser on this site lands after following `location`.
fn followed(location: &str) -> url::Url {
    url::Url::parse("http://site.example/login")
        .unwrap()
        .join(location)
        .unwrap()
}

#[tokio::test]
async fn a_signed_in_visitor_is_never_sent_to_another_host() {
    let app = spawn_app().await;
    app.signed_in_learner("ada@example.org").await;
    for next in HOSTILE {
        let res = app.get(&format!("/login?next={next}")).await;
        assert_eq!(res.status().as_u16(), 303, "{next}");
        let location = res.headers()["location"].to_str().unwrap().to_string();
        assert_eq!(location, "/", "{next} → {location:?}");
    }
}

#[tokio::test]
async fn signing_in_with_a_hostile_next_lands_on_this_site() {
    let app = spawn_app().await;
    app.signed_in_learner("ada@example.org").await;
    let signed_out = app.clone_for_another_client();
    for next in HOSTILE {
        let decoded = percent_encoding::percent_decode_str(next)
            .decode_utf8()
            .unwrap()
            .to_string();
        let token = signed_out.csrf("/register").await;
        let res = signed_out
            .post_form(
                "/login",
                &[
                    ("csrf_token", &token),
                    ("email", "ada@example.org"),
                    ("password", PASSWORD),
                    ("next", &decoded),
                ],
            )
            .await;
        assert_eq!(res.status().as_u16(), 303, "{next}");
        let location = res.headers()["location"].to_str().unwrap();
        assert_eq!(
            followed(location).host_str(),
            Some("site.example"),
            "{next} → {location:?}"
        );
    }
}

#[tokio::test]
async fn control_characters_in_next_never_give_a_server_error() {
    let app = spawn_app().await;
    app.signed_in_learner("ada@example.org").await;
    for next in ["/%01x", "/a%7Fb", "/%00", "/runs/1%0D%0ASet-Cookie:%20x=1"] {
        let res = app.get(&format!("/login?next={next}")).await;
        assert_eq!(res.status().as_u16(), 303, "{next}");
        let location = res.headers()["location"].to_str().unwrap();
        assert!(
            location.starts_with('/') && !location.starts_with("//"),
            "{next} → {location:?}"
        );
        assert!(res.headers().get("x").is_none());
        assert_eq!(followed(location).host_str(), Some("site.example"));
    }
}

#[tokio::test]
async fn a_path_on_this_site_is_still_where_sign_in_leads() {
    let app = spawn_app().await;
    app.signed_in_learner("ada@example.org").await;
    let res = app.get("/login?next=/labs/w01-hello%3Ftab%3D2").await;
    assert_eq!(res.headers()["location"], "/labs/w01-hello?tab=2");
}
