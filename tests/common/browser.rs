//! Headless Chromium driven over WebDriver: Debian's `chromium` and `chromium-driver`, one chromedriver per
//! browser session, killed when the session is dropped.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

/// A browser session and the driver process behind it.
pub struct Browser {
    pub client: Client,
    driver: Child,
}

impl Drop for Browser {
    /// Kills chromedriver's whole process group, so a test that panics before closing its session leaves no
    /// Chromium behind either.
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn chromium_binary() -> String {
    for candidate in ["/usr/lib/chromium/chromium", "/usr/bin/chromium"] {
        if std::path::Path::new(candidate).exists() {
            return candidate.to_string();
        }
    }
    panic!("Chromium is not installed (apt-get install chromium chromium-driver; .ci/run does it)")
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless window of the given size.
    pub async fn start(width: u32, height: u32) -> Browser {
        let port = super::ports::free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (apt-get install chromium-driver)");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium_binary(),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-extensions", "--hide-scrollbars",
                    format!("--window-size={width},{height}")
                ]
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    client.set_window_size(width, height).await.ok();
                    return Browser { client, driver };
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("cannot start a Chromium session: {last:?}");
    }

    /// Saves a screenshot under `target/screenshots/` (for a person to look at; tests assert on the DOM).
    pub async fn screenshot(&self, name: &str) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Whether the page is wider than the window (a sideways scroll on a phone).
    pub async fn overflows_horizontally(&self) -> bool {
        let v = self
            .client
            .execute(
                "return document.documentElement.scrollWidth > window.innerWidth + 1;",
                vec![],
            )
            .await
            .expect("script");
        v.as_bool().unwrap_or(true)
    }

    /// Opens the registration page at `url` (with its invite code) and fills the form; the caller submits it.
    pub async fn fill_registration(
        &self,
        url: &str,
        email: &str,
        name: &str,
    ) -> fantoccini::elements::Form {
        let c = &self.client;
        c.goto(url).await.expect("open /register");
        let form = c
            .form(fantoccini::Locator::Css("form[action='/register']"))
            .await
            .expect("the registration form");
        form.set_by_name("email", email)
            .await
            .expect("fill the form")
            .set_by_name("display_name", name)
            .await
            .expect("fill the form")
            .set_by_name("password", super::app::PASSWORD)
            .await
            .expect("fill the form")
            .set_by_name("password_again", super::app::PASSWORD)
            .await
            .expect("fill the form");
        form
    }

    /// Ends the browser session; dropping `self` then stops the driver.
    /// Signs in through the login form at `login_url` and waits until the signed-in page shows `ready` (a CSS
    /// selector), so the next step does not race the redirect.
    #[allow(dead_code)]
    pub async fn sign_in(&self, login_url: &str, email: &str, password: &str, ready: &str) {
        let c = &self.client;
        c.goto(login_url).await.unwrap();
        let form = c
            .form(fantoccini::Locator::Css("form[action='/login']"))
            .await
            .unwrap();
        form.set_by_name("email", email)
            .await
            .unwrap()
            .set_by_name("password", password)
            .await
            .unwrap();
        form.submit().await.unwrap();
        c.wait()
            .for_element(fantoccini::Locator::Css(ready))
            .await
            .unwrap();
    }

    pub async fn close(self) {
        self.client.clone().close().await.ok();
    }
}
