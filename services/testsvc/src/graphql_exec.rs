//! A small GraphQL executor for the w09 notes schema: operations with variables, fragments, aliases and
//! `__typename`, introspection built from the parsed SDL (`graphql_introspect.rs`), and the limits that
//! refuse abusive queries before (depth, aliases: `graphql_limits.rs`) and while (a budget of resolved
//! fields) they run. Answers are written as JSON text while
//! they are resolved, so memory follows the answer, never a tree of it.

use std::collections::{BTreeMap, HashMap};

use graphql_parser::query::{
    Definition, Document, Field, OperationDefinition, Selection, SelectionSet, TypeCondition, Value,
};

use crate::graphql_introspect as introspect;
use crate::graphql_limits::{aliases, depth, fragment, Fragments};
use crate::graphql_types::{self as types, Member, TypeView};
use crate::json::{self, Json};
use crate::notes::Note;

/// What an operation may cost.
pub struct Limits {
    /// Deepest nesting of fields (the root field is 1); `None` with the `graphql-no-depth-limit` defect.
    pub depth: Option<usize>,
    /// Most aliased fields in one operation; `None` with `graphql-no-alias-limit`.
    pub aliases: Option<usize>,
    /// Largest `limit` of `notes`; `None` with `graphql-no-list-cap` (any positive limit).
    pub list_cap: Option<i64>,
    /// Fields resolved before the operation is stopped.
    pub budget: usize,
    /// Whether running past `budget` crashes (the defects' executor) instead of refusing with an error.
    pub crash_over_budget: bool,
    pub introspection: bool,
    /// `graphql-stale-version`: `version` is the one a note was created with.
    pub stale_version: bool,
}

/// Why an operation got no data.
pub enum Refusal {
    /// A GraphQL error: the message of the `errors` entry.
    Error(String),
    /// The service falls over (500): what a missing limit leads to.
    Crash(String),
}

type Vars = BTreeMap<String, Json>;

/// Runs the operation `name` (or the only one) of `doc` over a snapshot of the notes; the `data` as JSON text.
pub fn execute(
    doc: &Document<'_, String>,
    name: Option<&str>,
    variables: &Vars,
    notes: &BTreeMap<u64, Note>,
    limits: &Limits,
) -> Result<String, Refusal> {
    let mut fragments = HashMap::new();
    let mut operations = Vec::new();
    for d in &doc.definitions {
        match d {
            Definition::Fragment(f) => {
                fragments.insert(f.name.as_str(), f);
            }
            Definition::Operation(o) => operations.push(o),
        }
    }
    let op = match (name, operations.as_slice()) {
        (None, [one]) => *one,
        (None, _) => return Err(error("several operations: name one with operationName")),
        (Some(n), all) => *all
            .iter()
            .find(|o| op_name(o) == Some(n))
            .ok_or_else(|| error(&format!("no operation named \"{n}\"")))?,
    };
    let (selection, defs) = match op {
        OperationDefinition::SelectionSet(s) => (s, &[][..]),
        OperationDefinition::Query(q) => (&q.selection_set, q.variable_definitions.as_slice()),
        OperationDefinition::Mutation(_) | OperationDefinition::Subscription(_) => {
            return Err(error("this schema has queries only"))
        }
    };
    let mut vars = Vars::new();
    for d in defs {
        let value = match variables.get(&d.name) {
            Some(v) => v.clone(),
            None => d
                .default_value
                .as_ref()
                .map_or(Json::Null, |v| literal(v, &Vars::new())),
        };
        vars.insert(d.name.clone(), value);
    }
    if let Some(max) = limits.depth {
        let d = depth(selection, &fragments, &mut Vec::new())?;
        if d > max {
            return Err(error(&format!(
                "the query is nested {d} levels deep; at most {max} are allowed"
            )));
        }
    }
    if let Some(max) = limits.aliases {
        let n = aliases(selection, &fragments, &mut Vec::new())?;
        if n > max {
            return Err(error(&format!(
                "the query has {n} aliases; at most {max} are allowed"
            )));
        }
    }
    let schema =
        types::document().ok_or_else(|| Refusal::Crash("the schema does not parse".into()))?;
    let mut run = Run {
        fragments,
        vars,
        notes,
        schema,
        limits,
        resolved: 0,
    };
    let mut out = String::new();
    run.object(&Obj::Query, &[selection], &mut out)?;
    Ok(out)
}

fn op_name<'a>(o: &'a OperationDefinition<'_, String>) -> Option<&'a str> {
    match o {
        OperationDefinition::SelectionSet(_) => None,
        OperationDefinition::Query(q) => q.name.as_deref(),
        OperationDefinition::Mutation(m) => m.name.as_deref(),
        OperationDefinition::Subscription(s) => s.name.as_deref(),
    }
}

pub(crate) fn error(message: &str) -> Refusal {
    Refusal::Error(message.to_string())
}

/// An object being answered.
#[derive(Clone)]
pub(crate) enum Obj {
    Query,
    Note(u64),
    Page(Vec<u64>, Option<u64>),
    Schema,
    Type(TypeView),
    Field(Member),
    Arg(Member),
}

impl Obj {
    fn type_name(&self) -> &'static str {
        match self {
            Obj::Query => "Query",
            Obj::Note(_) => "Note",
            Obj::Page(..) => "NotePage",
            Obj::Schema => "__Schema",
            Obj::Type(_) => "__Type",
            Obj::Field(_) => "__Field",
            Obj::Arg(_) => "__InputValue",
        }
    }
}

/// A resolved field.
pub(crate) enum Val {
    Null,
    /// JSON text.
    Leaf(String),
    Obj(Obj),
    List(Vec<Val>),
}

struct Run<'a, 'd> {
    fragments: Fragments<'a, 'd>,
    vars: Vars,
    notes: &'a BTreeMap<u64, Note>,
    schema: &'static graphql_parser::schema::Document<'static, String>,
    limits: &'a Limits,
    resolved: usize,
}

impl<'a, 'd> Run<'a, 'd> {
    /// Writes `{"key": value, …}` for the fields of `sets` that apply to `obj`.
    fn object(
        &mut self,
        obj: &Obj,
        sets: &[&'a SelectionSet<'d, String>],
        out: &mut String,
    ) -> Result<(), Refusal> {
        let mut fields: Vec<(&'a str, Vec<&'a Field<'d, String>>)> = Vec::new();
        for set in sets.iter().copied() {
            self.collect(obj.type_name(), set, &mut fields, &mut Vec::new())?;
        }
        out.push('{');
        for (i, (key, group)) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&json::string(key));
            out.push(':');
            let val = self.resolve(obj, group[0])?;
            let subs: Vec<&'a SelectionSet<'d, String>> =
                group.iter().map(|&f| &f.selection_set).collect();
            self.write(val, group[0], &subs, out)?;
        }
        out.push('}');
        Ok(())
    }

    fn collect(
        &self,
        type_name: &str,
        set: &'a SelectionSet<'d, String>,
        fields: &mut Vec<(&'a str, Vec<&'a Field<'d, String>>)>,
        seen: &mut Vec<&'a str>,
    ) -> Result<(), Refusal> {
        for s in &set.items {
            match s {
                Selection::Field(f) => {
                    let key = f.alias.as_deref().unwrap_or(f.name.as_str());
                    match fields.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, group)) => group.push(f),
                        None => fields.push((key, vec![f])),
                    }
                }
                Selection::InlineFragment(i) => {
                    let applies = match &i.type_condition {
                        None => true,
                        Some(TypeCondition::On(t)) => t == type_name,
                    };
                    if applies {
                        self.collect(type_name, &i.selection_set, fields, seen)?;
                    }
                }
                Selection::FragmentSpread(s) => {
                    let name = s.fragment_name.as_str();
                    let f = fragment(&self.fragments, name, seen)?;
                    let TypeCondition::On(t) = &f.type_condition;
                    if t == type_name {
                        seen.push(name);
                        self.collect(type_name, &f.selection_set, fields, seen)?;
                        seen.pop();
                    }
                }
            }
        }
        Ok(())
    }

    fn write(
        &mut self,
        val: Val,
        field: &Field<'d, String>,
        subs: &[&'a SelectionSet<'d, String>],
        out: &mut String,
    ) -> Result<(), Refusal> {
        let has_subs = subs.iter().any(|s| !s.items.is_empty());
        match val {
            Val::Null => out.push_str("null"),
            Val::Leaf(_) if has_subs => {
                return Err(error(&format!(
                    "the field \"{}\" is a scalar and takes no selection",
                    field.name
                )))
            }
            Val::Leaf(text) => out.push_str(&text),
            Val::Obj(_) if !has_subs => {
                return Err(error(&format!(
                    "the field \"{}\" needs a selection of subfields",
                    field.name
                )))
            }
            Val::Obj(o) => self.object(&o, subs, out)?,
            Val::List(items) => {
                out.push('[');
                for (i, item) in items.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    self.write(item, field, subs, out)?;
                }
                out.push(']');
            }
        }
        Ok(())
    }

    fn arg(&self, field: &Field<'d, String>, name: &str) -> Json {
        field
            .arguments
            .iter()
            .find(|(n, _)| n == name)
            .map_or(Json::Null, |(_, v)| literal(v, &self.vars))
    }

    fn resolve(&mut self, obj: &Obj, field: &Field<'d, String>) -> Result<Val, Refusal> {
        self.resolved += 1;
        if self.resolved > self.limits.budget {
            let why = format!(
                "the query resolved more than {} fields: it is too expensive",
                self.limits.budget
            );
            return Err(if self.limits.crash_over_budget {
                Refusal::Crash("out of memory resolving the query".to_string())
            } else {
                Refusal::Error(why)
            });
        }
        let name = field.name.as_str();
        if name == "__typename" {
            return Ok(leaf(obj.type_name()));
        }
        let got = match obj {
            Obj::Query => self.query(field)?,
            Obj::Note(seq) => self.note(*seq, name),
            Obj::Page(items, next) => match name {
                "items" => Some(Val::List(
                    items.iter().map(|s| Val::Obj(Obj::Note(*s))).collect(),
                )),
                "nextCursor" => Some(next.map_or(Val::Null, |n| leaf(&format!("c{n}")))),
                _ => None,
            },
            Obj::Schema => introspect::schema_field(self.schema, name),
            Obj::Type(t) => introspect::type_field(self.schema, t, name),
            Obj::Field(m) | Obj::Arg(m) => introspect::member_field(m, name),
        };
        got.ok_or_else(|| {
            error(&format!(
                "Cannot query field \"{name}\" on type \"{}\"",
                obj.type_name()
            ))
        })
    }

    fn query(&mut self, field: &Field<'d, String>) -> Result<Option<Val>, Refusal> {
        let name = field.name.as_str();
        if matches!(name, "__schema" | "__type") && !self.limits.introspection {
            return Err(error("introspection is disabled"));
        }
        Ok(Some(match name {
            "note" => {
                let seq = match self.arg(field, "id") {
                    Json::Str(id) => id.strip_prefix("n_").and_then(|n| n.parse::<u64>().ok()),
                    Json::Null => return Err(error("note needs an id")),
                    _ => None,
                };
                match seq.filter(|s| self.notes.contains_key(s)) {
                    Some(s) => Val::Obj(Obj::Note(s)),
                    None => Val::Null,
                }
            }
            "notes" => self.page(field)?,
            "noteCount" if crate::routes::variant("graphql-extra-fields") => {
                Val::Leaf(self.notes.len().to_string())
            }
            "__schema" => Val::Obj(Obj::Schema),
            "__type" => match self.arg(field, "name") {
                Json::Str(n) if types::type_names(self.schema).contains(&n) => {
                    Val::Obj(Obj::Type(TypeView::Named(n)))
                }
                _ => Val::Null,
            },
            _ => return Ok(None),
        }))
    }

    /// `notes(limit, after)`: the REST listing's page, its cursor and its limits.
    fn page(&self, field: &Field<'d, String>) -> Result<Val, Refusal> {
        let limit = match self.arg(field, "limit") {
            Json::Null => 20,
            Json::Num(n) if n.fract() == 0.0 => n as i64,
            _ => return Err(error("limit must be an integer")),
        };
        let max = self.limits.list_cap.unwrap_or(i64::MAX);
        if limit < 1 || limit > max {
            return Err(error(&format!("limit must be from 1 to {max}")));
        }
        let after = match self.arg(field, "after") {
            Json::Null => 0,
            Json::Str(c) => c
                .strip_prefix('c')
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or_else(|| error("unknown cursor"))?,
            _ => return Err(error("after must be a cursor string")),
        };
        let mut seqs = self.notes.range(after.saturating_add(1)..).map(|(s, _)| *s);
        let items: Vec<u64> = seqs.by_ref().take(limit as usize).collect();
        let next = if seqs.next().is_some() {
            items.last().copied()
        } else {
            None
        };
        Ok(Val::Obj(Obj::Page(items, next)))
    }

    fn note(&self, seq: u64, name: &str) -> Option<Val> {
        let n = self.notes.get(&seq)?;
        Some(match name {
            "id" => leaf(&format!("n_{seq}")),
            "title" => leaf(&n.title),
            "body" => leaf(&n.body),
            "tags" => Val::List(n.tags.iter().map(|t| leaf(t)).collect()),
            "version" if self.limits.stale_version => Val::Leaf("1".to_string()),
            "version" => Val::Leaf(n.version.to_string()),
            "related" => Val::List(
                self.notes
                    .iter()
                    .filter(|(s, o)| **s != seq && o.tags.iter().any(|t| n.tags.contains(t)))
                    .map(|(s, _)| Val::Obj(Obj::Note(*s)))
                    .collect(),
            ),
            "words" if crate::routes::variant("graphql-extra-fields") => {
                Val::Leaf(n.body.split_whitespace().count().to_string())
            }
            _ => return None,
        })
    }
}

pub(crate) fn leaf(s: &str) -> Val {
    Val::Leaf(json::string(s))
}

/// An argument's value, variables substituted.
fn literal(v: &Value<'_, String>, vars: &Vars) -> Json {
    match v {
        Value::Variable(n) => vars.get(n).cloned().unwrap_or(Json::Null),
        Value::Int(i) => i.as_i64().map_or(Json::Null, |i| Json::Num(i as f64)),
        Value::Float(f) => Json::Num(*f),
        Value::String(s) => Json::Str(s.clone()),
        Value::Boolean(b) => Json::Bool(*b),
        Value::Null => Json::Null,
        Value::Enum(e) => Json::Str(e.clone()),
        Value::List(items) => Json::Arr(items.iter().map(|i| literal(i, vars)).collect()),
        Value::Object(map) => Json::Obj(
            map.iter()
                .map(|(k, v)| (k.clone(), literal(v, vars)))
                .collect(),
        ),
    }
}
