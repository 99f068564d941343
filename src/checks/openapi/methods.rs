//! Methods the document does not give for a path, sent to it: the service must refuse each with `405 Method
//! Not Allowed` and an `Allow` header naming exactly the methods the document gives for that path (RFC 9110
//! §15.5.6). A method served but left out of the document, or a document that lists a method the service
//! does not serve, shows here even when the lab does not `require` every operation (schemathesis's
//! `unsupported_method` and its Allow comparison).

use std::collections::BTreeSet;

use super::document::Document;
use super::operation::Template;
use crate::checks::http::{Expect, Step};

/// The methods tried on each path: those an API's routes are made of. HEAD and OPTIONS are left out: servers
/// answer them for any route they serve, documented or not.
const TRIED: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// A request with a method the document does not give for its path.
#[derive(Debug, Clone)]
pub struct Unsupported {
    /// The path template, as messages name it.
    pub template: String,
    /// The methods the document gives for it, upper-case, sorted.
    pub documented: Vec<String>,
    pub step: Step,
}

/// One request per method of [`TRIED`] the document does not give for each of `paths` (a template and the
/// request path filled from it), with `headers` (the check's credentials), in a fixed order. Templates of the
/// same shape are one route, whatever their parameters are called (`/notes/{id}`, `/notes/{noteId}`).
pub fn requests(
    doc: &Document,
    paths: &[(String, String)],
    headers: &[(String, String)],
) -> Vec<Unsupported> {
    let mut out = Vec::new();
    let mut seen: Vec<Template> = Vec::new();
    for (template, path) in paths {
        let shape = Template::parse(template);
        if seen.iter().any(|s| s.same_shape(&shape)) {
            continue;
        }
        let documented = documented(doc, &shape);
        seen.push(shape);
        for method in TRIED.iter().filter(|m| !documented.iter().any(|d| d == *m)) {
            out.push(Unsupported {
                template: template.clone(),
                documented: documented.clone(),
                step: Step {
                    method: (*method).to_string(),
                    path: path.clone(),
                    headers: headers.to_vec(),
                    body: None,
                    expect: Expect::default(),
                    capture: Vec::new(),
                    restart: None,
                    burst: None,
                },
            });
        }
    }
    out
}

/// The methods the document gives for the route of `template`, upper-case and sorted: every path item of the
/// same shape counts, since a document may write one route's parameter under two names.
fn documented(doc: &Document, template: &Template) -> Vec<String> {
    let set: BTreeSet<String> = doc
        .operations
        .iter()
        .filter(|o| o.template.same_shape(template))
        .map(|o| o.method.to_ascii_uppercase())
        .filter(|m| m != "HEAD" && m != "OPTIONS")
        .collect();
    set.into_iter().collect()
}

/// Every `Allow` field of an answer as one list, or `None` when there is none: RFC 9110 §5.3 lets a list
/// field be sent as several lines, which mean the same as one line joining them with commas.
pub fn allow(headers: &[(String, String)]) -> Option<String> {
    let lines: Vec<&str> = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("allow"))
        .map(|(_, v)| v.as_str())
        .collect();
    (!lines.is_empty()).then(|| lines.join(", "))
}

/// `Ok` with a transcript line, or (learner sentence, detail): the answer to `method` on the path `template`
/// must be 405 with an `Allow` of exactly the `documented` methods (HEAD and OPTIONS aside).
pub fn judge(
    template: &str,
    documented: &[String],
    method: &str,
    status: u16,
    allow: Option<&str>,
) -> Result<String, (String, String)> {
    let what = format!(
        "{method} {}, a method the document does not give for that path",
        template
    );
    if status != 405 {
        let got = match status {
            200..=299 => format!("was served ({status})"),
            500.. => format!("got a server error ({status})"),
            _ => format!("got {status}"),
        };
        return Err((
            format!("{what}, {got} instead of 405"),
            format!(
                "{what}: got {status}, want 405 with Allow: {}",
                documented.join(", ")
            ),
        ));
    }
    let Some(allow) = allow else {
        return Err((
            format!("{what} got 405 without an Allow header"),
            format!(
                "{what}: 405 without Allow; the document gives {}",
                documented.join(", ")
            ),
        ));
    };
    let allowed: BTreeSet<String> = allow
        .split(',')
        .map(|m| m.trim().to_ascii_uppercase())
        .filter(|m| !m.is_empty() && m != "HEAD" && m != "OPTIONS")
        .collect();
    let listed = documented.join(", ");
    let documented: BTreeSet<String> = documented.iter().cloned().collect();
    if allowed == documented {
        return Ok(format!("{what} → 405, Allow: {allow} (as documented)"));
    }
    let list = |s: Vec<&String>| {
        if s.is_empty() {
            "none".to_string()
        } else {
            s.into_iter().cloned().collect::<Vec<_>>().join(", ")
        }
    };
    let served = list(allowed.difference(&documented).collect());
    let missing = list(documented.difference(&allowed).collect());
    Err((
        format!(
            "the Allow header of a 405 on {} does not match the methods the document gives for the path \
             (served but undocumented: {served}; documented but not allowed: {missing})",
            template
        ),
        format!(
            "{what}: 405 with Allow: {allow}; the document gives {listed}"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn documented(methods: &[&str]) -> Vec<String> {
        methods.iter().map(|m| m.to_string()).collect()
    }

    #[test]
    fn a_405_whose_allow_names_the_documented_methods_passes_in_any_case_and_order() {
        let r = documented(&["DELETE", "GET", "PUT"]);
        assert!(judge(
            "/notes/{id}",
            &r,
            "PATCH",
            405,
            Some("put, GET,DELETE, HEAD, OPTIONS")
        )
        .is_ok());
    }

    #[test]
    fn an_undocumented_method_that_is_served_fails() {
        let r = documented(&["GET", "PUT"]);
        let (learner, detail) = judge("/notes/{id}", &r, "DELETE", 204, None).unwrap_err();
        assert!(learner.contains("DELETE /notes/{id}"), "{learner}");
        assert!(
            learner.contains("was served (204) instead of 405"),
            "{learner}"
        );
        assert!(detail.contains("want 405 with Allow: GET, PUT"), "{detail}");
    }

    #[test]
    fn an_allow_that_differs_from_the_document_fails_and_says_how() {
        let r = documented(&["GET", "PUT"]);
        let (learner, _) =
            judge("/notes/{id}", &r, "PATCH", 405, Some("GET, PUT, DELETE")).unwrap_err();
        assert!(
            learner.contains("served but undocumented: DELETE; documented but not allowed: none"),
            "{learner}"
        );
        let (learner, _) = judge("/notes/{id}", &r, "PATCH", 405, Some("GET")).unwrap_err();
        assert!(
            learner.contains("documented but not allowed: PUT"),
            "{learner}"
        );
    }

    #[test]
    fn several_allow_lines_are_one_list() {
        let headers = |lines: &[&str]| -> Vec<(String, String)> {
            lines
                .iter()
                .map(|l| ("allow".to_string(), l.to_string()))
                .chain([("content-type".to_string(), "text/plain".to_string())])
                .collect()
        };
        let merged = allow(&headers(&["GET", "PUT", "DELETE"])).expect("an Allow");
        let r = documented(&["DELETE", "GET", "PUT"]);
        assert!(judge("/notes/{id}", &r, "PATCH", 405, Some(&merged)).is_ok());
        // Reading only the first line would see GET alone: the other lines count.
        let merged = allow(&headers(&["GET", "PUT, DELETE"])).expect("an Allow");
        assert_eq!(merged, "GET, PUT, DELETE");
        assert_eq!(allow(&headers(&[])), None);
    }

    #[test]
    fn templates_are_one_route_whatever_their_parameters_are_called() {
        use crate::checks::openapi::document::Version;
        let doc = Document::new(
            serde_json::json!({"openapi": "3.1.0", "paths": {
                "/notes/{id}": {"get": {"responses": {}}},
                "/notes/{noteId}": {"put": {"responses": {}}, "delete": {"responses": {}}},
                "/notes": {"get": {"responses": {}}}
            }}),
            Version::V31,
        );
        let paths = [
            ("/notes/{id}".to_string(), "/notes/n1".to_string()),
            ("/notes/{noteId}".to_string(), "/notes/n1".to_string()),
        ];
        let sent = requests(&doc, &paths, &[]);
        let methods: Vec<&str> = sent.iter().map(|u| u.step.method.as_str()).collect();
        // One route: only the methods no spelling of it documents, once.
        assert_eq!(methods, ["POST", "PATCH"]);
        assert!(sent
            .iter()
            .all(|u| u.documented == ["DELETE", "GET", "PUT"]));
    }

    #[test]
    fn a_405_without_allow_and_a_404_fail() {
        let r = documented(&["GET"]);
        assert!(judge("/notes/{id}", &r, "PUT", 405, None)
            .unwrap_err()
            .0
            .contains("without an Allow"));
        assert!(judge("/notes/{id}", &r, "PUT", 404, None)
            .unwrap_err()
            .0
            .contains("got 404 instead of 405"));
        assert!(judge("/notes/{id}", &r, "PUT", 500, None)
            .unwrap_err()
            .0
            .contains("server error (500)"));
    }
}
