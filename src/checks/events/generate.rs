//! The records a `produce` step sends: each template rendered with the check's variables (`{{i}}` the round of
//! `repeat`), copied `copies` times in a row, and, with `shuffle`, put in an order drawn from the check's seed,
//! so a replayed run sends the very same stream.

use rand::seq::SliceRandom;
use serde_json::Value;

use super::{Produce, RecordValue};
use crate::checks::template::{TemplateError, Vars};
use crate::kafka::NewRecord;

/// A record ready to send, with what the timeline shows of it.
#[derive(Debug, Clone)]
pub(super) struct Generated {
    pub record: NewRecord,
    /// The key as text, for the timeline.
    pub key: Option<String>,
    /// The value's `id` (a top-level `id` field of a JSON value), for the timeline.
    pub id: Option<String>,
}

/// Every record of the step, in the order to send.
pub(super) fn records(
    step: &Produce,
    vars: &mut Vars,
    rng: &mut impl rand::Rng,
) -> Result<Vec<Generated>, TemplateError> {
    let mut out = Vec::new();
    for i in 0..step.repeat {
        vars.set("i", Value::from(i));
        for t in &step.records {
            let key = t.key.as_ref().map(|k| vars.render(k)).transpose()?;
            let (value, id) = match &t.value {
                RecordValue::Json(j) => {
                    let v = vars.render_json(j)?;
                    let id = v.get("id").map(crate::checks::template::as_text);
                    (v.to_string().into_bytes(), id)
                }
                RecordValue::Text(s) => (vars.render(s)?.into_bytes(), None),
            };
            let headers = t
                .headers
                .iter()
                .map(|(k, v)| Ok((k.clone(), vars.render(v)?.into_bytes())))
                .collect::<Result<Vec<_>, TemplateError>>()?;
            let g = Generated {
                record: NewRecord {
                    key: key.as_ref().map(|k| k.clone().into_bytes()),
                    value,
                    headers,
                },
                key,
                id,
            };
            for _ in 0..t.copies {
                out.push(g.clone());
            }
        }
    }
    if step.shuffle {
        out.shuffle(rng);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use rand::SeedableRng;
    use serde_json::json;

    use super::*;
    use crate::checks::events::RecordTemplate;

    fn step(shuffle: bool) -> Produce {
        Produce {
            topic: "t".into(),
            records: vec![RecordTemplate {
                key: Some("k-{{i%2}}".into()),
                value: RecordValue::Json(json!({"id": "e-{{i}}-{{rand}}", "n": "{{i}}"})),
                headers: vec![("source".into(), "gauntlet".into())],
                copies: 2,
            }],
            repeat: 3,
            shuffle,
            pace: Duration::ZERO,
        }
    }

    #[test]
    fn copies_and_repeats_render_in_order() {
        let mut vars = Vars::new(1, "r".into(), &BTreeMap::new());
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let got = records(&step(false), &mut vars, &mut rng).expect("renders");
        let ids: Vec<_> = got
            .iter()
            .map(|g| g.id.clone().unwrap_or_default())
            .collect();
        assert_eq!(ids, ["e-0-r", "e-0-r", "e-1-r", "e-1-r", "e-2-r", "e-2-r"]);
        let keys: Vec<_> = got
            .iter()
            .map(|g| g.key.clone().unwrap_or_default())
            .collect();
        assert_eq!(keys, ["k-0", "k-0", "k-1", "k-1", "k-0", "k-0"]);
        assert_eq!(got[2].record.value, br#"{"id":"e-1-r","n":1}"#.to_vec());
        assert_eq!(
            got[0].record.headers,
            vec![("source".to_string(), b"gauntlet".to_vec())]
        );
    }

    #[test]
    fn a_shuffle_is_the_same_for_the_same_seed() {
        let run = |seed| {
            let mut vars = Vars::new(1, "r".into(), &BTreeMap::new());
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let mut s = step(true);
            s.repeat = 20;
            records(&s, &mut vars, &mut rng)
                .expect("renders")
                .into_iter()
                .map(|g| g.id.unwrap_or_default())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }
}
