//! Progress per pillar: each lab's best score weighted by how much the lab counts toward each pillar.
//!
//! Kept apart from the store (which only returns rows) and the pages (which only draw), so the rule lives in
//! one place and is tested on its own.

use std::collections::HashMap;

use crate::curriculum::Curriculum;
use crate::domain::PillarId;
use crate::store::LabProgressRow;

/// A learner's standing on one pillar.
#[derive(Debug, Clone, PartialEq)]
pub struct PillarProgress {
    pub id: PillarId,
    pub name: String,
    /// 0 to 100: the weighted average of the best scores of the pillar's labs (unattempted labs count as 0).
    pub percent: u8,
    pub labs_passed: usize,
    pub labs_total: usize,
}

/// Progress on every pillar of the course, in the course's order.
pub fn by_pillar(curriculum: &Curriculum, rows: &[LabProgressRow]) -> Vec<PillarProgress> {
    let best: HashMap<&str, &LabProgressRow> =
        rows.iter().map(|r| (r.lab_id.as_str(), r)).collect();
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
            let percent = if weight_sum > 0.0 {
                (100.0 * score_sum / weight_sum).round() as u8
            } else {
                0
            };
            PillarProgress {
                id: pillar.id.clone(),
                name: pillar.name.clone(),
                percent,
                labs_passed,
                labs_total,
            }
        })
        .collect()
}
