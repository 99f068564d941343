//! The schema as introspection describes it: read from `data.__schema` and checked for coherence (every type
//! a field, argument, interface or union names exists; wrappers wrap something); then held to the lab's
//! requirements (`require.rs`) and, when the check names one, the SDL served (`sdl.rs`).

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use super::request::{self, At, Payload};
use super::require::unmet;
use super::{sdl, Outcome, SchemaPart};

/// The standard introspection query (graphql-js's, with seven levels of `ofType`: 13 fields deep).
pub(super) const INTROSPECTION: &str = include_str!("introspection.graphql");

/// A type as a field or argument uses it: `[String!]!`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeRef {
    Named(String),
    List(Box<TypeRef>),
    NonNull(Box<TypeRef>),
}

impl TypeRef {
    /// The named type under the wrappers.
    pub fn leaf(&self) -> &str {
        match self {
            TypeRef::Named(n) => n,
            TypeRef::List(t) | TypeRef::NonNull(t) => t.leaf(),
        }
    }

    pub fn from_ast(t: &graphql_parser::schema::Type<'_, String>) -> TypeRef {
        use graphql_parser::schema::Type;
        match t {
            Type::NamedType(n) => TypeRef::Named(n.clone()),
            Type::ListType(t) => TypeRef::List(Box::new(TypeRef::from_ast(t))),
            Type::NonNullType(t) => TypeRef::NonNull(Box::new(TypeRef::from_ast(t))),
        }
    }
}

impl fmt::Display for TypeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeRef::Named(n) => f.write_str(n),
            TypeRef::List(t) => write!(f, "[{t}]"),
            TypeRef::NonNull(t) => write!(f, "{t}!"),
        }
    }
}

/// A field (or an input object's field, with no arguments).
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub args: Vec<Arg>,
    pub ty: TypeRef,
}

/// An argument: its type and whether it has a default (a non-null argument with one may be left out).
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub name: String,
    pub ty: TypeRef,
    pub has_default: bool,
}

/// A named type of the schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Type {
    /// `OBJECT`, `INTERFACE`, `INPUT_OBJECT`, `SCALAR`, `ENUM`, `UNION`.
    pub kind: String,
    pub fields: Vec<Field>,
    /// Names of interfaces (objects) or member types (unions).
    pub refs: Vec<String>,
}

/// The schema introspection describes.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub query: String,
    pub mutation: Option<String>,
    pub types: BTreeMap<String, Type>,
}

pub(super) fn field_of(f: &graphql_parser::schema::Field<'_, String>) -> Field {
    Field {
        name: f.name.clone(),
        args: f
            .arguments
            .iter()
            .map(|a| Arg {
                name: a.name.clone(),
                ty: TypeRef::from_ast(&a.value_type),
                has_default: a.default_value.is_some(),
            })
            .collect(),
        ty: TypeRef::from_ast(&f.field_type),
    }
}

/// Runs the schema part: introspection, coherence, requirements, then the SDL when the check names it.
pub(super) async fn run(part: &SchemaPart, at: &At<'_>, t: &mut String) -> Result<(), Outcome> {
    let body = serde_json::json!({ "query": INTROSPECTION, "operationName": "IntrospectionQuery" });
    let reply = request::send(at, "the introspection query", Payload::Json(&body), None, t)
        .await
        .map_err(|e| e.outcome("the introspection query"))?;
    if reply.status != 200 {
        return Err(failed(format!(
            "the introspection query was answered {}, not 200{}",
            reply.status,
            said(&reply)
        )));
    }
    if !request::is_graphql_json(&reply.content_type) {
        return Err(failed(format!(
            "the introspection answer is not application/json (Content-Type: {})",
            if reply.content_type.is_empty() {
                "none"
            } else {
                reply.content_type.as_str()
            }
        )));
    }
    let Some(raw) = reply
        .json
        .as_ref()
        .and_then(|j| j.pointer("/data/__schema"))
        .filter(|s| s.is_object())
    else {
        return Err(failed(format!(
            "the introspection answer has no data.__schema: is introspection switched off?{}",
            said(&reply)
        )));
    };
    let schema = read(raw).map_err(|problems| {
        t.push_str(&format!("incoherent schema: {}\n", problems.join("; ")));
        failed(format!(
            "the schema introspection describes is not coherent: {}",
            first_three(&problems)
        ))
    })?;
    t.push_str(&format!(
        "introspection: {} types, query type {}{}\n",
        schema.types.len(),
        schema.query,
        schema
            .mutation
            .as_ref()
            .map_or(String::new(), |m| format!(", mutation type {m}"))
    ));
    let missing = unmet(&schema, &part.require);
    if !missing.is_empty() {
        t.push_str(&format!("requirements not met: {}\n", missing.join("; ")));
        return Err(failed(format!(
            "the schema does not have what the contract asks: {}",
            first_three(&missing)
        )));
    }
    t.push_str(&format!(
        "every required type and field is there ({} types)\n",
        part.require.len()
    ));
    if let Some(path) = &part.sdl {
        sdl::run(path, &schema, at, t).await?;
    }
    Ok(())
}

fn failed(why: String) -> Outcome {
    Outcome::Failed(format!("failed: {why}"))
}

/// ` (the first error says: …)` when the answer has errors.
fn said(reply: &request::Reply) -> String {
    if reply.errors().is_some() {
        format!(" (the first error says: {})", reply.first_error())
    } else {
        String::new()
    }
}

pub(super) fn first_three(problems: &[String]) -> String {
    let mut s = problems
        .iter()
        .take(3)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if problems.len() > 3 {
        s.push_str(&format!(" (and {} more)", problems.len() - 3));
    }
    s
}

/// Reads `data.__schema`; `Err` with every coherence problem.
pub fn read(raw: &Value) -> Result<Schema, Vec<String>> {
    let mut problems = Vec::new();
    let name_of = |v: Option<&Value>| {
        v.and_then(|t| t.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let query = name_of(raw.get("queryType"));
    let mutation = name_of(raw.get("mutationType"));
    let mut types = BTreeMap::new();
    let listed = raw.get("types").and_then(Value::as_array);
    if listed.is_none() {
        problems.push("`types` is not a list".to_string());
    }
    for ty in listed.into_iter().flatten() {
        let Some(name) = ty.get("name").and_then(Value::as_str) else {
            problems.push("a type has no name".to_string());
            continue;
        };
        let kind = ty
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let mut fields = Vec::new();
        for key in ["fields", "inputFields"] {
            for f in ty.get(key).and_then(Value::as_array).into_iter().flatten() {
                match field(f) {
                    Ok(f) => fields.push(f),
                    Err(e) => problems.push(format!("in `{name}`: {e}")),
                }
            }
        }
        let mut refs = Vec::new();
        for key in ["interfaces", "possibleTypes"] {
            for r in ty.get(key).and_then(Value::as_array).into_iter().flatten() {
                match type_ref(r, 0) {
                    Ok(r) => refs.push(r.leaf().to_string()),
                    Err(e) => problems.push(format!("in `{name}`: {e}")),
                }
            }
        }
        if types
            .insert(name.to_string(), Type { kind, fields, refs })
            .is_some()
        {
            problems.push(format!("the type `{name}` is listed twice"));
        }
    }
    match &query {
        None => problems.push("there is no query type".to_string()),
        Some(q) if types.get(q).is_none_or(|t| t.kind != "OBJECT") => {
            problems.push(format!(
                "the query type `{q}` is not an object type of the schema"
            ));
        }
        Some(_) => {}
    }
    for (name, ty) in &types {
        let used = ty
            .fields
            .iter()
            .flat_map(|f| {
                std::iter::once((f.name.as_str(), f.ty.leaf()))
                    .chain(f.args.iter().map(|a| (a.name.as_str(), a.ty.leaf())))
            })
            .chain(ty.refs.iter().map(|r| ("", r.as_str())));
        for (at, leaf) in used {
            if !types.contains_key(leaf) {
                let at = if at.is_empty() {
                    name.clone()
                } else {
                    format!("{name}.{at}")
                };
                problems.push(format!(
                    "`{at}` names the type `{leaf}`, which is not in the schema"
                ));
            }
        }
    }
    match query {
        Some(query) if problems.is_empty() => Ok(Schema {
            query,
            mutation,
            types,
        }),
        _ => Err(problems),
    }
}

fn field(f: &Value) -> Result<Field, String> {
    let name = f
        .get("name")
        .and_then(Value::as_str)
        .ok_or("a field has no name")?
        .to_string();
    let ty = type_ref(f.get("type").unwrap_or(&Value::Null), 0)
        .map_err(|e| format!("the field `{name}`: {e}"))?;
    let mut args = Vec::new();
    for a in f
        .get("args")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let arg = a
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("an argument of `{name}` has no name"))?;
        let aty = type_ref(a.get("type").unwrap_or(&Value::Null), 0)
            .map_err(|e| format!("the argument `{arg}` of `{name}`: {e}"))?;
        args.push(Arg {
            name: arg.to_string(),
            ty: aty,
            has_default: a.get("defaultValue").is_some_and(|d| !d.is_null()),
        });
    }
    Ok(Field { name, args, ty })
}

/// A `__Type` reference: wrappers (`NON_NULL`, `LIST`) must wrap something, named types have a name.
fn type_ref(v: &Value, depth: usize) -> Result<TypeRef, String> {
    if depth > 16 {
        return Err("a type is wrapped more than 16 times".to_string());
    }
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
    let inner = || match v.get("ofType").filter(|o| o.is_object()) {
        Some(o) => type_ref(o, depth + 1),
        None => Err(format!("a {kind} type wraps nothing (no ofType)")),
    };
    match kind {
        "NON_NULL" => Ok(TypeRef::NonNull(Box::new(inner()?))),
        "LIST" => Ok(TypeRef::List(Box::new(inner()?))),
        _ => v
            .get("name")
            .and_then(Value::as_str)
            .map(|n| TypeRef::Named(n.to_string()))
            .ok_or_else(|| "a type reference has no name".to_string()),
    }
}
