//! One violation of a rule, worded as kube-linter words them: the object, the field path and what is wrong.

use std::fmt;

/// One place in the manifests that breaks a rule. Shown to the learner: it names only their own text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `Kind/name` of the object, e.g. `Deployment/notes`; `manifests` when the problem is that an object is
    /// missing.
    pub object: String,
    /// The field path inside the object (`spec.template.spec.containers[notes].image`); empty for the object
    /// as a whole.
    pub path: String,
    /// What is wrong, e.g. "is 1; at least 2 are required".
    pub problem: String,
}

impl Finding {
    pub fn new(object: &str, path: impl Into<String>, problem: impl Into<String>) -> Finding {
        Finding {
            object: object.to_string(),
            path: path.into(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.object, self.problem)
        } else {
            write!(f, "{}: {} {}", self.object, self.path, self.problem)
        }
    }
}
