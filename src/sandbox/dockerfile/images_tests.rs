//! Specifications of `image_uses`: every form a Dockerfile can name an image in, and what is refused.

use super::*;

fn names(dockerfile: &str) -> Vec<(usize, String)> {
    names_with(dockerfile, &[])
}

fn names_with(dockerfile: &str, args: &[(&str, &str)]) -> Vec<(usize, String)> {
    let args = args
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    image_uses(dockerfile, &args)
        .expect("parses")
        .into_iter()
        .map(|u| (u.line, u.name))
        .collect()
}

fn refused(dockerfile: &str) -> ParseError {
    image_uses(dockerfile, &BTreeMap::new()).expect_err("refused")
}

#[test]
fn a_from_names_its_base_and_scratch_is_no_image() {
    assert_eq!(
        names("FROM scratch\nfrom gauntlet-run/x-2:latest\n"),
        [(2, "gauntlet-run/x-2:latest".to_string())]
    );
}

#[test]
fn a_stage_used_by_a_later_from_is_no_image_but_its_base_is() {
    let text = "FROM gauntlet-run/a AS Build\nRUN x\nFROM build\nFROM BUILD AS again\n";
    assert_eq!(names(text), [(1, "gauntlet-run/a".to_string())]);
}

#[test]
fn a_name_used_before_its_stage_is_declared_is_an_image() {
    let text = "FROM later\nFROM scratch AS later\n";
    assert_eq!(names(text), [(1, "later".to_string())]);
}

#[test]
fn a_quoted_name_is_read_without_its_quotes() {
    assert_eq!(
        names("FROM \"gauntlet-run/x\"\n"),
        [(1, "gauntlet-run/x".to_string())]
    );
}

#[test]
fn platform_flags_digests_and_tags_are_read() {
    let text = "FROM --platform=linux/amd64 gauntlet-run/x@sha256:abcd AS a\n\
                FROM --platform=$BUILDPLATFORM python:3.12-slim\n";
    assert_eq!(
        names(text),
        [
            (1, "gauntlet-run/x@sha256:abcd".to_string()),
            (2, "python:3.12-slim".to_string())
        ]
    );
}

#[test]
fn arg_substituted_names_are_resolved_with_defaults_and_build_args() {
    let text = "ARG BASE=gauntlet-run/x\nARG TAG\nARG REPO=\"gauntlet-run\"\n\
                FROM $BASE\nFROM ${BASE}:${TAG:-latest}\nFROM ${REPO}/y${TAG:+-}${TAG}\n";
    assert_eq!(
        names(text),
        [
            (4, "gauntlet-run/x".to_string()),
            (5, "gauntlet-run/x:latest".to_string()),
            (6, "gauntlet-run/y".to_string()),
        ]
    );
    assert_eq!(
        names_with(text, &[("TAG", "v2"), ("BASE", "debian")])[1..],
        [
            (5, "debian:v2".to_string()),
            (6, "gauntlet-run/y-v2".to_string())
        ]
    );
}

#[test]
fn an_arg_default_built_from_an_earlier_arg_is_resolved() {
    let text = "ARG A=gauntlet-run\nARG B=${A}/z\nFROM $B\n";
    assert_eq!(names(text), [(3, "gauntlet-run/z".to_string())]);
}

#[test]
fn names_that_cannot_be_resolved_before_the_build_are_refused() {
    for text in [
        "FROM $UNDECLARED\n",
        "FROM scratch\nARG LATE=x\nFROM $LATE\n",
        "FROM ${BASE\n",
        "ARG B='x' y\nFROM $B\n",
        "FROM gauntlet\\-run/x\n",
        "FROM ${A-b}\n",
        "ARG A=x\nFROM ${A:-$A}\n",
    ] {
        let e = refused(text);
        assert!(!e.message.is_empty(), "{text:?}");
    }
    assert!(refused("ARG A=\"x\"y\"\nFROM $A\n").message.contains("$A"));
}

#[test]
fn copy_from_names_an_image_unless_it_is_an_earlier_stage() {
    let text = "FROM scratch AS a\nFROM scratch\nCOPY --from=a /x /x\nCOPY --from=0 /x /x\n\
                COPY --chown=1 --from=gauntlet-run/o:latest /x /x\ncopy --FROM=operator/checks /c /c\n";
    assert_eq!(
        names(text),
        [
            (5, "gauntlet-run/o:latest".to_string()),
            (6, "operator/checks".to_string())
        ]
    );
}

#[test]
fn a_stage_index_must_be_of_an_earlier_stage() {
    for text in [
        "FROM scratch\nCOPY --from=0 /x /x\n",
        "FROM scratch\nFROM scratch\nCOPY --from=5 /x /x\n",
    ] {
        assert!(
            refused(text).message.contains("earlier build stage"),
            "{text}"
        );
    }
}

#[test]
fn a_from_flag_with_variables_quotes_or_escapes_is_refused() {
    for text in [
        "FROM scratch\nCOPY --from=$X /x /x\n",
        "FROM scratch\nCOPY --from=\"gauntlet-run/x\" /x /x\n",
        "FROM scratch\nCOPY --from=a\\b /x /x\n",
    ] {
        let e = refused(text);
        assert_eq!(e.line, 2, "{text}");
    }
}

#[test]
fn run_mounts_from_an_image_are_images() {
    let text = "FROM scratch AS s\nRUN --mount=type=bind,from=gauntlet-run/x,target=/x \\\n  \
                --mount=type=cache,target=/c,FROM=s [\"/t\"]\n";
    assert_eq!(names(text), [(2, "gauntlet-run/x".to_string())]);
}

#[test]
fn onbuild_triggers_are_read_and_their_sources_are_always_images() {
    let text = "FROM scratch AS a\nONBUILD COPY --from=gauntlet-run/x / /\n\
                onbuild run --mount=from=a [\"/t\"]\nONBUILD COPY --from=0 / /\nFROM a\n";
    assert_eq!(
        names(text),
        [
            (2, "gauntlet-run/x".to_string()),
            (3, "a".to_string()),
            (4, "0".to_string())
        ]
    );
    assert!(refused("FROM scratch\nONBUILD FROM x\n")
        .message
        .contains("ONBUILD"));
}

#[test]
fn continuations_comments_and_the_escape_directive_hide_nothing() {
    let text = "# escape=`\nFROM scratch\nCOPY `\n# comment\n  --from=gauntlet-run/x `\n  / /\n";
    assert_eq!(names(text), [(3, "gauntlet-run/x".to_string())]);
    let text = "FROM scratch\n# COPY --from=gauntlet-run/x / /\nRUN echo \\\n# hidden\nFROM gauntlet-run/y\n";
    // The FROM after the comment continues the RUN: it is no instruction (the engine agrees).
    assert_eq!(names(text), Vec::<(usize, String)>::new());
}
