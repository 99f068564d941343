//! Progress per pillar: each lab's best score weighted by how much the lab counts toward each pillar, blended
//! with the best scores of the quizzes of the modules that teach the pillar.
//!
//! The rule, with `w` the course's `[quizzes] weight`:
//! - labs: the weighted average of the best scores of the pillar's graded labs (unattempted labs count as 0);
//! - quizzes: the average of the best scores of the quizzes of the modules listing the pillar (untaken count 0);
//! - the pillar is `(1 - w) · labs + w · quizzes` when it has both, the one it has otherwise, and labs alone
//!   when `w` is 0 (quizzes are then practice).
//!
//! Kept apart from the store (which only returns rows) and the pages (which only draw), so the rule lives in
//! one place and is tested on its own.

use std::collections::{BTreeMap, HashMap};

use crate::curriculum::Curriculum;
use crate::domain::{PillarId, Week};
use crate::store::LabProgressRow;

/// A learner's best quiz score (0 to 1) per week whose quiz they took.
pub type QuizBest = BTreeMap<Week, f64>;

/// A learner's standing on one pillar.
#[derive(Debug, Clone, PartialEq)]
pub struct PillarProgress {
    pub id: PillarId,
    pub name: String,
    /// 0 to 100: labs and quizzes blended by the rule above.
    pub percent: u8,
    pub labs_passed: usize,
    pub labs_total: usize,
    /// Quizzes of the pillar's modules taken at least once, of those that count.
    pub quizzes_taken: usize,
    pub quizzes_total: usize,
}

/// Progress on every pillar of the course, in the course's order.
pub fn by_pillar(
    curriculum: &Curriculum,
    rows: &[LabProgressRow],
    quizzes: &QuizBest,
) -> Vec<PillarProgress> {
    let best: HashMap<&str, &LabProgressRow> =
        rows.iter().map(|r| (r.lab_id.as_str(), r)).collect();
    let quiz_weight = curriculum.course.quiz_weight;
    curriculum
        .course
        .pillars
        .iter()
        .map(|pillar| {
            let mut weight_sum = 0.0;
            let mut score_sum = 0.0;
            let mut labs_total = 0;
            let mut labs_passed = 0;
            for lab in curriculum.labs.values() {
                let Some((_, w)) = lab.pillars.iter().find(|(p, _)| p == &pillar.id) else {
                    continue;
                };
                // A lab with no checks yet cannot be scored: it neither helps nor holds back a pillar.
                if !lab.graded {
                    continue;
                }
                labs_total += 1;
                weight_sum += w;
                if let Some(row) = best.get(lab.id.as_str()) {
                    score_sum += w * row.best_score.clamp(0.0, 1.0);
                    if row.passed != 0 {
                        labs_passed += 1;
                    }
                }
            }
            let weeks: Vec<Week> = if quiz_weight > 0.0 {
                curriculum
                    .modules
                    .iter()
                    .filter(|m| m.quiz.is_some() && m.pillars.contains(&pillar.id))
                    .map(|m| m.week)
                    .collect()
            } else {
                Vec::new()
            };
            let taken: Vec<f64> = weeks
                .iter()
                .filter_map(|week| quizzes.get(week))
                .map(|s| s.clamp(0.0, 1.0))
                .collect();
            let labs = (weight_sum > 0.0).then(|| score_sum / weight_sum);
            let quiz = (!weeks.is_empty()).then(|| taken.iter().sum::<f64>() / weeks.len() as f64);
            let share = match (labs, quiz) {
                (Some(l), Some(q)) => (1.0 - quiz_weight) * l + quiz_weight * q,
                (Some(l), None) => l,
                (None, Some(q)) => q,
                (None, None) => 0.0,
            };
            PillarProgress {
                id: pillar.id.clone(),
                name: pillar.name.clone(),
                percent: (100.0 * share).round().clamp(0.0, 100.0) as u8,
                labs_passed,
                labs_total,
                quizzes_taken: taken.len(),
                quizzes_total: weeks.len(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn bundled() -> Curriculum {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        Curriculum::load(&root.join("curriculum"), &root.join("labs")).expect("the bundled course")
    }

    fn language(c: &Curriculum, rows: &[LabProgressRow], quizzes: &[(u8, f64)]) -> PillarProgress {
        let best: QuizBest = quizzes
            .iter()
            .map(|(w, s)| (Week::parse(i64::from(*w)).unwrap(), *s))
            .collect();
        by_pillar(c, rows, &best)
            .into_iter()
            .find(|p| p.id.as_str() == "language")
            .unwrap()
    }

    fn passed(c: &Curriculum, pillar: &str) -> Vec<LabProgressRow> {
        c.labs
            .values()
            .filter(|l| l.pillars.iter().any(|(p, _)| p.as_str() == pillar))
            .map(|l| LabProgressRow {
                lab_id: l.id.to_string(),
                best_score: 1.0,
                passed: 1,
                attempts: 1,
            })
            .collect()
    }

    #[test]
    fn quizzes_make_up_their_weight_of_the_pillar_and_untaken_ones_count_zero() {
        let c = bundled();
        assert_eq!(c.course.quiz_weight, 0.2);
        let all = [(1, 1.0), (2, 1.0), (3, 1.0), (4, 1.0)];
        let p = language(&c, &[], &all);
        assert_eq!((p.percent, p.quizzes_taken, p.quizzes_total), (20, 4, 4));
        // Two of the four quizzes, one at half marks: (1 + 0.5) / 4 of the 20 %, 7.5 rounded.
        let p = language(&c, &[], &[(1, 1.0), (2, 0.5)]);
        assert!((7..=8).contains(&p.percent), "{p:?}");
        assert_eq!(p.quizzes_taken, 2);
        assert_eq!(language(&c, &[], &[(1, 1.0), (3, 1.0)]).percent, 10);
        let labs = passed(&c, "language");
        assert_eq!(language(&c, &labs, &[]).percent, 80);
        assert_eq!(language(&c, &labs, &all).percent, 100);
        // A quiz of a module that does not teach the pillar does not count toward it.
        assert_eq!(language(&c, &[], &[(9, 1.0)]).percent, 0);
    }

    #[test]
    fn with_no_weight_quizzes_are_practice_and_labs_are_the_whole_pillar() {
        let mut c = bundled();
        c.course.quiz_weight = 0.0;
        let labs = passed(&c, "language");
        let p = language(&c, &labs, &[]);
        assert_eq!((p.percent, p.quizzes_total), (100, 0));
        assert_eq!(language(&c, &[], &[(1, 1.0)]).percent, 0);
    }
}
