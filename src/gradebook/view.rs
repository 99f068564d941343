//! What part of the gradebook to show and in which order, parsed once from the query string
//! (`?sort=lab:w02-crud&dir=desc&lab=w02-crud&state=failed&inactive=7`). Unknown values fall back to the
//! defaults rather than failing, so a stale bookmark still opens the page. The same view serves the full page,
//! the htmx table and the matrix exports, so what is downloaded is what is on screen.

use std::cmp::Ordering;

use super::{CellState, Gradebook, LearnerRow};

/// The query string as sent.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ViewQuery {
    pub sort: Option<String>,
    pub dir: Option<String>,
    pub lab: Option<String>,
    pub state: Option<String>,
    pub inactive: Option<String>,
}

/// The column to sort by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    Name,
    LastActivity,
    /// A lab's best score (then its state).
    Lab(String),
    /// A pillar's average.
    Pillar(String),
}

/// A state to filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateFilter {
    Passed,
    Failed,
    NotAttempted,
    AtRisk,
}

impl StateFilter {
    pub const ALL: [StateFilter; 4] = [
        StateFilter::Passed,
        StateFilter::Failed,
        StateFilter::NotAttempted,
        StateFilter::AtRisk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StateFilter::Passed => "passed",
            StateFilter::Failed => "failed",
            StateFilter::NotAttempted => "not-attempted",
            StateFilter::AtRisk => "at-risk",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StateFilter::Passed => "passed",
            StateFilter::Failed => "failed",
            StateFilter::NotAttempted => "not attempted",
            StateFilter::AtRisk => "at risk",
        }
    }

    fn parse(s: &str) -> Option<StateFilter> {
        StateFilter::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// A parsed view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub sort: SortKey,
    pub descending: bool,
    /// Only this lab's column (and the state filter applies to it).
    pub lab: Option<String>,
    pub state: Option<StateFilter>,
    /// Only learners with no activity in this many days.
    pub inactive_days: Option<u32>,
}

impl Default for View {
    fn default() -> Self {
        View {
            sort: SortKey::Name,
            descending: false,
            lab: None,
            state: None,
            inactive_days: None,
        }
    }
}

impl View {
    /// Parses the query against the gradebook's labs and pillars; what does not name one is dropped.
    pub fn parse(q: &ViewQuery, book: &Gradebook) -> View {
        let is_lab = |id: &str| book.labs.iter().any(|l| l.id == id);
        let is_pillar = |id: &str| book.pillars.iter().any(|(p, _)| p == id);
        let sort = match q.sort.as_deref().unwrap_or("name") {
            "last" => SortKey::LastActivity,
            s => match s.split_once(':') {
                Some(("lab", id)) if is_lab(id) => SortKey::Lab(id.to_string()),
                Some(("pillar", id)) if is_pillar(id) => SortKey::Pillar(id.to_string()),
                _ => SortKey::Name,
            },
        };
        View {
            sort,
            descending: q.dir.as_deref() == Some("desc"),
            lab: q.lab.clone().filter(|l| is_lab(l)),
            state: q.state.as_deref().and_then(StateFilter::parse),
            inactive_days: q
                .inactive
                .as_deref()
                .and_then(|d| d.trim().parse::<u32>().ok())
                .filter(|d| (1..=3650).contains(d)),
        }
    }

    /// The sort key as the query string spells it.
    pub fn sort_param(&self) -> String {
        match &self.sort {
            SortKey::Name => "name".into(),
            SortKey::LastActivity => "last".into(),
            SortKey::Lab(id) => format!("lab:{id}"),
            SortKey::Pillar(id) => format!("pillar:{id}"),
        }
    }

    /// The query string of this view with another sort: the same key flips the direction.
    pub fn with_sort(&self, sort: &str) -> String {
        let dir = if self.sort_param() == sort && !self.descending {
            "desc"
        } else {
            "asc"
        };
        self.query(sort, dir)
    }

    /// The query string of this view as it is (for the exports).
    pub fn current(&self) -> String {
        self.query(
            &self.sort_param(),
            if self.descending { "desc" } else { "asc" },
        )
    }

    fn query(&self, sort: &str, dir: &str) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("sort", sort).append_pair("dir", dir);
        if let Some(lab) = &self.lab {
            q.append_pair("lab", lab);
        }
        if let Some(s) = self.state {
            q.append_pair("state", s.as_str());
        }
        if let Some(d) = self.inactive_days {
            q.append_pair("inactive", &d.to_string());
        }
        q.finish()
    }

    /// Filters and sorts the gradebook in place: the learners that match, in order, and only the chosen lab's
    /// column when one is chosen.
    pub fn apply(&self, book: &mut Gradebook, now: i64) {
        let lab_index = self
            .lab
            .as_ref()
            .and_then(|id| book.labs.iter().position(|l| &l.id == id));
        book.learners.retain(|l| self.keeps(l, lab_index, now));
        let sort_lab = match &self.sort {
            SortKey::Lab(id) => book.labs.iter().position(|l| &l.id == id),
            _ => None,
        };
        let pillar = match &self.sort {
            SortKey::Pillar(id) => book.pillars.iter().position(|(p, _)| p == id),
            _ => None,
        };
        book.learners.sort_by(|a, b| {
            let by = match &self.sort {
                SortKey::Name => Ordering::Equal,
                SortKey::LastActivity => a.last_activity.cmp(&b.last_activity),
                SortKey::Lab(_) => sort_lab.map_or(Ordering::Equal, |i| {
                    let key =
                        |l: &LearnerRow| (l.cells[i].best_score.unwrap_or(-1.0), l.cells[i].state);
                    let (ka, kb) = (key(a), key(b));
                    ka.0.total_cmp(&kb.0).then(ka.1.cmp(&kb.1))
                }),
                SortKey::Pillar(_) => pillar.map_or(Ordering::Equal, |i| {
                    a.pillars[i].percent.cmp(&b.pillars[i].percent)
                }),
            };
            let by = by.then_with(|| {
                a.name
                    .to_lowercase()
                    .cmp(&b.name.to_lowercase())
                    .then(a.email.cmp(&b.email))
            });
            if self.descending {
                by.reverse()
            } else {
                by
            }
        });
        if let Some(i) = lab_index {
            book.labs = vec![book.labs[i].clone()];
            for l in &mut book.learners {
                l.cells = vec![l.cells[i].clone()];
            }
        }
    }

    fn keeps(&self, learner: &LearnerRow, lab: Option<usize>, now: i64) -> bool {
        if let Some(days) = self.inactive_days {
            let cutoff = now - i64::from(days) * 86_400_000;
            if learner.last_activity.is_some_and(|t| t > cutoff) {
                return false;
            }
        }
        let Some(state) = self.state else {
            return true;
        };
        let cells: Vec<&super::Cell> = match lab {
            Some(i) => vec![&learner.cells[i]],
            None => learner.cells.iter().collect(),
        };
        cells.iter().any(|c| match state {
            StateFilter::Passed => c.state == CellState::Passed,
            StateFilter::Failed => c.state == CellState::Failed,
            StateFilter::NotAttempted => c.state == CellState::NotAttempted,
            StateFilter::AtRisk => !c.flags.is_empty(),
        })
    }
}
