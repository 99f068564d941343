//! A fresh PostgreSQL database per test, on the server named by `GAUNTLET_TEST_POSTGRES_URL` (`scripts/test`
//! starts a throwaway one). Without that variable the PostgreSQL tests fail loudly rather than pass silently.

use gauntlet::config::DatabaseUrl;
use sqlx::Connection;

/// The admin URL of the test server.
pub fn server_url() -> String {
    std::env::var("GAUNTLET_TEST_POSTGRES_URL").expect(
        "GAUNTLET_TEST_POSTGRES_URL must name a PostgreSQL server for the PostgreSQL tests (scripts/test starts one)",
    )
}

/// Creates an empty database with a unique name and returns its URL.
pub async fn fresh_database() -> DatabaseUrl {
    let admin = server_url();
    let name = format!(
        "gauntlet_test_{}",
        gauntlet::auth::session::new_token()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(16)
            .collect::<String>()
            .to_lowercase()
    );
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to the test PostgreSQL server");
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await
        .expect("create database");
    let mut url = url::Url::parse(&admin).expect("admin URL");
    url.set_path(&name);
    DatabaseUrl::parse(url.as_str()).expect("database URL")
}
