//! Grading a module's quiz on the server: what a learner sent, read from the form, against the answers in
//! `curriculum::Quiz`. A question scores 1 or 0: a single choice is right when the one correct choice is picked;
//! a multiple choice when exactly the correct choices are picked (no partial credit, so ticking every box never
//! pays); a short answer when it equals an accepted answer after `quiz::normalize`. The quiz's score is the
//! share of questions right.

use std::collections::BTreeMap;

use crate::curriculum::quiz::{normalize, Question, QuestionKind, Quiz};

/// What a learner sent: for each question id, the values of its inputs (choice numbers, or the typed text).
pub type Responses = BTreeMap<String, Vec<String>>;

/// The form field of a question: `q-<id>`, so the CSRF token and any other field cannot be taken for one.
pub const FIELD_PREFIX: &str = "q-";

/// Reads the responses out of a form's fields, keeping only the quiz's own questions and at most a bounded
/// amount of text, so a forged form cannot make the stored attempt large.
pub fn responses_from_form<'a>(
    quiz: &Quiz,
    fields: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Responses {
    const MAX_VALUES: usize = 32;
    const MAX_CHARS: usize = 200;
    let mut out = Responses::new();
    for (name, value) in fields {
        let Some(id) = name.strip_prefix(FIELD_PREFIX) else {
            continue;
        };
        if !quiz.questions.iter().any(|q| q.id == id) {
            continue;
        }
        let values = out.entry(id.to_string()).or_default();
        if values.len() < MAX_VALUES {
            values.push(value.chars().take(MAX_CHARS).collect());
        }
    }
    out
}

/// One question's outcome, shown after submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marked {
    pub right: bool,
}

/// A graded attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Graded {
    /// In the quiz's order.
    pub marks: Vec<Marked>,
    pub correct: usize,
    pub total: usize,
    /// `correct / total`, 0 to 1.
    pub score: f64,
}

/// Grades the responses against the quiz.
pub fn grade(quiz: &Quiz, responses: &Responses) -> Graded {
    let empty = Vec::new();
    let marks: Vec<Marked> = quiz
        .questions
        .iter()
        .map(|q| Marked {
            right: is_right(q, responses.get(&q.id).unwrap_or(&empty)),
        })
        .collect();
    let correct = marks.iter().filter(|m| m.right).count();
    let total = marks.len();
    Graded {
        marks,
        correct,
        total,
        score: if total == 0 {
            0.0
        } else {
            correct as f64 / total as f64
        },
    }
}

fn is_right(q: &Question, given: &[String]) -> bool {
    match &q.kind {
        QuestionKind::Single(choices) | QuestionKind::Multiple(choices) => {
            let mut picked: Vec<usize> = given
                .iter()
                .filter_map(|v| v.trim().parse::<usize>().ok())
                .collect();
            picked.sort_unstable();
            picked.dedup();
            let expected: Vec<usize> = choices
                .iter()
                .enumerate()
                .filter(|(_, c)| c.correct)
                .map(|(i, _)| i)
                .collect();
            picked.len() == given.len() && picked == expected
        }
        QuestionKind::Short(accepted) => match given {
            [one] => {
                let one = normalize(one);
                accepted.iter().any(|a| normalize(a) == one)
            }
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::Diagnostic;
    use std::path::Path;

    fn quiz() -> Quiz {
        let text = r#"
[[questions]]
id = "one"
kind = "single"
prompt = "p"
choices = [{ text = "a" }, { text = "b", correct = true }]

[[questions]]
id = "many"
kind = "multiple"
prompt = "p"
choices = [{ text = "a", correct = true }, { text = "b" }, { text = "c", correct = true }]

[[questions]]
id = "typed"
kind = "short"
prompt = "p"
answers = ["0.0.0.0", "all interfaces"]
"#;
        let mut problems: Vec<Diagnostic> = Vec::new();
        let q = crate::curriculum::quiz::parse(Path::new("quiz.toml"), text, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        q.expect("valid")
    }

    fn form(pairs: &[(&str, &str)]) -> Responses {
        responses_from_form(&quiz(), pairs.iter().copied())
    }

    #[test]
    fn all_right_scores_one() {
        let r = form(&[
            ("q-one", "1"),
            ("q-many", "2"),
            ("q-many", "0"),
            ("q-typed", "  All   Interfaces "),
        ]);
        let g = grade(&quiz(), &r);
        assert_eq!((g.correct, g.total, g.score), (3, 3, 1.0));
    }

    #[test]
    fn multiple_choice_needs_exactly_the_correct_set() {
        let cases: [&[&str]; 4] = [&["0"], &["0", "1", "2"], &["0", "2", "2"], &[]];
        for picked in cases {
            let pairs: Vec<(&str, &str)> = picked.iter().map(|v| ("q-many", *v)).collect();
            let g = grade(&quiz(), &form(&pairs));
            assert!(!g.marks[1].right, "{picked:?}");
        }
    }

    #[test]
    fn a_single_choice_with_two_picks_or_garbage_is_wrong() {
        let g = grade(&quiz(), &form(&[("q-one", "1"), ("q-one", "0")]));
        assert!(!g.marks[0].right);
        let g = grade(&quiz(), &form(&[("q-one", "b")]));
        assert!(!g.marks[0].right);
    }

    #[test]
    fn unanswered_questions_score_zero_and_foreign_fields_are_dropped() {
        let r = form(&[("csrf_token", "x"), ("q-nope", "1"), ("q-typed", "0.0.0.0")]);
        assert_eq!(r.keys().collect::<Vec<_>>(), vec!["typed"]);
        let g = grade(&quiz(), &r);
        assert_eq!((g.correct, g.total), (1, 3));
        assert!((g.score - 1.0 / 3.0).abs() < 1e-9);
    }
}
