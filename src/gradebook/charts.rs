//! The geometry of the server-drawn SVG charts (the templates only place what is computed here): the gradebook's
//! heatmap, the learner's seven-axis pillar radar and their timeline of runs. Every mark carries a `<title>` in
//! the templates, and every chart has a table beside it, so no reader depends on colour or on the picture.

use super::{CellState, Gradebook};
use crate::progress::PillarProgress;

/// One square of the heatmap.
pub struct HeatCell {
    pub x: u32,
    pub y: u32,
    pub class: &'static str,
    /// The text a pointer or a screen reader gets: learner, lab, state, score.
    pub title: String,
}

pub struct Heatmap {
    pub width: u32,
    pub height: u32,
    pub size: u32,
    /// Row labels (learner names) at their y.
    pub rows: Vec<(u32, String)>,
    /// Column labels (week numbers) at their x.
    pub columns: Vec<(u32, String)>,
    pub cells: Vec<HeatCell>,
}

const HEAT_SIZE: u32 = 18;
const HEAT_LEFT: u32 = 140;
const HEAT_TOP: u32 = 22;

pub fn heatmap(book: &Gradebook) -> Heatmap {
    let mut cells = Vec::new();
    let mut rows = Vec::new();
    for (r, l) in book.learners.iter().enumerate() {
        let y = HEAT_TOP + r as u32 * HEAT_SIZE;
        let name: String = l.name.chars().take(18).collect();
        rows.push((y + HEAT_SIZE - 5, name));
        for (c, cell) in l.cells.iter().enumerate() {
            let score = cell
                .best_score
                .map(|s| format!(", best {:.0} %", s * 100.0))
                .unwrap_or_default();
            let risk = if cell.flags.is_empty() {
                ""
            } else {
                ", at risk"
            };
            cells.push(HeatCell {
                x: HEAT_LEFT + c as u32 * HEAT_SIZE,
                y,
                class: cell.state.class(),
                title: format!(
                    "{} · {}: {}{score}{risk}",
                    l.name,
                    cell.lab,
                    cell.state.label()
                ),
            });
        }
    }
    let columns = book
        .labs
        .iter()
        .enumerate()
        .map(|(c, lab)| {
            (
                HEAT_LEFT + c as u32 * HEAT_SIZE + HEAT_SIZE / 2,
                format!("{}", lab.week),
            )
        })
        .collect();
    Heatmap {
        width: HEAT_LEFT + book.labs.len() as u32 * HEAT_SIZE + 4,
        height: HEAT_TOP + book.learners.len() as u32 * HEAT_SIZE + 4,
        size: HEAT_SIZE - 2,
        rows,
        columns,
        cells,
    }
}

/// A point in the SVG's user units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl Point {
    pub fn fmt(self) -> String {
        format!("{:.1},{:.1}", self.x, self.y)
    }
}

pub struct RadarAxis {
    pub end: Point,
    pub label_at: Point,
    /// `start`, `middle` or `end`: where the label anchors, so labels left of centre do not cross the chart.
    pub anchor: &'static str,
    pub label: String,
    pub percent: u8,
}

pub struct Radar {
    pub size: u32,
    pub center: Point,
    /// The 25/50/75/100 % rings, as polygon points.
    pub rings: Vec<String>,
    pub axes: Vec<RadarAxis>,
    /// The learner's shape, as polygon points.
    pub shape: String,
}

const RADAR_SIZE: f64 = 320.0;
const RADAR_RADIUS: f64 = 100.0;

fn on_axis(center: Point, i: usize, n: usize, r: f64) -> Point {
    let angle = -std::f64::consts::FRAC_PI_2 + i as f64 * std::f64::consts::TAU / n as f64;
    Point {
        x: center.x + r * angle.cos(),
        y: center.y + r * angle.sin(),
    }
}

/// The radar of a learner's pillars (one axis each; the course has seven).
pub fn radar(pillars: &[PillarProgress]) -> Radar {
    let center = Point {
        x: RADAR_SIZE / 2.0,
        y: RADAR_SIZE / 2.0,
    };
    let n = pillars.len().max(1);
    let ring = |f: f64| {
        (0..n)
            .map(|i| on_axis(center, i, n, RADAR_RADIUS * f).fmt())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let axes = pillars
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let label_at = on_axis(center, i, n, RADAR_RADIUS + 16.0);
            let anchor = if (label_at.x - center.x).abs() < 8.0 {
                "middle"
            } else if label_at.x < center.x {
                "end"
            } else {
                "start"
            };
            RadarAxis {
                end: on_axis(center, i, n, RADAR_RADIUS),
                label_at,
                anchor,
                label: p.name.clone(),
                percent: p.percent,
            }
        })
        .collect();
    let shape = pillars
        .iter()
        .enumerate()
        .map(|(i, p)| on_axis(center, i, n, RADAR_RADIUS * f64::from(p.percent) / 100.0).fmt())
        .collect::<Vec<_>>()
        .join(" ");
    Radar {
        size: RADAR_SIZE as u32,
        center,
        rings: [0.25, 0.5, 0.75, 1.0].into_iter().map(ring).collect(),
        axes,
        shape,
    }
}

pub struct TimelineMark {
    pub x: f64,
    pub y: f64,
    pub class: &'static str,
    /// The verdict's letter drawn on the mark (P, F, E, …), so colour is never the only sign.
    pub letter: &'static str,
    pub title: String,
    pub href: String,
}

pub struct Timeline {
    pub width: u32,
    pub height: u32,
    /// Week ticks: x and label.
    pub weeks: Vec<(f64, String)>,
    pub axis_y: f64,
    pub marks: Vec<TimelineMark>,
}

const WEEK_MS: i64 = 7 * 86_400_000;
const TIMELINE_WIDTH: f64 = 720.0;
const TIMELINE_LEFT: f64 = 20.0;

/// A run as the timeline needs it.
pub struct TimelineRun<'a> {
    pub id: i64,
    pub lab: &'a str,
    pub state: &'a str,
    pub at: i64,
}

/// The learner's runs over the twelve weeks from `start` (later runs are drawn at the end). Runs of the same
/// day stack upwards so none hides another.
pub fn timeline(runs: &[TimelineRun<'_>], start: i64) -> Timeline {
    let span = 12 * WEEK_MS;
    let plot = TIMELINE_WIDTH - 2.0 * TIMELINE_LEFT;
    let axis_y = 130.0;
    let x_of = |at: i64| {
        let t = (at - start).clamp(0, span) as f64 / span as f64;
        TIMELINE_LEFT + t * plot
    };
    let mut stacked: std::collections::HashMap<i64, u32> = std::collections::HashMap::new();
    let marks = runs
        .iter()
        .map(|r| {
            let day = (r.at - start).div_euclid(86_400_000).clamp(0, 84);
            let level = stacked.entry(day).or_insert(0);
            let y = axis_y - 12.0 - f64::from(*level % 8) * 14.0;
            *level += 1;
            let (class, letter) = match r.state {
                "passed" => (CellState::Passed.class(), "P"),
                "failed" => (CellState::Failed.class(), "F"),
                "error" => (CellState::Errored.class(), "E"),
                _ => (CellState::Pending.class(), "…"),
            };
            TimelineMark {
                x: x_of(r.at),
                y,
                class,
                letter,
                title: format!(
                    "Run #{} of {}: {} ({})",
                    r.id,
                    r.lab,
                    r.state,
                    crate::web::runs::format_time(r.at)
                ),
                href: format!("/runs/{}", r.id),
            }
        })
        .collect();
    let weeks = (0..=12)
        .map(|w| (x_of(start + w * WEEK_MS), format!("{}", w + 1)))
        .take(12)
        .collect();
    Timeline {
        width: TIMELINE_WIDTH as u32,
        height: (axis_y + 24.0) as u32,
        weeks,
        axis_y,
        marks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PillarId;

    #[test]
    fn the_radar_puts_the_first_axis_straight_up_and_scales_by_percent() {
        let pillars: Vec<PillarProgress> = (0..7)
            .map(|i| PillarProgress {
                id: PillarId::parse(&format!("p{i}")).unwrap(),
                name: format!("P{i}"),
                percent: if i == 0 { 50 } else { 0 },
                labs_passed: 0,
                labs_total: 1,
                quizzes_taken: 0,
                quizzes_total: 0,
            })
            .collect();
        let r = radar(&pillars);
        assert_eq!(r.axes.len(), 7);
        assert_eq!(r.axes[0].end, Point { x: 160.0, y: 60.0 });
        assert!(r.shape.starts_with("160.0,110.0 "), "{}", r.shape);
        assert_eq!(r.axes[0].anchor, "middle");
    }

    #[test]
    fn timeline_marks_fall_inside_the_twelve_weeks() {
        let runs = [
            TimelineRun {
                id: 1,
                lab: "a",
                state: "passed",
                at: 0,
            },
            TimelineRun {
                id: 2,
                lab: "a",
                state: "failed",
                at: 0,
            },
            TimelineRun {
                id: 3,
                lab: "a",
                state: "error",
                at: 100 * WEEK_MS,
            },
        ];
        let t = timeline(&runs, 0);
        assert_eq!(t.marks[0].x, TIMELINE_LEFT);
        assert!(t.marks[1].y < t.marks[0].y, "same-day runs stack");
        assert_eq!(t.marks[2].x, TIMELINE_WIDTH - TIMELINE_LEFT);
        assert_eq!(t.marks[1].letter, "F");
        assert_eq!(t.weeks.len(), 12);
    }
}
