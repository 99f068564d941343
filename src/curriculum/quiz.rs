//! A module's graded quiz: `quiz.toml` beside its `module.md`, the self-check turned into questions the server
//! grades. The answers live in this type and nowhere a page can reach: the form is drawn from
//! [`Quiz::questions_for_form`], which carries no answer, so a page cannot leak one by accident.
//!
//! ```toml
//! [[questions]]
//! id = "status-family"          # unique in the quiz: lowercase letters, digits and `-`
//! kind = "single"               # single | multiple | short
//! prompt = "Which status family …?"
//! choices = [
//!   { text = "2xx", correct = false },
//!   { text = "4xx", correct = true },
//! ]
//! explanation = "Shown after submission, whatever the answer."
//!
//! [[questions]]
//! id = "budget"
//! kind = "short"
//! prompt = "How many minutes …?"
//! answers = ["43", "43 minutes"]  # compared trimmed, case-insensitively, with runs of spaces as one
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::markdown;
use crate::diagnostics::Diagnostic;

/// The questions of one module, in the authored order.
#[derive(Debug, Clone)]
pub struct Quiz {
    pub questions: Vec<Question>,
    /// The `quiz.toml` it was read from.
    pub path: PathBuf,
}

/// One question with its answer.
#[derive(Debug, Clone)]
pub struct Question {
    pub id: String,
    /// Sanitized inline HTML from the prompt's markdown.
    pub prompt_html: String,
    pub kind: QuestionKind,
    /// Sanitized HTML shown with the result, after submission.
    pub explanation_html: Option<String>,
}

/// What kind of answer a question takes, with the answer.
#[derive(Debug, Clone)]
pub enum QuestionKind {
    /// Exactly one choice is correct; the learner picks one.
    Single(Vec<Choice>),
    /// One or more choices are correct; the learner must pick exactly those.
    Multiple(Vec<Choice>),
    /// A typed answer, right when it equals one of these (as authored, trimmed) after [`normalize`].
    Short(Vec<String>),
}

/// One choice of a single- or multiple-choice question.
#[derive(Debug, Clone)]
pub struct Choice {
    /// Sanitized inline HTML from the choice's markdown.
    pub html: String,
    pub correct: bool,
}

/// A question as the form shows it before submission: prompt and choices, never which choice is right. The
/// type has no field that could hold an answer.
#[derive(Debug, Clone)]
pub struct FormQuestion {
    pub id: String,
    pub number: usize,
    pub prompt_html: String,
    /// The input type: `radio`, `checkbox` or `text`.
    pub input: &'static str,
    /// (value sent, choice HTML); empty for a typed answer.
    pub choices: Vec<(usize, String)>,
}

impl Quiz {
    /// The questions as the form shows them, without answers.
    pub fn questions_for_form(&self) -> Vec<FormQuestion> {
        let choices = |c: &[Choice]| -> Vec<(usize, String)> {
            c.iter()
                .enumerate()
                .map(|(i, c)| (i, c.html.clone()))
                .collect()
        };
        self.questions
            .iter()
            .enumerate()
            .map(|(i, q)| FormQuestion {
                id: q.id.clone(),
                number: i + 1,
                prompt_html: q.prompt_html.clone(),
                input: match &q.kind {
                    QuestionKind::Single(_) => "radio",
                    QuestionKind::Multiple(_) => "checkbox",
                    QuestionKind::Short(_) => "text",
                },
                choices: match &q.kind {
                    QuestionKind::Single(c) | QuestionKind::Multiple(c) => choices(c),
                    QuestionKind::Short(_) => Vec::new(),
                },
            })
            .collect()
    }
}

/// A short answer as it is compared: trimmed, lowercased, with every run of whitespace as one space.
pub fn normalize(answer: &str) -> String {
    answer
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuiz {
    #[serde(default)]
    questions: Vec<RawQuestion>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestion {
    id: Spanned<String>,
    kind: Spanned<String>,
    prompt: Spanned<String>,
    #[serde(default)]
    choices: Option<Spanned<Vec<RawChoice>>>,
    #[serde(default)]
    answers: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    explanation: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChoice {
    text: Spanned<String>,
    #[serde(default)]
    correct: bool,
}

/// Parses one `quiz.toml`, adding every problem to `problems` with its line; `None` when the file is unusable.
pub fn parse(path: &Path, text: &str, problems: &mut Vec<Diagnostic>) -> Option<Quiz> {
    let raw: RawQuiz = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let offset = e.span().map_or(0, |s| s.start);
            problems.push(Diagnostic::at_offset(path, text, offset, e.message()));
            return None;
        }
    };
    let before = problems.len();
    if raw.questions.is_empty() {
        problems.push(Diagnostic::new(
            path,
            Some(1),
            "the quiz has no [[questions]] (delete quiz.toml if the module has no quiz)",
        ));
    }
    let at = |offset: usize, msg: String| Diagnostic::at_offset(path, text, offset, msg);
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut questions = Vec::new();
    for q in raw.questions {
        let id_at = q.id.span().start;
        let id = q.id.get_ref().trim().to_string();
        if !valid_id(&id) {
            problems.push(at(
                id_at,
                format!("question id `{id}` must be lowercase letters, digits and `-`"),
            ));
        } else if let Some(first) = seen.get(&id) {
            problems.push(at(
                id_at,
                format!("question id `{id}` is used twice (first on line {first})"),
            ));
        } else {
            seen.insert(id.clone(), crate::diagnostics::line_of(text, id_at));
        }
        if q.prompt.get_ref().trim().is_empty() {
            problems.push(at(q.prompt.span().start, "the prompt is empty".into()));
        }
        let kind = match q.kind.get_ref().as_str() {
            "single" | "multiple" => {
                if let Some(a) = &q.answers {
                    problems.push(at(
                        a.span().start,
                        format!(
                            "a {} question takes `choices`, not `answers`",
                            q.kind.get_ref()
                        ),
                    ));
                }
                choices(&q, text, path, problems).map(|c| {
                    if q.kind.get_ref() == "single" {
                        QuestionKind::Single(c)
                    } else {
                        QuestionKind::Multiple(c)
                    }
                })
            }
            "short" => {
                if let Some(c) = &q.choices {
                    problems.push(at(
                        c.span().start,
                        "a short question takes `answers`, not `choices`".into(),
                    ));
                }
                short_answers(&q, text, path, problems).map(QuestionKind::Short)
            }
            other => {
                problems.push(at(
                    q.kind.span().start,
                    format!("unknown kind `{other}` (expected single, multiple or short)"),
                ));
                None
            }
        };
        if let Some(kind) = kind {
            questions.push(Question {
                id,
                prompt_html: inline(q.prompt.get_ref()),
                kind,
                explanation_html: q
                    .explanation
                    .as_deref()
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .map(|e| markdown::render(e).html),
            });
        }
    }
    (problems.len() == before).then(|| Quiz {
        questions,
        path: path.to_path_buf(),
    })
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The choices of a single- or multiple-choice question, checked: at least two, none empty or repeated, and
/// exactly one (single) or at least one (multiple) correct.
fn choices(
    q: &RawQuestion,
    text: &str,
    path: &Path,
    problems: &mut Vec<Diagnostic>,
) -> Option<Vec<Choice>> {
    let at = |offset: usize, msg: String| Diagnostic::at_offset(path, text, offset, msg);
    let kind = q.kind.get_ref();
    let Some(raw) = &q.choices else {
        problems.push(at(
            q.kind.span().start,
            format!("a {kind} question needs `choices`"),
        ));
        return None;
    };
    let before = problems.len();
    if raw.get_ref().len() < 2 {
        problems.push(at(
            raw.span().start,
            format!(
                "a {kind} question needs at least two choices, found {}",
                raw.get_ref().len()
            ),
        ));
    }
    let mut texts: Vec<String> = Vec::new();
    for c in raw.get_ref() {
        let t = c.text.get_ref().trim();
        if t.is_empty() {
            problems.push(at(c.text.span().start, "a choice's text is empty".into()));
        } else if texts.iter().any(|s| s == t) {
            problems.push(at(
                c.text.span().start,
                format!("the choice `{t}` is listed twice"),
            ));
        }
        texts.push(t.to_string());
    }
    let correct = raw.get_ref().iter().filter(|c| c.correct).count();
    match (kind.as_str(), correct) {
        ("single", 1) => {}
        ("single", n) => problems.push(at(
            raw.span().start,
            format!("a single-choice question needs exactly one correct choice, found {n}"),
        )),
        (_, 0) => problems.push(at(
            raw.span().start,
            "a multiple-choice question needs at least one correct choice, found 0".into(),
        )),
        _ => {}
    }
    (problems.len() == before).then(|| {
        raw.get_ref()
            .iter()
            .map(|c| Choice {
                html: inline(c.text.get_ref()),
                correct: c.correct,
            })
            .collect()
    })
}

/// The accepted answers of a short question: at least one, none empty.
fn short_answers(
    q: &RawQuestion,
    text: &str,
    path: &Path,
    problems: &mut Vec<Diagnostic>,
) -> Option<Vec<String>> {
    let at = |offset: usize, msg: String| Diagnostic::at_offset(path, text, offset, msg);
    let Some(raw) = &q.answers else {
        problems.push(at(
            q.kind.span().start,
            "a short question needs `answers`, the accepted answers".into(),
        ));
        return None;
    };
    if raw.get_ref().is_empty() {
        problems.push(at(
            raw.span().start,
            "a short question needs at least one accepted answer".into(),
        ));
        return None;
    }
    let before = problems.len();
    let mut accepted = Vec::new();
    for a in raw.get_ref() {
        if normalize(a.get_ref()).is_empty() {
            problems.push(at(a.span().start, "an accepted answer is empty".into()));
        }
        accepted.push(a.get_ref().trim().to_string());
    }
    (problems.len() == before).then_some(accepted)
}

/// Markdown for a line of text (a prompt, a choice): rendered and sanitized, without the paragraph around it
/// so that it fits in a label.
fn inline(md: &str) -> String {
    let html = markdown::render(md.trim()).html;
    let trimmed = html.trim();
    match trimmed
        .strip_prefix("<p>")
        .and_then(|s| s.strip_suffix("</p>"))
    {
        Some(inner) if !inner.contains("<p>") => inner.to_string(),
        _ => html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Quiz, Vec<Diagnostic>> {
        let mut problems = Vec::new();
        match parse(Path::new("week-01/quiz.toml"), text, &mut problems) {
            Some(q) if problems.is_empty() => Ok(q),
            _ => Err(problems),
        }
    }

    const VALID: &str = r#"
[[questions]]
id = "family"
kind = "single"
prompt = "Which family for `{\"title\": `?"
choices = [
  { text = "2xx" },
  { text = "4xx", correct = true },
]
explanation = "The request is malformed."

[[questions]]
id = "retryable"
kind = "multiple"
prompt = "Which are worth retrying?"
choices = [
  { text = "503", correct = true },
  { text = "429", correct = true },
  { text = "400" },
]

[[questions]]
id = "budget"
kind = "short"
prompt = "Minutes?"
answers = ["43", " 43  Minutes "]
"#;

    #[test]
    fn a_valid_quiz_parses_with_inline_markdown_and_trimmed_answers() {
        let quiz = parse_str(VALID).expect("valid");
        assert_eq!(quiz.questions.len(), 3);
        assert_eq!(
            quiz.questions[0].prompt_html,
            "Which family for <code>{\"title\": </code>?"
        );
        match &quiz.questions[2].kind {
            QuestionKind::Short(a) => assert_eq!(a, &["43", "43  Minutes"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_form_view_carries_no_answer() {
        let quiz = parse_str(VALID).expect("valid");
        let form = format!("{:?}", quiz.questions_for_form());
        assert!(!form.contains("correct") && !form.contains("43") && !form.contains("malformed"));
    }

    fn problem_lines(text: &str) -> Vec<(Option<usize>, String)> {
        parse_str(text)
            .expect_err("invalid")
            .into_iter()
            .map(|d| (d.line, d.message))
            .collect()
    }

    #[test]
    fn duplicate_ids_are_pinned_to_the_second_one() {
        let text = "[[questions]]\nid = \"a\"\nkind = \"short\"\nprompt = \"p\"\nanswers = [\"x\"]\n\
                    [[questions]]\nid = \"a\"\nkind = \"short\"\nprompt = \"q\"\nanswers = [\"y\"]\n";
        let p = problem_lines(text);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].0, Some(7));
        assert!(p[0].1.contains("used twice (first on line 2)"), "{p:?}");
    }

    #[test]
    fn a_single_choice_needs_exactly_one_correct_answer() {
        for (correct, found) in [("false, false", "found 0"), ("true, true", "found 2")] {
            let (a, b) = correct.split_once(", ").unwrap();
            let text = format!(
                "[[questions]]\nid = \"a\"\nkind = \"single\"\nprompt = \"p\"\nchoices = [\n  {{ text = \"x\", correct = {a} }},\n  {{ text = \"y\", correct = {b} }},\n]\n"
            );
            let p = problem_lines(&text);
            assert_eq!(p.len(), 1, "{p:?}");
            assert_eq!(p[0].0, Some(5));
            assert!(p[0].1.contains(found), "{p:?}");
        }
    }

    #[test]
    fn unknown_fields_kinds_and_empty_choices_are_refused_with_lines() {
        let p = problem_lines(
            "[[questions]]\nid = \"a\"\nkind = \"short\"\nprompt = \"p\"\nanswer = [\"x\"]\n",
        );
        assert_eq!(p[0].0, Some(5), "{p:?}");
        assert!(p[0].1.contains("unknown field `answer`"), "{p:?}");
        let p = problem_lines("[[questions]]\nid = \"a\"\nkind = \"essay\"\nprompt = \"p\"\n");
        assert_eq!(
            p,
            vec![(
                Some(3),
                "unknown kind `essay` (expected single, multiple or short)".to_string()
            )]
        );
        let p = problem_lines(
            "[[questions]]\nid = \"a\"\nkind = \"multiple\"\nprompt = \"p\"\nchoices = [\n  { text = \" \", correct = true },\n  { text = \"b\" },\n]\n",
        );
        assert_eq!(p, vec![(Some(6), "a choice's text is empty".to_string())]);
        let p = problem_lines(
            "[[questions]]\nid = \"a\"\nkind = \"multiple\"\nprompt = \"p\"\nchoices = []\n",
        );
        assert!(
            p.iter()
                .any(|(l, m)| *l == Some(5) && m.contains("at least two")),
            "{p:?}"
        );
        let p = problem_lines(
            "[[questions]]\nid = \"A b\"\nkind = \"short\"\nprompt = \"p\"\nanswers = [\"\"]\n",
        );
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!((p[0].0, p[1].0), (Some(2), Some(5)));
    }

    #[test]
    fn short_answers_compare_trimmed_case_insensitively_with_spaces_collapsed() {
        assert_eq!(normalize("  0.0.0.0 "), "0.0.0.0");
        assert_eq!(normalize("Forty\t Three\n"), "forty three");
    }
}
