//! Valid values built from a schema with the check's seeded generator, so a re-graded run sends the same ones.
//!
//! Follows what a learner's schema usually says: required properties always (optional ones by a coin toss),
//! `type`, `enum`/`const`, `example`/`examples` (taken a quarter of the time), string lengths and common formats,
//! number bounds, array sizes, `allOf` merged and one branch of `oneOf`/`anyOf`. It does not try to satisfy
//! everything (`pattern`, `multipleOf`, `not`): the caller validates every value against the compiled schema
//! and drops those that miss, so a "valid" request is valid by the document's own measure.
//!
//! Strings are what a real client may send, not only what is easy to read: two thirds of them mix ASCII with
//! control characters (NUL, tab, newline; JSON-escaped as `\u0000` on the wire), letters beyond ASCII and
//! characters beyond the Basic Multilingual Plane (emoji, written as surrogate pairs by clients that escape),
//! and lengths are often exactly `minLength` or `maxLength`, counted in characters (code points) as JSON
//! Schema counts them, not bytes or UTF-16 units.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::{Map, Value};

use super::document::Document;

/// How deep nested objects and arrays are filled; deeper optional parts are left out.
const MAX_DEPTH: usize = 6;
/// The most schema nodes one value may take: the learner's document is untrusted, and a recursive schema
/// with many required properties would otherwise grow without bound before `MAX_DEPTH` stops it.
const MAX_NODES: usize = 2_000;
/// The longest string and the most array items a generated value holds, whatever the schema asks: a schema
/// that demands more (`minLength: 1e12`) gets no value rather than the grader's memory.
pub const MAX_STRING: usize = 1_024;
pub const MAX_ITEMS: usize = 64;

/// Characters a mixed string draws from besides lower-case letters: controls, Latin-1 and CJK letters, a sign,
/// and characters beyond the Basic Multilingual Plane. None is `{` (two would read as a variable) or a
/// character a JSON parser may drop (a byte-order mark).
const CONTROLS: [char; 4] = ['\u{0}', '\t', '\n', '\u{1f}'];
const WIDE_BMP: [char; 5] = ['é', 'ß', 'Ж', '中', '€'];
const ASTRAL: [char; 4] = ['😀', '𝄞', '🎉', '𐍈'];

/// Builds values for the schemas of one document.
pub struct Generator<'d, 'r> {
    pub doc: &'d Document,
    pub rng: &'r mut StdRng,
    /// Schema nodes left for the value being built.
    nodes: usize,
    /// Strings of visible ASCII only (for header values, which can hold nothing else).
    pub ascii: bool,
}

impl<'d, 'r> Generator<'d, 'r> {
    pub fn new(doc: &'d Document, rng: &'r mut StdRng) -> Self {
        Generator {
            doc,
            rng,
            nodes: MAX_NODES,
            ascii: false,
        }
    }

    /// A value for `schema` (after following its `$ref`s), or `None` if nothing sensible can be built.
    pub fn value(&mut self, schema: &Value) -> Option<Value> {
        self.nodes = MAX_NODES;
        self.at(schema, 0)
    }

    fn at(&mut self, schema: &Value, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH || self.nodes == 0 {
            return None;
        }
        self.nodes -= 1;
        let schema = self.doc.deref(schema);
        let Value::Object(s) = schema else {
            // `true` accepts anything; `false` nothing.
            return (schema == &Value::Bool(true)).then(|| Value::String(self.word(1, 8)));
        };
        if let Some(c) = s.get("const") {
            return Some(c.clone());
        }
        if let Some(Value::Array(options)) = s.get("enum") {
            let usable: Vec<&Value> = options.iter().filter(|v| !v.is_null()).collect();
            return usable.choose(self.rng).map(|v| (*v).clone());
        }
        if let Some(example) = example(s).filter(|_| self.rng.gen_bool(0.25)) {
            return Some(example);
        }
        if let Some(Value::Array(all)) = s.get("allOf") {
            let merged = merge(self.doc, s, all);
            return self.at(&merged, depth + 1);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(branches)) = s.get(key) {
                let branch = branches.choose(self.rng)?.clone();
                return self.at(&branch, depth + 1);
            }
        }
        match primary_type(s).as_str() {
            "object" => self.object(s, depth),
            "array" => self.array(s, depth),
            // A whole number is a valid `number` too, and stays clear of float bounds.
            "integer" | "number" => Some(Value::from(self.integer(s))),
            "boolean" => Some(Value::Bool(self.rng.gen_bool(0.5))),
            "null" => Some(Value::Null),
            _ => self.string(s),
        }
    }

    fn object(&mut self, s: &Map<String, Value>, depth: usize) -> Option<Value> {
        let required: Vec<&str> = s
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut out = Map::new();
        if let Some(Value::Object(props)) = s.get("properties") {
            for (name, p) in props {
                let needed = required.contains(&name.as_str());
                if !needed && (depth >= MAX_DEPTH - 1 || !self.rng.gen_bool(0.5)) {
                    continue;
                }
                match self.at(p, depth + 1) {
                    Some(v) => {
                        out.insert(name.clone(), v);
                    }
                    None if needed => return None,
                    None => {}
                }
            }
        }
        Some(Value::Object(out))
    }

    fn array(&mut self, s: &Map<String, Value>, depth: usize) -> Option<Value> {
        let min = uint(s, "minItems").unwrap_or(0);
        if min > MAX_ITEMS {
            return None;
        }
        let max = uint(s, "maxItems").unwrap_or(min + 3).max(min);
        let low = if min == 0 && max > 0 { 1 } else { min };
        let len = self.rng.gen_range(low..=max.min(low + 3));
        let items = s.get("items").cloned().unwrap_or(Value::Bool(true));
        let mut out = Vec::with_capacity(len);
        for _ in 0..len {
            out.push(self.at(&items, depth + 1)?);
        }
        Some(Value::Array(out))
    }

    fn integer(&mut self, s: &Map<String, Value>) -> i64 {
        let (low, high) = bounds(s);
        let low = low.unwrap_or(0);
        let high = high.unwrap_or(low.saturating_add(1000)).max(low);
        self.rng.gen_range(low..=high)
    }

    fn string(&mut self, s: &Map<String, Value>) -> Option<Value> {
        let n: u32 = self.rng.gen_range(1..10_000);
        let formatted = match s.get("format").and_then(Value::as_str) {
            Some("email") => Some(format!("user{n}@example.com")),
            Some("uuid") => Some(format!("00000000-0000-4000-8000-{n:012}")),
            Some("date-time") => Some(format!("2024-01-{:02}T12:00:00Z", n % 28 + 1)),
            Some("date") => Some(format!("2024-01-{:02}", n % 28 + 1)),
            Some("uri" | "url") => Some(format!("https://example.com/{n}")),
            _ => None,
        };
        if let Some(f) = formatted {
            return Some(Value::String(f));
        }
        let min = uint(s, "minLength").unwrap_or(1);
        if min > MAX_STRING {
            return None;
        }
        let max = uint(s, "maxLength").unwrap_or(min + 16).max(min);
        // A quarter of the strings are exactly as short, a quarter exactly as long as the schema allows (when
        // that fits in a generated value); the rest anywhere up to 16 past the minimum.
        let len = match self.rng.gen_range(0..4) {
            0 => min,
            1 if max <= MAX_STRING => max,
            _ => self.rng.gen_range(min..=max.min(min + 16)),
        };
        if self.ascii || self.rng.gen_range(0..3) == 0 {
            return Some(Value::String(self.word(len, len)));
        }
        Some(Value::String(self.mixed(len)))
    }

    /// Lower-case letters, between `min` and `max` of them: nothing a template, a shell or a log would read
    /// as anything else.
    pub fn word(&mut self, min: usize, max: usize) -> String {
        let len = self.rng.gen_range(min..=max.max(min));
        (0..len)
            .map(|_| char::from(b'a' + self.rng.gen_range(0..26u8)))
            .collect()
    }

    /// `len` characters (code points) of letters, controls, letters beyond ASCII and characters beyond the
    /// Basic Multilingual Plane, about a fifth of each kind besides the letters; from two characters on, at
    /// least one control and one beyond the BMP, so every such string tries both.
    pub fn mixed(&mut self, len: usize) -> String {
        let mut chars: Vec<char> = (0..len)
            .map(|_| match self.rng.gen_range(0..10) {
                0 | 1 => CONTROLS[self.rng.gen_range(0..CONTROLS.len())],
                2 | 3 => WIDE_BMP[self.rng.gen_range(0..WIDE_BMP.len())],
                4 | 5 => ASTRAL[self.rng.gen_range(0..ASTRAL.len())],
                _ => char::from(b'a' + self.rng.gen_range(0..26u8)),
            })
            .collect();
        if len >= 2 {
            let control = self.rng.gen_range(0..len);
            let astral = (control + 1 + self.rng.gen_range(0..len - 1)) % len;
            chars[control] = CONTROLS[self.rng.gen_range(0..CONTROLS.len())];
            chars[astral] = ASTRAL[self.rng.gen_range(0..ASTRAL.len())];
        }
        chars.into_iter().collect()
    }

    /// `len` printable characters beyond ASCII, most beyond the Basic Multilingual Plane (each 4 bytes in
    /// UTF-8, 2 units in UTF-16) and the first always: a string that is `len` long only when counted in code
    /// points.
    pub fn wide(&mut self, len: usize) -> String {
        (0..len)
            .map(|i| {
                if i == 0 || self.rng.gen_bool(0.75) {
                    ASTRAL[self.rng.gen_range(0..ASTRAL.len())]
                } else {
                    WIDE_BMP[self.rng.gen_range(0..WIDE_BMP.len())]
                }
            })
            .collect()
    }
}

/// A JSON value as text with every character beyond ASCII escaped (`\u00e9`, and a surrogate pair such as
/// `\ud83d\ude00` beyond the Basic Multilingual Plane), as clients that escape everything send it. The text
/// is the same JSON value: only strings hold characters beyond ASCII, and escapes are valid in any of them.
pub fn escaped_json(v: &Value) -> String {
    let raw = v.to_string();
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

/// The schema's main type: the first non-null of `type`, else what its keywords imply.
pub fn primary_type(s: &Map<String, Value>) -> String {
    match s.get("type") {
        Some(Value::String(t)) => return t.clone(),
        Some(Value::Array(ts)) => {
            if let Some(t) = ts.iter().filter_map(Value::as_str).find(|t| *t != "null") {
                return t.to_string();
            }
        }
        _ => {}
    }
    if s.contains_key("properties") || s.contains_key("required") {
        "object".into()
    } else if s.contains_key("items") {
        "array".into()
    } else {
        "string".into()
    }
}

/// A non-negative integer keyword.
pub fn uint(s: &Map<String, Value>, key: &str) -> Option<usize> {
    s.get(key)
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
}

/// The inclusive integer bounds of a number schema, in either dialect's `exclusive*` form.
pub fn bounds(s: &Map<String, Value>) -> (Option<i64>, Option<i64>) {
    let num = |k: &str| s.get(k).and_then(Value::as_f64);
    let flag = |k: &str| s.get(k) == Some(&Value::Bool(true));
    let low = match (num("minimum"), num("exclusiveMinimum")) {
        (_, Some(x)) => Some(x.floor() as i64 + 1),
        (Some(m), None) if flag("exclusiveMinimum") => Some(m.floor() as i64 + 1),
        (Some(m), None) => Some(m.ceil() as i64),
        (None, None) => None,
    };
    let high = match (num("maximum"), num("exclusiveMaximum")) {
        (_, Some(x)) => Some(x.ceil() as i64 - 1),
        (Some(m), None) if flag("exclusiveMaximum") => Some(m.ceil() as i64 - 1),
        (Some(m), None) => Some(m.floor() as i64),
        (None, None) => None,
    };
    (low, high)
}

/// The schema's own example (`example`, or the first of `examples`), unless it holds `{{`, which the
/// request's templating would read as a variable.
fn example(s: &Map<String, Value>) -> Option<Value> {
    let e = s.get("example").cloned().or_else(|| {
        s.get("examples")
            .and_then(Value::as_array)
            .and_then(|a| a.first().cloned())
    })?;
    (!e.to_string().contains("{{")).then_some(e)
}

/// `allOf` folded into one schema: properties and `required` united, other keywords from the first that has
/// them; the compiled schema still judges the result.
pub fn merge(doc: &Document, s: &Map<String, Value>, all: &[Value]) -> Value {
    let mut out = s.clone();
    out.remove("allOf");
    let mut props = match out.remove("properties") {
        Some(Value::Object(p)) => p,
        _ => Map::new(),
    };
    let mut required: Vec<Value> = match out.remove("required") {
        Some(Value::Array(r)) => r,
        _ => Vec::new(),
    };
    for branch in all {
        let Value::Object(b) = doc.deref(branch) else {
            continue;
        };
        let b = match b.get("allOf") {
            Some(Value::Array(inner)) => match merge(doc, b, inner) {
                Value::Object(m) => m,
                _ => continue,
            },
            _ => b.clone(),
        };
        for (k, v) in b {
            match v {
                Value::Object(p) if k == "properties" => props.extend(p),
                Value::Array(r) if k == "required" => required.extend(r),
                v => {
                    out.entry(k).or_insert(v);
                }
            }
        }
    }
    if !props.is_empty() {
        out.insert("properties".into(), Value::Object(props));
    }
    if !required.is_empty() {
        out.insert("required".into(), Value::Array(required));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::openapi::document::Version;
    use rand::SeedableRng;
    use serde_json::json;

    fn doc() -> Document {
        Document::new(
            json!({"openapi": "3.1.0", "components": {"schemas": {
                "New": {"type": "object", "required": ["title", "tags"], "properties": {
                    "title": {"type": "string", "minLength": 3, "maxLength": 5},
                    "tags": {"type": "array", "maxItems": 2, "items": {"type": "string", "maxLength": 4}},
                    "kind": {"type": "string", "enum": ["a", "b"]},
                    "n": {"type": "integer", "minimum": 1, "exclusiveMaximum": 3}
                }},
                "Ref": {"allOf": [{"$ref": "#/components/schemas/New"}, {"required": ["kind"]}]}
            }}}),
            Version::V31,
        )
    }

    #[test]
    fn builds_values_within_the_schema() {
        let d = doc();
        for seed in 0..50 {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut g = Generator::new(&d, &mut rng);
            let v = g
                .value(&json!({"$ref": "#/components/schemas/Ref"}))
                .expect("a value");
            // Lengths are counted in characters, as JSON Schema counts them.
            let title = v["title"].as_str().expect("title");
            assert!((3..=5).contains(&title.chars().count()), "{v}");
            assert!(v["tags"].as_array().expect("tags").len() <= 2, "{v}");
            assert!(
                ["a", "b"].contains(&v["kind"].as_str().expect("kind")),
                "{v}"
            );
            if let Some(n) = v.get("n") {
                assert!((1..=2).contains(&n.as_i64().expect("int")), "{v}");
            }
        }
    }

    #[test]
    fn the_same_seed_builds_the_same_value() {
        let d = doc();
        let schema = json!({"$ref": "#/components/schemas/New"});
        let mut a = StdRng::seed_from_u64(9);
        let mut b = StdRng::seed_from_u64(9);
        let va = Generator::new(&d, &mut a).value(&schema);
        let vb = Generator::new(&d, &mut b).value(&schema);
        assert_eq!(va, vb);
    }

    #[test]
    fn hostile_sizes_and_recursion_get_no_value_instead_of_the_graders_memory() {
        let mut props = serde_json::Map::new();
        let mut required = Vec::new();
        for i in 0..100 {
            props.insert(
                format!("p{i}"),
                json!({"$ref": "#/components/schemas/Loop"}),
            );
            required.push(json!(format!("p{i}")));
        }
        let d = Document::new(
            json!({"openapi": "3.1.0", "components": {"schemas": {
                "Loop": {"type": "object", "properties": props, "required": required}
            }}}),
            Version::V31,
        );
        let mut rng = StdRng::seed_from_u64(1);
        let mut g = Generator::new(&d, &mut rng);
        for schema in [
            json!({"type": "string", "minLength": 1_000_000_000_000u64}),
            json!({"type": "array", "minItems": 1_000_000_000u64}),
            json!({"$ref": "#/components/schemas/Loop"}),
        ] {
            assert_eq!(g.value(&schema), None, "{schema}");
        }
        // A huge but satisfiable limit is fine: the value stays small.
        let v = g
            .value(&json!({"type": "string", "maxLength": u64::MAX}))
            .expect("a value");
        assert!(v.as_str().expect("a string").chars().count() <= 17);
    }

    #[test]
    fn strings_reach_their_limits_in_characters_beyond_ascii() {
        let d = doc();
        let schema = json!({"type": "string", "minLength": 2, "maxLength": 4});
        let (mut at_max, mut at_min, mut astral, mut control, mut multibyte_at_max) =
            (false, false, false, false, false);
        for seed in 0..200 {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut g = Generator::new(&d, &mut rng);
            let v = g.value(&schema).expect("a value");
            let s = v.as_str().expect("a string");
            let n = s.chars().count();
            assert!((2..=4).contains(&n), "{s:?}");
            at_max |= n == 4;
            at_min |= n == 2;
            astral |= s.chars().any(|c| c as u32 > 0xffff);
            control |= s.chars().any(char::is_control);
            multibyte_at_max |= n == 4 && s.len() > 4;
        }
        assert!(at_max && at_min && astral && control && multibyte_at_max);
    }

    #[test]
    fn header_strings_stay_ascii_and_wide_strings_are_long_only_in_code_points() {
        let d = doc();
        let mut rng = StdRng::seed_from_u64(3);
        let mut g = Generator::new(&d, &mut rng);
        g.ascii = true;
        for _ in 0..50 {
            let v = g.value(&json!({"type": "string"})).expect("a value");
            assert!(
                v.as_str()
                    .expect("a string")
                    .bytes()
                    .all(|b| b.is_ascii_lowercase()),
                "{v}"
            );
        }
        let w = g.wide(4);
        assert_eq!(w.chars().count(), 4);
        assert!(w.len() > 4 && w.encode_utf16().count() > 4, "{w}");
        assert!(!w.chars().any(char::is_control));
    }

    #[test]
    fn escaped_json_is_the_same_value_in_ascii_with_surrogate_pairs() {
        let v = json!({"title": "a\u{0}é😀", "n": 1});
        let text = escaped_json(&v);
        assert!(text.is_ascii(), "{text}");
        assert!(text.contains(r"\u00e9\ud83d\ude00"), "{text}");
        assert!(text.contains(r"\u0000"), "{text}");
        assert_eq!(serde_json::from_str::<Value>(&text).expect("JSON"), v);
    }
}
