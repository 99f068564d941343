//! The lab's requirements: object types, fields and arguments written as SDL in the check file (read with
//! `graphql-parser`), and every way a schema read from introspection falls short of them.

use super::schema::{field_of, Field, Schema, TypeRef};

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
    use crate::checks::graphql::schema::read;
    use serde_json::Value;

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
