//! The schema as SDL, when the lab asks the service to serve it: it must parse (`graphql-parser`, whose
//! nesting limit keeps an untrusted document from exhausting the grader's stack) and describe the same types,
//! fields and arguments as introspection.

use std::collections::BTreeMap;

use super::request::{self, At};
use super::schema::{self, field_of, Arg, Field, Schema, Type};
use super::Outcome;

/// Scalars every schema has, which SDL need not declare.
const BUILT_IN: [&str; 5] = ["String", "Int", "Float", "Boolean", "ID"];

pub(super) async fn run(
    path: &str,
    schema: &Schema,
    at: &At<'_>,
    t: &mut String,
) -> Result<(), Outcome> {
    let what = format!("GET {path} (the schema as SDL)");
    let reply = request::get(at, path, t)
        .await
        .map_err(|e| e.outcome(&what))?;
    if reply.status != 200 {
        return Err(failed(format!("{what} was answered {}", reply.status)));
    }
    let text = reply.text;
    let sdl = read(&text).map_err(|e| {
        t.push_str(&format!("the SDL does not parse: {e}\n"));
        failed(format!(
            "the SDL at {path} does not parse: {}",
            first_line(&e)
        ))
    })?;
    let differences = compare(schema, &sdl);
    if differences.is_empty() {
        t.push_str(&format!(
            "the SDL ({} bytes) agrees with introspection\n",
            text.len()
        ));
        return Ok(());
    }
    t.push_str(&format!(
        "the SDL and introspection differ: {}\n",
        differences.join("; ")
    ));
    Err(failed(format!(
        "the SDL at {path} and introspection differ: {}",
        schema::first_three(&differences)
    )))
}

fn failed(why: String) -> Outcome {
    Outcome::Failed(format!("failed: {why}"))
}

fn first_line(e: &str) -> String {
    e.lines().take(2).collect::<Vec<_>>().join(": ")
}

/// The schema an SDL document describes, as introspection would: root type names and the named types.
pub fn read(text: &str) -> Result<Schema, String> {
    use graphql_parser::schema::{Definition, TypeDefinition};
    let doc = graphql_parser::parse_schema::<String>(text).map_err(|e| e.to_string())?;
    let mut query = "Query".to_string();
    let mut mutation = None;
    let mut types = BTreeMap::new();
    for d in &doc.definitions {
        let (name, ty) = match d {
            Definition::SchemaDefinition(s) => {
                if let Some(q) = &s.query {
                    query = q.clone();
                }
                mutation = s.mutation.clone();
                continue;
            }
            Definition::TypeDefinition(TypeDefinition::Object(o)) => (
                &o.name,
                typed(
                    "OBJECT",
                    o.fields.iter().map(field_of).collect(),
                    &o.implements_interfaces,
                ),
            ),
            Definition::TypeDefinition(TypeDefinition::Interface(i)) => (
                &i.name,
                typed("INTERFACE", i.fields.iter().map(field_of).collect(), &[]),
            ),
            Definition::TypeDefinition(TypeDefinition::InputObject(i)) => {
                let fields = i
                    .fields
                    .iter()
                    .map(|f| Field {
                        name: f.name.clone(),
                        args: Vec::new(),
                        ty: schema::TypeRef::from_ast(&f.value_type),
                    })
                    .collect();
                (&i.name, typed("INPUT_OBJECT", fields, &[]))
            }
            Definition::TypeDefinition(TypeDefinition::Scalar(s)) => {
                (&s.name, typed("SCALAR", Vec::new(), &[]))
            }
            Definition::TypeDefinition(TypeDefinition::Enum(e)) => {
                (&e.name, typed("ENUM", Vec::new(), &[]))
            }
            Definition::TypeDefinition(TypeDefinition::Union(u)) => {
                (&u.name, typed("UNION", Vec::new(), &u.types))
            }
            Definition::TypeExtension(_) | Definition::DirectiveDefinition(_) => continue,
        };
        types.insert(name.clone(), ty);
    }
    if mutation.is_none() && types.contains_key("Mutation") {
        mutation = Some("Mutation".to_string());
    }
    Ok(Schema {
        query,
        mutation,
        types,
    })
}

fn typed(kind: &str, fields: Vec<Field>, refs: &[String]) -> Type {
    Type {
        kind: kind.to_string(),
        fields,
        refs: refs.to_vec(),
    }
}

/// What differs between introspection and the SDL, introspection's meta types and the built-in scalars aside.
pub fn compare(introspected: &Schema, sdl: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    if introspected.query != sdl.query {
        out.push(format!(
            "the query type is `{}` by introspection and `{}` in the SDL",
            introspected.query, sdl.query
        ));
    }
    let own = |name: &&String| !name.starts_with("__") && !BUILT_IN.contains(&name.as_str());
    for (name, ty) in introspected.types.iter().filter(|(n, _)| own(n)) {
        let Some(other) = sdl.types.get(name) else {
            out.push(format!("the SDL has no type `{name}`"));
            continue;
        };
        if other.kind != ty.kind {
            out.push(format!(
                "`{name}` is {} by introspection and {} in the SDL",
                ty.kind, other.kind
            ));
            continue;
        }
        for f in &ty.fields {
            match other.fields.iter().find(|o| o.name == f.name) {
                None => out.push(format!("the SDL has no field `{name}.{}`", f.name)),
                Some(o) if o.ty != f.ty => out.push(format!(
                    "`{name}.{}` is `{}` by introspection and `{}` in the SDL",
                    f.name, f.ty, o.ty
                )),
                Some(o) if !same_args(&f.args, &o.args) => {
                    out.push(format!("the arguments of `{name}.{}` differ", f.name))
                }
                Some(_) => {}
            }
        }
        for o in &other.fields {
            if !ty.fields.iter().any(|f| f.name == o.name) {
                out.push(format!(
                    "the SDL has a field `{name}.{}` that introspection does not",
                    o.name
                ));
            }
        }
    }
    for name in sdl.types.keys().filter(own) {
        if !introspected.types.contains_key(name) {
            out.push(format!(
                "the SDL has a type `{name}` that introspection does not"
            ));
        }
    }
    out
}

fn same_args(a: &[Arg], b: &[Arg]) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|x| b.iter().any(|y| y.name == x.name && y.ty == x.ty))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_schema_agrees_and_a_changed_field_is_named() {
        let text = "schema { query: Root }\ntype Root { note(id: ID!): Note }\ntype Note { id: ID! title: String! }";
        let a = read(text).expect("parses");
        assert_eq!(a.query, "Root");
        assert!(compare(&a, &a).is_empty());
        let b = read(&text.replace("title: String!", "title: String")).expect("parses");
        assert_eq!(
            compare(&a, &b),
            ["`Note.title` is `String!` by introspection and `String` in the SDL"]
        );
        let c = read(&format!("{text}\ntype Extra {{ x: Int }}")).expect("parses");
        assert_eq!(
            compare(&a, &c),
            ["the SDL has a type `Extra` that introspection does not"]
        );
    }

    #[test]
    fn a_document_nested_past_the_parser_limit_is_refused_not_a_crash() {
        let deep = format!("type Q {{ f: {}Int{} }}", "[".repeat(500), "]".repeat(500));
        let e = read(&deep).expect_err("too deep");
        assert!(e.contains("Recursion limit"), "{e}");
    }
}
