//! Specifications of what a learner's build may read, against the real engine: images of other runs and
//! images that exist only on the grading host are refused before any step runs, whatever form the Dockerfile
//! names them in; the operator's allow-list lets chosen local images through. Oversize inputs are refused
//! before the engine sees them.

mod common;

use std::time::Instant;

use common::builds::{
    context, run_id, run_images, sandbox, testsvc, LocalImage, BUILD_TIMEOUT, LOG_CAP,
};
use common::sandbox::RunGuard;
use gauntlet::sandbox::{BuildError, BuildPolicy, RunLabel, Sandbox};

const SERVICE: &str = "FROM scratch\nCOPY testsvc /testsvc\nENTRYPOINT [\"/testsvc\"]\n";

/// Builds a run's image, as another learner's submission on the same engine.
async fn other_run(sandbox: &Sandbox, test: &str) -> (RunLabel, RunGuard) {
    let run = run_id(&format!("{test}-other"));
    let guard = RunGuard {
        sandbox: sandbox.clone(),
        run: run.clone(),
    };
    sandbox
        .build(
            &run,
            context(SERVICE, &[("testsvc", testsvc())]),
            BUILD_TIMEOUT,
            LOG_CAP,
            |_| {},
        )
        .await
        .expect("the other run builds");
    (run, guard)
}

/// Builds `dockerfile` (with testsvc beside it) as a run of its own; the error, and the lines the build
/// passed on.
async fn refused(sandbox: &Sandbox, test: &str, dockerfile: &str) -> (BuildError, Vec<String>) {
    let run = run_id(test);
    let _guard = RunGuard {
        sandbox: sandbox.clone(),
        run: run.clone(),
    };
    let mut lines = Vec::new();
    let err = sandbox
        .build(
            &run,
            context(dockerfile, &[("testsvc", testsvc())]),
            BUILD_TIMEOUT,
            LOG_CAP,
            |l| lines.push(l.to_string()),
        )
        .await
        .expect_err("the build is refused");
    assert!(run_images(&run).is_empty(), "the refused build left images");
    (err, lines)
}

#[tokio::test]
async fn a_build_from_another_runs_image_is_refused_before_any_step_runs() {
    let sandbox = sandbox().await;
    let (other, _other_guard) = other_run(&sandbox, "fromother").await;
    let dockerfile = format!(
        "# reads another learner's submission\nFROM gauntlet-run/{other}:latest\nRUN [\"/testsvc\", \"echo\", \"step ran\"]\n"
    );
    let started = Instant::now();
    let (err, lines) = refused(&sandbox, "fromother", &dockerfile).await;
    assert!(matches!(err, BuildError::Refused { .. }), "{err:?}");
    assert!(err.is_learner_fault());
    let message = err.to_string();
    assert!(message.contains("Dockerfile line 2"), "{message}");
    assert!(message.contains("Gauntlet's own"), "{message}");
    assert!(lines.is_empty(), "build steps ran: {lines:?}");
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
    eprintln!("measured: refused in {:?}: {message}", started.elapsed());
}

#[tokio::test]
async fn every_other_way_of_naming_another_runs_image_is_refused() {
    let sandbox = sandbox().await;
    let (other, _other_guard) = other_run(&sandbox, "forms").await;
    let id = {
        let out = std::process::Command::new("docker")
            .args([
                "image",
                "inspect",
                "-f",
                "{{.Id}}",
                &format!("gauntlet-run/{other}"),
            ])
            .output()
            .expect("docker CLI");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let short = id.trim_start_matches("sha256:")[..12].to_string();
    let forms = [
        format!("FROM {short}\n"),
        format!("FROM {id}\n"),
        format!("ARG BASE=gauntlet-run/{other}\nFROM ${{BASE}} AS a\nFROM a\n"),
        format!("FROM --platform=linux/amd64 docker.io/gauntlet-run/{other}\n"),
        format!("FROM scratch\nCOPY --from=gauntlet-run/{other}:latest /testsvc /x\n"),
        format!("FROM scratch\ncopy \\\n  --from={short} /testsvc /x\n"),
        format!("# escape=`\nFROM scratch\nCOPY `\n  --from=gauntlet-run/{other} /testsvc /x\n"),
        format!(
            "FROM scratch AS a\nONBUILD COPY --from=gauntlet-run/{other} /testsvc /x\nFROM a\n"
        ),
        "FROM scratch\nFROM scratch\nCOPY --from=7 /testsvc /x\n".to_string(),
    ];
    for (n, dockerfile) in forms.iter().enumerate() {
        let (err, lines) = refused(&sandbox, &format!("forms{n}"), dockerfile).await;
        assert!(
            matches!(err, BuildError::Refused { .. }),
            "{dockerfile}: {err:?}"
        );
        assert!(err.to_string().contains("Dockerfile line"), "{err}");
        assert!(lines.is_empty(), "{dockerfile}: steps ran: {lines:?}");
    }
}

#[tokio::test]
async fn a_local_only_base_is_refused_by_default_and_allowed_when_the_operator_lists_it() {
    let sandbox = sandbox().await;
    let name = format!("localbase-{}", std::process::id());
    let base = LocalImage::build(
        &name,
        "FROM scratch\nCOPY testsvc /testsvc\n",
        &[("testsvc", testsvc())],
    );
    let dockerfile = format!("FROM {}\nENTRYPOINT [\"/testsvc\"]\n", base.0);
    let (err, _) = refused(&sandbox, "localonly", &dockerfile).await;
    assert!(
        err.to_string().contains("exists only on this grading host"),
        "{err}"
    );

    let allowing = sandbox.clone().with_build_policy(
        BuildPolicy::default()
            .with_allowed_bases(&["localbase-*".to_string()])
            .expect("patterns"),
    );
    let run = run_id("localallowed");
    let _guard = RunGuard {
        sandbox: allowing.clone(),
        run: run.clone(),
    };
    allowing
        .build(
            &run,
            context(&dockerfile, &[]),
            BUILD_TIMEOUT,
            LOG_CAP,
            |_| {},
        )
        .await
        .expect("a listed local base builds");
    // The allow-list refuses what it does not name.
    let (err, _) = refused(&allowing, "notlisted", "FROM debian:12\n").await;
    assert!(err.to_string().contains("localbase-*"), "{err}");
}

#[tokio::test]
async fn an_onbuild_trigger_of_an_allowed_base_reading_another_run_is_refused() {
    let sandbox = sandbox().await;
    let (other, _other_guard) = other_run(&sandbox, "trigger").await;
    let name = format!("triggerbase-{}", std::process::id());
    let base = LocalImage::build(
        &name,
        &format!("FROM scratch\nONBUILD COPY --from=gauntlet-run/{other} /testsvc /stolen\n"),
        &[],
    );
    let allowing = sandbox.with_build_policy(
        BuildPolicy::default()
            .with_allowed_bases(&["triggerbase-*".to_string()])
            .expect("patterns"),
    );
    let (err, lines) = refused(&allowing, "trigger", &format!("FROM {}\n", base.0)).await;
    assert!(err.to_string().contains("ONBUILD"), "{err}");
    assert!(err.to_string().contains("Gauntlet's own"), "{err}");
    assert!(lines.is_empty(), "{lines:?}");
}

#[tokio::test]
async fn an_oversize_dockerfile_is_refused_before_the_build() {
    let sandbox = sandbox().await;
    let mut dockerfile = String::from("FROM scratch\nCOPY testsvc /testsvc\n");
    while dockerfile.len() <= 2 << 20 {
        dockerfile.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    let started = Instant::now();
    let (err, lines) = refused(&sandbox, "bigdockerfile", &dockerfile).await;
    assert!(matches!(err, BuildError::Refused { .. }), "{err:?}");
    assert!(
        err.to_string().contains("Dockerfile is larger than 1 MiB"),
        "{err}"
    );
    assert!(lines.is_empty());
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
}

#[tokio::test]
async fn an_oversize_context_is_refused_before_the_build() {
    let mut policy = BuildPolicy::default();
    policy.max_context_bytes = 1 << 20;
    let sandbox = sandbox().await.with_build_policy(policy);
    let run = run_id("bigcontext");
    let _guard = RunGuard {
        sandbox: sandbox.clone(),
        run: run.clone(),
    };
    // Random bytes, so the upload is as large as its contents.
    let noise: Vec<u8> = (0..(2u32 << 20))
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let err = sandbox
        .build(
            &run,
            context("FROM scratch\nCOPY noise /noise\n", &[("noise", noise)]),
            BUILD_TIMEOUT,
            LOG_CAP,
            |_| {},
        )
        .await
        .expect_err("refused");
    assert!(matches!(err, BuildError::Refused { .. }), "{err:?}");
    assert!(err.to_string().contains("larger than 1 MiB"), "{err}");
    assert!(run_images(&run).is_empty());
}

#[tokio::test]
async fn the_bundled_starters_and_references_pass_the_default_policy() {
    let sandbox = sandbox().await;
    let labs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("labs");
    let mut checked = 0;
    let mut named = 0;
    for lab in std::fs::read_dir(&labs).expect("labs").flatten() {
        // The default starter and the lab's other ones (`starters/<name>/`, e.g. w07's Rust starter).
        let mut folders = vec![lab.path().join("starter")];
        if let Ok(more) = std::fs::read_dir(lab.path().join("starters")) {
            let more: Vec<_> = more.flatten().map(|e| e.path()).collect();
            named += more.len();
            folders.extend(more);
        }
        for folder in folders {
            let dockerfile = folder.join("Dockerfile");
            if let Ok(text) = std::fs::read_to_string(&dockerfile) {
                sandbox
                    .admit(&text, &Default::default())
                    .await
                    .unwrap_or_else(|e| panic!("{}: {e}", dockerfile.display()));
                checked += 1;
            }
        }
    }
    assert!(checked > 0, "no starter found");
    assert!(named > 0, "no named starter (labs/*/starters/*) found");
    // What scripts/build-references writes for a lab with a test stage, and without.
    for reference in [
        "FROM scratch AS test\nCOPY testsvc /testsvc\nARG TESTSVC_DEFECT=\n\
         RUN [\"/testsvc\", \"self-test\", \"--junit\", \"/reports/junit.xml\"]\n\n\
         FROM scratch\nCOPY --from=test /testsvc /testsvc\nENV GAUNTLET_LAB=w04\nENTRYPOINT [\"/testsvc\"]\n",
        SERVICE,
    ] {
        sandbox
            .admit(reference, &Default::default())
            .await
            .expect("a reference passes");
    }
}
