//! The check engine's `image` kind on images built on the real engine: an image made as the w05 README asks
//! passes every rule, each rule fails on the defect it exists to catch with a learner message naming the file
//! or field (never a secret's value), a slim-like base's own package manager and size are not counted against
//! the learner, and malformed image checks are refused with file and line.

mod common;

#[path = "checks_image/fixture.rs"]
mod fixture;

use common::builds::LocalImage;
use fixture::{grade, outcome, suite};
use gauntlet::checks::{CheckSuite, Verdict};

const PEM_HEAD: &str = "-----BEGIN ";
const PEM_TAIL: &str = "PRIVATE KEY-----";

fn pem() -> Vec<u8> {
    format!("{PEM_HEAD}{PEM_TAIL}\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END {PEM_TAIL}\n")
        .into_bytes()
}

#[tokio::test]
async fn an_image_made_as_the_readme_asks_passes_every_rule() {
    let dockerfile = "FROM scratch\nCOPY testsvc /testsvc\nCOPY env-example /app/.env.example\n\
                      ENV TOKEN_URL=https://auth.example/token PASSWORD_FILE=/run/secrets/db LOG_LEVEL=info\n\
                      USER 10001:10001\nENTRYPOINT [\"/testsvc\"]\n";
    let template: &[u8] = b"# copy to .env\nDB_PASSWORD=\nAPI_TOKEN=\nPORT=8080\n";
    let outcomes = grade("pass", dockerfile, &[("env-example", template)], &suite(50)).await;
    for o in &outcomes {
        assert_eq!(
            o.verdict,
            Verdict::Pass,
            "{}: {}\n{}",
            o.check_id,
            o.message,
            o.detail
        );
    }
    assert_eq!(outcomes.len(), 5);
    assert!(outcome(&outcomes, "no-secrets")
        .detail
        .contains("no findings"));
}

#[tokio::test]
async fn secrets_fail_in_files_a_later_layer_deleted_in_env_files_and_in_env() {
    let dockerfile =
        "FROM scratch\nCOPY testsvc /testsvc\nCOPY key /app/key.pem\nCOPY dotenv /app/.env\n\
                      ARG TESTSVC_UNPLANT=/app/key.pem\nRUN [\"/testsvc\", \"unplant\"]\n\
                      ENV API_TOKEN=tk-9c1f2e77\nUSER 10001\nENTRYPOINT [\"/testsvc\"]\n";
    let dotenv: &[u8] = b"PORT=8080\n";
    let key = pem();
    let files = [("key", key.as_slice()), ("dotenv", dotenv)];
    let outcomes = grade("secrets", dockerfile, &files, &suite(50)).await;
    let secrets = outcome(&outcomes, "no-secrets");
    assert_eq!(secrets.verdict, Verdict::Fail, "{}", secrets.detail);
    assert!(
        secrets.message.contains("no-secrets"),
        "{}",
        secrets.message
    );
    assert!(
        secrets.message.contains("(and 2 more)"),
        "{}",
        secrets.message
    );
    assert!(
        !secrets.message.contains("tk-9c1f2e77"),
        "{}",
        secrets.message
    );
    for seen in [
        "`/app/key.pem` (layer 2): a private key",
        "`/app/.env` (layer 3)",
        "ENV API_TOKEN",
    ] {
        assert!(
            secrets.detail.contains(seen),
            "{seen} in:\n{}",
            secrets.detail
        );
    }
    assert!(
        secrets.detail.contains("made by: /bin/sh -c #(nop) COPY"),
        "{}",
        secrets.detail
    );
    // The rules that are not about secrets still pass on this image.
    assert_eq!(outcome(&outcomes, "non-root-user").verdict, Verdict::Pass);
    assert_eq!(outcome(&outcomes, "no-build-tools").verdict, Verdict::Pass);
}

#[tokio::test]
async fn a_root_user_a_user_name_and_a_shell_form_entrypoint_fail_naming_the_field() {
    // testsvc copied in as /bin/sh serves when run as `/bin/sh -c /testsvc`, so the container starts.
    let shell = "FROM scratch\nCOPY testsvc /testsvc\nCOPY testsvc /bin/sh\nUSER app\nENTRYPOINT /testsvc\n";
    let outcomes = grade("shell", shell, &[], &suite(50)).await;
    let form = outcome(&outcomes, "exec-form");
    assert_eq!(form.verdict, Verdict::Fail, "{}", form.detail);
    assert!(
        form.message.contains("Config.Entrypoint: shell form"),
        "{}",
        form.message
    );
    let user = outcome(&outcomes, "non-root-user");
    assert_eq!(user.verdict, Verdict::Fail);
    assert!(user.message.contains("`app` is a name"), "{}", user.message);

    let root = "FROM scratch\nCOPY testsvc /testsvc\nUSER 0:0\nENTRYPOINT [\"/testsvc\"]\n";
    let outcomes = grade("root", root, &[], &suite(50)).await;
    let user = outcome(&outcomes, "non-root-user");
    assert!(user.message.contains("uid 0 is root"), "{}", user.message);
    assert_eq!(outcome(&outcomes, "exec-form").verdict, Verdict::Pass);
}

#[tokio::test]
async fn a_slim_base_keeps_its_package_manager_and_size_but_the_learners_additions_count() {
    // A python:3.12-slim-like base: apt and dpkg in its layers, a release key's fingerprint in GPG_KEY and
    // 30 MB of runtime; its name is the test's own, so parallel runs never share it.
    let name = format!("imgcheck-base-{}:slim", std::process::id());
    let tool: &[u8] = b"#!/bin/false\n";
    let runtime = vec![7u8; 30_000_000];
    let base = LocalImage::build(
        &name,
        "FROM scratch\nCOPY tool /usr/bin/apt-get\nCOPY tool /usr/bin/dpkg\nCOPY runtime /usr/lib/runtime.so\n\
         ENV GPG_KEY=7169605F62C751356D054A26A821E680E5FA6305\n",
        &[("tool", tool.to_vec()), ("runtime", runtime)],
    );
    let learner = format!(
        "FROM {}\nCOPY testsvc /testsvc\nUSER 10001:10001\nENTRYPOINT [\"/testsvc\"]\n",
        base.0
    );
    // testsvc is well under 25 MB; with the base's 30 MB counted it would not be.
    let outcomes = grade("slim", &learner, &[], &suite(25)).await;
    for o in &outcomes {
        assert_eq!(
            o.verdict,
            Verdict::Pass,
            "{}: {}\n{}",
            o.check_id,
            o.message,
            o.detail
        );
    }
    assert!(outcome(&outcomes, "added-size")
        .detail
        .contains(&format!("base {name}")));

    let with_pip =
        format!("{learner}COPY tool /usr/local/bin/pip3.12\nCOPY tool /usr/bin/gcc-12\n");
    let outcomes = grade("slim-pip", &with_pip, &[("tool", tool)], &suite(25)).await;
    let tools = outcome(&outcomes, "no-build-tools");
    assert_eq!(tools.verdict, Verdict::Fail, "{}", tools.detail);
    assert!(
        tools.message.contains("/usr/bin/gcc-12"),
        "{}",
        tools.message
    );
    assert!(
        tools.detail.contains("`/usr/local/bin/pip3.12`"),
        "{}",
        tools.detail
    );
    assert!(
        !tools.detail.contains("`/usr/bin/apt-get`"),
        "{}",
        tools.detail
    );
}

#[tokio::test]
async fn an_image_over_the_cap_fails_without_showing_the_cap() {
    let dockerfile = "FROM scratch\nCOPY testsvc /testsvc\nCOPY blob /app/blob\nUSER 10001\nENTRYPOINT [\"/testsvc\"]\n";
    let blob = vec![1u8; 12_000_000];
    let outcomes = grade("size", dockerfile, &[("blob", blob.as_slice())], &suite(10)).await;
    let size = outcome(&outcomes, "added-size");
    assert_eq!(size.verdict, Verdict::Fail, "{}", size.detail);
    assert!(
        size.message.contains("more than this lab allows"),
        "{}",
        size.message
    );
    assert!(
        size.message.contains("COPY"),
        "names the largest step: {}",
        size.message
    );
    assert!(!size.message.contains("10.0 MB"), "{}", size.message);
}

#[test]
fn malformed_image_checks_are_refused_with_their_lines() {
    let text =
        "[[check]]\nid = \"a\"\nkind = \"image\"\ntitle = \"A\"\npillar = \"cloud-native\"\n\
                [check.image]\nrules = [\"non-root\", \"added-size\"]\n\n\
                [[check]]\nid = \"b\"\nkind = \"image\"\ntitle = \"B\"\npillar = \"cloud-native\"\n\
                [check.image]\nrules = [\"exec-form\"]\nmax_added_mb = 5\n\n\
                [[check]]\nid = \"c\"\nkind = \"http\"\ntitle = \"C\"\npillar = \"cloud-native\"\n\
                [[check.step]]\npath = \"/healthz\"\n[check.image]\nrules = [\"exec-form\"]\n";
    let pillars = vec!["cloud-native".to_string()];
    let problems = CheckSuite::parse_file(std::path::Path::new("checks/img.toml"), text, &pillars)
        .expect_err("refused");
    let lines: Vec<(Option<usize>, &str)> = problems
        .iter()
        .map(|p| (p.line, p.message.as_str()))
        .collect();
    // A table's problem is pinned to its header or its first key, whichever the TOML parser's span gives.
    let has = |at: &[usize], words: &str| {
        lines
            .iter()
            .any(|(l, m)| l.is_some_and(|l| at.contains(&l)) && m.contains(words))
    };
    assert!(has(&[7], "unknown image rule `non-root`"), "{lines:?}");
    assert!(has(&[6, 7], "needs `max_added_mb`"), "{lines:?}");
    assert!(
        has(&[16], "`max_added_mb` belongs with the `added-size` rule"),
        "{lines:?}"
    );
    assert!(
        has(&[25, 26], "[check.image] belongs to `image` checks"),
        "{lines:?}"
    );
    assert!(problems.iter().all(|p| p.path.ends_with("img.toml")));
}
