//! `gauntlet backup`: an online copy of the SQLite database while a server runs on it, which opens as a working
//! database (restore is copying it back), and clear refusals where a copy would lose or overwrite something.

mod common;

use std::process::Command;

use gauntlet::config::DatabaseUrl;
use gauntlet::domain::Email;
use gauntlet::store::Store;

fn backup(
    database_url: &str,
    data_dir: &std::path::Path,
    to: &std::path::Path,
) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .arg("backup")
        .arg("--to")
        .arg(to)
        .arg("--database-url")
        .arg(database_url)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .expect("gauntlet backup runs")
}

#[tokio::test]
async fn a_backup_taken_while_the_server_runs_holds_its_latest_writes_and_opens_as_a_database() {
    let app = common::app::spawn_app().await;
    let code = app.invite().await;
    let registered = app
        .register(&code, "ada@example.org", "correct horse battery")
        .await;
    assert!(
        registered.status().is_redirection(),
        "{}",
        registered.status()
    );

    // The server still holds its connections, and the registration may sit in the write-ahead log rather than
    // in gauntlet.db, where a copy of the file alone would miss it.
    let url = DatabaseUrl::sqlite_in(app.data_dir.path());
    let out_dir = tempfile::tempdir().expect("temp dir");
    let copy = out_dir.path().join("gauntlet-backup.db");
    let out = backup(url.expose(), app.data_dir.path(), &copy);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Backed up the database to"), "{stdout}");
    assert!(
        stdout.contains("secret.key"),
        "it names what the copy lacks: {stdout}"
    );
    assert!(
        !out_dir.path().join("gauntlet-backup.db-wal").exists(),
        "the copy stands alone, with no write-ahead log to carry along"
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy).expect("copy").permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the copy holds password hashes: owner only"
        );
    }

    // Restore: the copy, put where a server's data folder expects it, is a working database with the account.
    let restored = tempfile::tempdir().expect("temp dir");
    std::fs::copy(&copy, restored.path().join("gauntlet.db")).expect("restore");
    let store = Store::connect(&DatabaseUrl::sqlite_in(restored.path()))
        .await
        .expect("the restored copy opens and migrates");
    let email = Email::parse("ada@example.org").expect("email");
    let user = store.user_by_email(&email).await.expect("query");
    assert!(
        user.is_some(),
        "the account registered before the backup is in it"
    );

    // The server kept running and writing meanwhile.
    let later = app
        .register(&code, "grace@example.org", "correct horse battery")
        .await;
    assert!(later.status().is_redirection(), "{}", later.status());
}

#[tokio::test]
async fn a_backup_never_overwrites_a_file_and_sends_postgres_users_to_pg_dump() {
    let app = common::app::spawn_app().await;
    let url = DatabaseUrl::sqlite_in(app.data_dir.path());
    let out_dir = tempfile::tempdir().expect("temp dir");
    let existing = out_dir.path().join("keep.db");
    std::fs::write(&existing, b"an operator's file").expect("write");
    let out = backup(url.expose(), app.data_dir.path(), &existing);
    assert!(!out.status.success(), "an existing file is refused");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(
        std::fs::read(&existing).expect("read"),
        b"an operator's file"
    );

    // A wrong data folder is an error, never an empty database created and "backed up".
    let nowhere = tempfile::tempdir().expect("temp dir");
    let out = backup(
        DatabaseUrl::sqlite_in(nowhere.path()).expose(),
        nowhere.path(),
        &out_dir.path().join("empty.db"),
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("there is no database"), "{stderr}");
    assert!(
        !nowhere.path().join("gauntlet.db").exists(),
        "nothing was created"
    );
    assert!(!out_dir.path().join("empty.db").exists());

    // Decided from the URL before connecting: nothing listens on port 1, and the answer is still about pg_dump.
    let out = backup(
        "postgres://gauntlet@127.0.0.1:1/gauntlet",
        app.data_dir.path(),
        &out_dir.path().join("pg.db"),
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pg_dump"), "{stderr}");
    assert!(!out_dir.path().join("pg.db").exists());
}
