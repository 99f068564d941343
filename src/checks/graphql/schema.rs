//! The schema as introspection describes it: read from `data.__schema`, checked for coherence (every type a
//! field, argument, interface or union names exists; wrappers wrap something), and held to the lab's
//! requirements, which check files write as SDL and `graphql-parser` reads.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use super::request::{self, At, Payload};
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

/// An object type the contract names, with the fields (and their arguments) it must have.
#[derive(Debug, Clone, PartialEq)]
pub struct Requirement {
    pub type_name: String,
    pub fields: Vec<Field>,
}

/// Reads requirements from SDL; `Err` with the parser's message (which names a line and column of the SDL),
/// or with what the SDL has that cannot be required.
pub fn requirements(sdl: &str) -> Result<Vec<Requirement>, String> {
    use graphql_parser::schema::{Definition, TypeDefinition};
    let doc = graphql_parser::parse_schema::<String>(sdl).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for d in &doc.definitions {
        match d {
            Definition::TypeDefinition(TypeDefinition::Object(o)) => out.push(Requirement {
                type_name: o.name.clone(),
                fields: o.fields.iter().map(field_of).collect(),
            }),
            _ => {
                return Err(
                    "only object types (`type Name { field: Type }`) can be required".to_string(),
                )
            }
        }
    }
    if out.is_empty() {
        return Err("no type is required".to_string());
    }
    Ok(out)
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

/// Every requirement the schema does not meet, in words that name the contract's types and fields.
pub fn unmet(schema: &Schema, require: &[Requirement]) -> Vec<String> {
    let mut out = Vec::new();
    for r in require {
        // The contract's `Query` and `Mutation` are whatever the schema names its root types.
        let actual = match r.type_name.as_str() {
            "Query" => schema.query.clone(),
            "Mutation" => schema
                .mutation
                .clone()
                .unwrap_or_else(|| "Mutation".to_string()),
            n => n.to_string(),
        };
        let Some(ty) = schema.types.get(&actual) else {
            out.push(format!("the schema has no type `{}`", r.type_name));
            continue;
        };
        if ty.kind != "OBJECT" {
            out.push(format!(
                "`{}` is {}, not an object type",
                r.type_name, ty.kind
            ));
            continue;
        }
        for want in &r.fields {
            let at = format!("{}.{}", r.type_name, want.name);
            let Some(got) = ty.fields.iter().find(|f| f.name == want.name) else {
                out.push(format!("the schema has no field `{at}`"));
                continue;
            };
            if got.ty != want.ty {
                out.push(format!(
                    "`{at}` is of type `{}`; the contract says `{}`",
                    got.ty, want.ty
                ));
            }
            out.extend(unmet_args(&at, want, got));
        }
    }
    out
}

fn unmet_args(at: &str, want: &Field, got: &Field) -> Vec<String> {
    let mut out = Vec::new();
    for a in &want.args {
        match got.args.iter().find(|g| g.name == a.name) {
            None => out.push(format!("`{at}` has no argument `{}`", a.name)),
            // An argument that accepts more (nullable where the contract says non-null) takes every value
            // the contract's clients send.
            Some(g) if g.ty == a.ty || TypeRef::NonNull(Box::new(g.ty.clone())) == a.ty => {}
            Some(g) => out.push(format!(
                "the argument `{}` of `{at}` is of type `{}`; the contract says `{}`",
                a.name, g.ty, a.ty
            )),
        }
    }
    for g in &got.args {
        let required = matches!(g.ty, TypeRef::NonNull(_)) && !g.has_default;
        if required && !want.args.iter().any(|a| a.name == g.name) {
            out.push(format!(
                "`{at}` requires an argument `{}` that the contract does not have",
                g.name
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTRACT: &str =
        "type Query { note(id: ID!): Note notes(limit: Int = 20, after: String): NotePage! }\n\
        type Note { id: ID! title: String! tags: [String!]! }\n\
        type NotePage { items: [Note!]! nextCursor: String }";

    fn named(n: &str) -> Value {
        serde_json::json!({"kind": "SCALAR", "name": n, "ofType": null})
    }

    fn non_null(t: Value) -> Value {
        serde_json::json!({"kind": "NON_NULL", "name": null, "ofType": t})
    }

    fn object(name: &str, fields: Value) -> Value {
        serde_json::json!({"kind": "OBJECT", "name": name, "fields": fields, "interfaces": []})
    }

    fn introspected(title: Value) -> Value {
        let note = serde_json::json!({"kind": "OBJECT", "name": "Note", "ofType": null});
        let list = |t| serde_json::json!({"kind": "LIST", "name": null, "ofType": t});
        serde_json::json!({
            "queryType": {"name": "Root"},
            "types": [
                object("Root", serde_json::json!([
                    {"name": "note", "args": [{"name": "id", "type": non_null(named("ID")), "defaultValue": null}], "type": note.clone()},
                    {"name": "notes", "args": [
                        {"name": "limit", "type": named("Int"), "defaultValue": "20"},
                        {"name": "after", "type": named("String"), "defaultValue": null}],
                     "type": non_null(serde_json::json!({"kind": "OBJECT", "name": "NotePage"}))}
                ])),
                object("Note", serde_json::json!([
                    {"name": "id", "args": [], "type": non_null(named("ID"))},
                    {"name": "title", "args": [], "type": title},
                    {"name": "tags", "args": [], "type": non_null(list(non_null(named("String"))))},
                    {"name": "extra", "args": [], "type": named("Int")}
                ])),
                object("NotePage", serde_json::json!([
                    {"name": "items", "args": [], "type": non_null(list(non_null(note.clone())))},
                    {"name": "nextCursor", "args": [], "type": named("String")}
                ])),
                named("ID"), named("String"), named("Int")
            ]
        })
    }

    #[test]
    fn a_schema_with_what_the_contract_names_and_more_meets_it() {
        let require = requirements(CONTRACT).expect("the contract parses");
        assert_eq!(require.len(), 3);
        assert_eq!(require[1].fields[2].ty.to_string(), "[String!]!");
        let schema = read(&introspected(non_null(named("String")))).expect("coherent");
        assert_eq!(unmet(&schema, &require), Vec::<String>::new());
    }

    #[test]
    fn a_field_of_another_type_is_named_with_both_types() {
        let require = requirements(CONTRACT).expect("the contract parses");
        let schema = read(&introspected(named("String"))).expect("coherent");
        assert_eq!(
            unmet(&schema, &require),
            ["`Note.title` is of type `String`; the contract says `String!`"]
        );
    }

    #[test]
    fn a_type_named_but_not_listed_makes_the_schema_incoherent() {
        let mut raw = introspected(non_null(named("String")));
        raw["types"].as_array_mut().expect("types").pop();
        let problems = read(&raw).expect_err("Int is gone");
        assert!(
            problems
                .iter()
                .any(|p| p.contains("`Root.limit` names the type `Int`")),
            "{problems:?}"
        );
        let mut raw = introspected(serde_json::json!({"kind": "NON_NULL", "ofType": null}));
        raw["queryType"] = serde_json::json!({"name": "Nope"});
        let problems = read(&raw).expect_err("broken");
        assert!(
            problems.iter().any(|p| p.contains("wraps nothing")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("query type `Nope`")),
            "{problems:?}"
        );
    }

    #[test]
    fn requirements_that_do_not_parse_say_where() {
        let e = requirements("type Query {\n  note(id: ID!: Note\n}").expect_err("broken");
        assert!(e.contains("2:"), "{e}");
        let e = requirements("enum Color { RED }").expect_err("not an object");
        assert!(e.contains("only object types"), "{e}");
    }
}
