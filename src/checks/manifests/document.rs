//! Multi-document YAML to typed Kubernetes objects, refusing what `kubectl apply --validate=strict` refuses:
//! a YAML syntax error (with its line), a document without `apiVersion` or `kind`, a kind the grader does not
//! know (or under another `apiVersion`), a field of the wrong type and any unknown field (with its path, as
//! `kubectl` prints it: `spec.template.spec.containers[0].imagePullPolicyy`).
//!
//! The objects are `k8s-openapi`'s types, generated from the Kubernetes API's own OpenAPI document, so a field
//! this file accepts is a field the API server knows. The text is the learner's and untrusted: `serde_norway`
//! bounds recursion and alias expansion (a "billion laughs" document is an error, not a hang), and the source
//! caps its size before it gets here.

use std::fmt;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_norway::Value;

/// One object the grader knows, typed.
#[derive(Debug, Clone)]
pub enum Object {
    Deployment(Box<Deployment>),
    Service(Box<Service>),
    ConfigMap(Box<ConfigMap>),
    Secret(Box<Secret>),
    ServiceAccount(Box<ServiceAccount>),
    Ingress(Box<Ingress>),
    HorizontalPodAutoscaler(Box<HorizontalPodAutoscaler>),
    PodDisruptionBudget(Box<PodDisruptionBudget>),
    NetworkPolicy(Box<NetworkPolicy>),
}

/// The kinds a chart for one web service ships, with the `apiVersion` each is served under today. Anything
/// else is refused as a cluster refuses a kind it does not serve.
const KINDS: [(&str, &str); 9] = [
    ("apps/v1", "Deployment"),
    ("v1", "Service"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "ServiceAccount"),
    ("networking.k8s.io/v1", "Ingress"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
];

impl Object {
    pub fn kind(&self) -> &'static str {
        match self {
            Object::Deployment(_) => "Deployment",
            Object::Service(_) => "Service",
            Object::ConfigMap(_) => "ConfigMap",
            Object::Secret(_) => "Secret",
            Object::ServiceAccount(_) => "ServiceAccount",
            Object::Ingress(_) => "Ingress",
            Object::HorizontalPodAutoscaler(_) => "HorizontalPodAutoscaler",
            Object::PodDisruptionBudget(_) => "PodDisruptionBudget",
            Object::NetworkPolicy(_) => "NetworkPolicy",
        }
    }

    pub fn name(&self) -> &str {
        let meta = match self {
            Object::Deployment(o) => &o.metadata,
            Object::Service(o) => &o.metadata,
            Object::ConfigMap(o) => &o.metadata,
            Object::Secret(o) => &o.metadata,
            Object::ServiceAccount(o) => &o.metadata,
            Object::Ingress(o) => &o.metadata,
            Object::HorizontalPodAutoscaler(o) => &o.metadata,
            Object::PodDisruptionBudget(o) => &o.metadata,
            Object::NetworkPolicy(o) => &o.metadata,
        };
        meta.name.as_deref().unwrap_or("")
    }

    /// `Kind/name`, as findings name objects.
    pub fn reference(&self) -> String {
        format!("{}/{}", self.kind(), self.name())
    }
}

/// One object with the line its document starts at.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub line: usize,
    pub object: Object,
}

/// Every object of a YAML stream, in order.
#[derive(Debug, Clone, Default)]
pub struct Manifests {
    pub objects: Vec<Manifest>,
}

/// Why the text is not a set of valid Kubernetes objects: every document's problem, in order (reading stops
/// at a syntax error, after which nothing can be trusted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    pub problems: Vec<Problem>,
}

/// One document's problem; `line` is where the document starts (or, for syntax errors, where the error is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub kind: ProblemKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    Syntax(String),
    NotAnObject,
    NoApiVersion,
    NoKind,
    UnknownKind {
        api_version: String,
        kind: String,
    },
    UnknownFields {
        object: String,
        paths: Vec<String>,
    },
    Invalid {
        object: String,
        path: String,
        message: String,
    },
    NoObjects,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = self.line;
        match &self.kind {
            ProblemKind::Syntax(m) => write!(f, "YAML syntax error at line {line}: {m}"),
            ProblemKind::NotAnObject => {
                write!(f, "the document at line {line} is not a Kubernetes object (a mapping)")
            }
            ProblemKind::NoApiVersion => {
                write!(f, "the document at line {line} has no `apiVersion`")
            }
            ProblemKind::NoKind => write!(f, "the document at line {line} has no `kind`"),
            ProblemKind::UnknownKind { api_version, kind } => match KINDS
                .iter()
                .find(|(_, k)| k == kind)
            {
                Some((served, _)) => write!(
                    f,
                    "the document at line {line}: {kind} is served as `apiVersion: {served}`, not `{api_version}`"
                ),
                None => write!(
                    f,
                    "the document at line {line}: kind `{kind}` ({api_version}) is not one the grader knows (known: {})",
                    KINDS.map(|(_, k)| k).join(", ")
                ),
            },
            ProblemKind::UnknownFields { object, paths } => write!(
                f,
                "{object} (line {line}): unknown field{} {}",
                if paths.len() == 1 { "" } else { "s" },
                paths
                    .iter()
                    .map(|p| format!("\"{p}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ProblemKind::Invalid {
                object,
                path,
                message,
            } => write!(f, "{object} (line {line}): {path}: {message}"),
            ProblemKind::NoObjects => f.write_str("the manifests hold no Kubernetes object"),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: Vec<String> = self
            .problems
            .iter()
            .take(3)
            .map(|p| p.to_string())
            .collect();
        f.write_str(&shown.join("; "))?;
        match self.problems.len().saturating_sub(3) {
            0 => Ok(()),
            n => write!(f, "; and {n} more"),
        }
    }
}

impl Manifests {
    /// Reads every document of `text`; `Err` with every problem found when any document is not a valid object
    /// of a known kind, or when there is no object at all.
    pub fn parse(text: &str) -> Result<Manifests, ParseError> {
        let starts = document_starts(text);
        let mut objects = Vec::new();
        let mut problems = Vec::new();
        for (i, doc) in serde_norway::Deserializer::from_str(text).enumerate() {
            let line = starts.get(i).copied().unwrap_or(1);
            let value = match Value::deserialize(doc) {
                Ok(v) => v,
                Err(e) => {
                    let at = e.location().map_or(line, |l| l.line());
                    problems.push(Problem {
                        line: at,
                        kind: ProblemKind::Syntax(syntax_message(&e)),
                    });
                    // The reader repeats its error for ever after one: nothing past it can be read.
                    break;
                }
            };
            // An empty document (a comment between two `---`, as Helm renders) is no object.
            if value.is_null() {
                continue;
            }
            match object(value) {
                Ok(object) => objects.push(Manifest { line, object }),
                Err(kind) => problems.push(Problem { line, kind }),
            }
        }
        if problems.is_empty() && objects.is_empty() {
            problems.push(Problem {
                line: 1,
                kind: ProblemKind::NoObjects,
            });
        }
        if problems.is_empty() {
            Ok(Manifests { objects })
        } else {
            Err(ParseError { problems })
        }
    }

    /// The Deployments, in order.
    pub fn deployments(&self) -> impl Iterator<Item = &Deployment> {
        self.objects.iter().filter_map(|m| match &m.object {
            Object::Deployment(d) => Some(d.as_ref()),
            _ => None,
        })
    }

    /// The Services, in order.
    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.objects.iter().filter_map(|m| match &m.object {
            Object::Service(s) => Some(s.as_ref()),
            _ => None,
        })
    }

    /// The ConfigMaps, in order.
    pub fn config_maps(&self) -> impl Iterator<Item = &ConfigMap> {
        self.objects.iter().filter_map(|m| match &m.object {
            Object::ConfigMap(c) => Some(c.as_ref()),
            _ => None,
        })
    }

    /// The Secrets, in order.
    pub fn secrets(&self) -> impl Iterator<Item = &Secret> {
        self.objects.iter().filter_map(|m| match &m.object {
            Object::Secret(s) => Some(s.as_ref()),
            _ => None,
        })
    }
}

/// The YAML error without its position (said separately, as a line).
fn syntax_message(e: &serde_norway::Error) -> String {
    let text = e.to_string();
    match text.find(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// The line each document of the stream starts at, in the order the YAML reader yields them: a document
/// starts at each `---` marker, and at line 1 when content comes before the first marker. Only used to point
/// the learner at a document, so a `---` inside a block scalar may shift a line number, never a verdict.
fn document_starts(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut content_before_marker = false;
    for (n, line) in text.lines().enumerate() {
        let is_marker = line == "---" || line.starts_with("--- ") || line.starts_with("---\t");
        if is_marker {
            starts.push(n + 1);
        } else if starts.is_empty() {
            let t = line.trim();
            if !t.is_empty() && !t.starts_with('#') && !t.starts_with('%') {
                content_before_marker = true;
            }
        }
    }
    if content_before_marker || starts.is_empty() {
        starts.insert(0, 1);
    }
    starts
}

/// One document (a mapping) to a typed object of a known kind.
fn object(value: Value) -> Result<Object, ProblemKind> {
    let Value::Mapping(map) = &value else {
        return Err(ProblemKind::NotAnObject);
    };
    let text_of = |key: &str| map.get(key).and_then(Value::as_str).map(str::to_string);
    let api_version = text_of("apiVersion").ok_or(ProblemKind::NoApiVersion)?;
    let kind = text_of("kind").ok_or(ProblemKind::NoKind)?;
    let name = map
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let reference = format!("{kind}/{name}");
    let typed = |v| -> Result<Object, ProblemKind> {
        Ok(match (api_version.as_str(), kind.as_str()) {
            ("apps/v1", "Deployment") => Object::Deployment(strict(v, &reference)?),
            ("v1", "Service") => Object::Service(strict(v, &reference)?),
            ("v1", "ConfigMap") => Object::ConfigMap(strict(v, &reference)?),
            ("v1", "Secret") => Object::Secret(strict(v, &reference)?),
            ("v1", "ServiceAccount") => Object::ServiceAccount(strict(v, &reference)?),
            ("networking.k8s.io/v1", "Ingress") => Object::Ingress(strict(v, &reference)?),
            ("autoscaling/v2", "HorizontalPodAutoscaler") => {
                Object::HorizontalPodAutoscaler(strict(v, &reference)?)
            }
            ("policy/v1", "PodDisruptionBudget") => {
                Object::PodDisruptionBudget(strict(v, &reference)?)
            }
            ("networking.k8s.io/v1", "NetworkPolicy") => {
                Object::NetworkPolicy(strict(v, &reference)?)
            }
            _ => {
                return Err(ProblemKind::UnknownKind {
                    api_version: api_version.clone(),
                    kind: kind.clone(),
                })
            }
        })
    };
    typed(value)
}

/// Deserializes `value` as `T`, refusing unknown fields (which `k8s-openapi`'s types would skip) with their
/// paths, and naming the path of a field of the wrong type.
fn strict<T: DeserializeOwned>(value: Value, object: &str) -> Result<Box<T>, ProblemKind> {
    let mut unknown = Vec::new();
    let mut track = serde_path_to_error::Track::new();
    let tracked = serde_path_to_error::Deserializer::new(value, &mut track);
    let typed: Result<T, _> =
        serde_ignored::deserialize(tracked, |path| unknown.push(field_path(&path)));
    match typed {
        Err(e) => Err(ProblemKind::Invalid {
            object: object.to_string(),
            path: track.path().to_string(),
            message: e.to_string(),
        }),
        Ok(_) if !unknown.is_empty() => Err(ProblemKind::UnknownFields {
            object: object.to_string(),
            paths: unknown,
        }),
        Ok(t) => Ok(Box::new(t)),
    }
}

/// A path as `kubectl` prints it: `spec.template.spec.containers[0].name`.
fn field_path(path: &serde_ignored::Path) -> String {
    match path {
        serde_ignored::Path::Root => String::new(),
        serde_ignored::Path::Seq { parent, index } => format!("{}[{index}]", field_path(parent)),
        serde_ignored::Path::Map { parent, key } => {
            let parent = field_path(parent);
            if parent.is_empty() {
                key.clone()
            } else {
                format!("{parent}.{key}")
            }
        }
        serde_ignored::Path::Some { parent }
        | serde_ignored::Path::NewtypeStruct { parent }
        | serde_ignored::Path::NewtypeVariant { parent } => field_path(parent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: notes\nspec:\n  selector:\n    matchLabels: {app: notes}\n  template:\n    metadata:\n      labels: {app: notes}\n    spec:\n      containers:\n        - name: notes\n          image: notes:1.0.0\n";

    fn problems(text: &str) -> Vec<Problem> {
        Manifests::parse(text).expect_err("refused").problems
    }

    #[test]
    fn reads_every_document_into_its_kind() {
        let text = format!("{DEPLOYMENT}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cfg}}\ndata: {{PORT: \"8080\"}}\n");
        let m = Manifests::parse(&text).expect("valid");
        let refs: Vec<(String, usize)> = m
            .objects
            .iter()
            .map(|o| (o.object.reference(), o.line))
            .collect();
        assert_eq!(
            refs,
            [
                ("Deployment/notes".to_string(), 1),
                ("ConfigMap/cfg".to_string(), 15)
            ]
        );
    }

    #[test]
    fn a_helm_rendered_file_with_comments_and_separators_is_read() {
        let text = format!(
            "---\n# Source: notes/templates/configmap.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\n---\n# Source: notes/templates/empty.yaml\n---\n# Source: notes/templates/deployment.yaml\n{DEPLOYMENT}"
        );
        let m = Manifests::parse(&text).expect("valid");
        assert_eq!(m.objects.len(), 2);
        assert_eq!(m.objects[0].line, 1);
        assert_eq!(m.objects[1].line, 9);
    }

    #[test]
    fn an_unknown_field_is_refused_with_its_path() {
        let text = DEPLOYMENT.replace(
            "image: notes:1.0.0",
            "image: notes:1.0.0\n          imagePullPolicyy: Always",
        );
        let p = problems(&text);
        assert_eq!(
            p[0].kind,
            ProblemKind::UnknownFields {
                object: "Deployment/notes".into(),
                paths: vec!["spec.template.spec.containers[0].imagePullPolicyy".into()]
            }
        );
        assert!(p[0]
            .to_string()
            .contains("unknown field \"spec.template.spec.containers[0].imagePullPolicyy\""));
    }

    #[test]
    fn a_field_of_the_wrong_type_is_named() {
        let text = DEPLOYMENT.replace("spec:\n  selector", "spec:\n  replicas: two\n  selector");
        let p = problems(&text);
        assert!(
            matches!(&p[0].kind, ProblemKind::Invalid { path, .. } if path == "spec.replicas"),
            "{p:?}"
        );
    }

    #[test]
    fn a_syntax_error_names_its_line() {
        let text = format!("{DEPLOYMENT}---\napiVersion: v1\nkind: ConfigMap\ndata: [\n");
        let p = problems(&text);
        assert!(matches!(p[0].kind, ProblemKind::Syntax(_)), "{p:?}");
        assert_eq!(p[0].line, 19);
        assert!(p[0].to_string().starts_with("YAML syntax error at line 19"));
    }

    #[test]
    fn missing_api_version_or_kind_and_unknown_kinds_are_refused() {
        let no_version = problems("kind: ConfigMap\nmetadata: {name: a}\n");
        assert_eq!(no_version[0].kind, ProblemKind::NoApiVersion);
        let no_kind = problems("apiVersion: v1\nmetadata: {name: a}\n");
        assert_eq!(no_kind[0].kind, ProblemKind::NoKind);
        let unknown = problems("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n");
        assert!(unknown[0].to_string().contains("kind `Pod`"), "{unknown:?}");
        let old = problems(&DEPLOYMENT.replace("apps/v1", "extensions/v1beta1"));
        assert!(
            old[0]
                .to_string()
                .contains("served as `apiVersion: apps/v1`"),
            "{old:?}"
        );
    }

    #[test]
    fn nothing_but_comments_is_no_manifests() {
        assert_eq!(problems("# nothing\n---\n")[0].kind, ProblemKind::NoObjects);
    }

    #[test]
    fn a_billion_laughs_document_is_an_error_not_a_hang() {
        let mut text = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nx0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..10 {
            let prev = i - 1;
            text.push_str(&format!(
                "x{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let p = problems(&text);
        assert!(matches!(p[0].kind, ProblemKind::Syntax(_)), "{p:?}");
    }
}
