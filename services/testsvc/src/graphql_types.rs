//! The w09 GraphQL schema, read from its SDL (`graphql_schema.graphql`) with `graphql-parser`, and what
//! introspection says about it: `__schema`, `__type`, and the `__Type`, `__Field` and `__InputValue` objects
//! built from the parsed document, so the SDL served and the schema introspected cannot drift apart.

use std::sync::OnceLock;

use graphql_parser::schema::{Definition, Document, Field, ObjectType, Type, TypeDefinition};

use crate::routes::variant;

/// The schema every variant shares.
const SDL: &str = include_str!("graphql_schema.graphql");
/// `graphql-extra-fields` (a near miss): more than the contract asks, which every check must allow.
const EXTRA: &str = "\nextend type Query { noteCount: Int! }\nextend type Note { words: Int! }\n";

/// Built-in scalars the schema uses.
const SCALARS: [&str; 4] = ["ID", "String", "Int", "Boolean"];

/// The SDL as served: the extensions of the near miss written into their types; `graphql-sdl-stale` (a
/// defect) serves an older SDL without `Note.related`, which introspection still has.
pub fn sdl() -> String {
    if crate::routes::defect("graphql-sdl-stale") {
        SDL.replace("  related: [Note!]!\n", "")
    } else if variant("graphql-extra-fields") {
        SDL.replace("  version: Int!\n", "  version: Int!\n  words: Int!\n")
            .replace(
                "  notes(limit: Int = 20, after: String): NotePage!\n",
                "  notes(limit: Int = 20, after: String): NotePage!\n  noteCount: Int!\n",
            )
    } else {
        SDL.to_string()
    }
}

/// The parsed schema, read once; `None` only if the SDL above stopped parsing, which the unit test below
/// catches.
pub fn document() -> Option<&'static Document<'static, String>> {
    static DOCUMENT: OnceLock<Option<Document<'static, String>>> = OnceLock::new();
    DOCUMENT
        .get_or_init(|| {
            let text = if variant("graphql-extra-fields") {
                format!("{SDL}{EXTRA}")
            } else {
                SDL.to_string()
            };
            graphql_parser::parse_schema::<String>(&text)
                .ok()
                .map(|d| d.into_static())
        })
        .as_ref()
}

/// The object type `name`, with the fields of its extensions.
pub fn object(doc: &Document<'static, String>, name: &str) -> Option<ObjectType<'static, String>> {
    use graphql_parser::schema::TypeExtension;
    let mut found: Option<ObjectType<'static, String>> = None;
    for d in &doc.definitions {
        match d {
            Definition::TypeDefinition(TypeDefinition::Object(o)) if o.name == name => {
                let mut o = o.clone();
                if let Some(prev) = found.take() {
                    o.fields.extend(prev.fields);
                }
                found = Some(o);
            }
            Definition::TypeExtension(TypeExtension::Object(e)) if e.name == name => {
                match &mut found {
                    Some(o) => o.fields.extend(e.fields.iter().cloned()),
                    None => {
                        let mut o = ObjectType::new(name.to_string());
                        o.fields = e.fields.clone();
                        found = Some(o);
                    }
                }
            }
            _ => {}
        }
    }
    found
}

/// Every named type: the objects of the document, then the built-in scalars.
pub fn type_names(doc: &Document<'static, String>) -> Vec<String> {
    let mut out: Vec<String> = doc
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::TypeDefinition(TypeDefinition::Object(o)) => Some(o.name.clone()),
            _ => None,
        })
        .collect();
    out.extend(SCALARS.iter().map(|s| s.to_string()));
    out
}

/// A `__Type`: a named type or a wrapper around one.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeView {
    Named(String),
    List(Box<TypeView>),
    NonNull(Box<TypeView>),
}

impl TypeView {
    pub fn of(t: &Type<'static, String>) -> TypeView {
        match t {
            Type::NamedType(n) => TypeView::Named(n.clone()),
            Type::ListType(t) => TypeView::List(Box::new(TypeView::of(t))),
            Type::NonNullType(t) => TypeView::NonNull(Box::new(TypeView::of(t))),
        }
    }

    /// `__Type.kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            TypeView::Named(n) if SCALARS.contains(&n.as_str()) => "SCALAR",
            TypeView::Named(_) => "OBJECT",
            TypeView::List(_) => "LIST",
            TypeView::NonNull(_) => "NON_NULL",
        }
    }
}

/// A `__Field` or an `__InputValue`: a name, a type, arguments (fields only) and a default (arguments only).
#[derive(Clone, Debug)]
pub struct Member {
    pub name: String,
    pub ty: TypeView,
    pub args: Vec<Member>,
    pub default: Option<String>,
}

impl Member {
    pub fn of_field(f: &Field<'static, String>) -> Member {
        Member {
            name: f.name.clone(),
            ty: TypeView::of(&f.field_type),
            args: f
                .arguments
                .iter()
                .map(|a| Member {
                    name: a.name.clone(),
                    ty: TypeView::of(&a.value_type),
                    args: Vec::new(),
                    default: a.default_value.as_ref().map(|v| v.to_string()),
                })
                .collect(),
            default: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_parses_and_names_its_types() {
        let doc = document().expect("the SDL parses");
        let names = type_names(doc);
        assert!(names.contains(&"Note".to_string()), "{names:?}");
        let note = object(doc, "Note").expect("Note");
        let tags = note.fields.iter().find(|f| f.name == "tags").expect("tags");
        let view = TypeView::of(&tags.field_type);
        assert_eq!(view.kind(), "NON_NULL");
        let query = object(doc, "Query").expect("Query");
        let notes = Member::of_field(
            query
                .fields
                .iter()
                .find(|f| f.name == "notes")
                .expect("notes"),
        );
        assert_eq!(notes.args[0].default.as_deref(), Some("20"));
        graphql_parser::parse_schema::<String>(&format!("{SDL}{EXTRA}")).expect("extended parses");
    }
}
