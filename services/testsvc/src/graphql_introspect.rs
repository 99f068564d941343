//! Introspection of the w09 schema: `__Schema`, `__Type`, `__Field` and `__InputValue` answered from the
//! parsed SDL (`graphql_types.rs`), so the schema served and the schema introspected are one.

use graphql_parser::schema::Document;

use crate::graphql_exec::{leaf, Obj, Val};
use crate::graphql_types::{self as types, Member, TypeView};

/// A field of `__Schema`.
pub(crate) fn schema_field(schema: &'static Document<'static, String>, name: &str) -> Option<Val> {
    Some(match name {
        "queryType" => Val::Obj(Obj::Type(TypeView::Named("Query".to_string()))),
        "mutationType" | "subscriptionType" | "description" => Val::Null,
        "types" => Val::List(
            types::type_names(schema)
                .into_iter()
                .map(|n| Val::Obj(Obj::Type(TypeView::Named(n))))
                .collect(),
        ),
        "directives" => Val::List(Vec::new()),
        _ => return None,
    })
}

/// A field of `__Type`: a named type of the schema or a wrapper.
pub(crate) fn type_field(
    schema: &'static Document<'static, String>,
    t: &TypeView,
    name: &str,
) -> Option<Val> {
    let object = match t {
        TypeView::Named(n) => types::object(schema, n),
        _ => None,
    };
    Some(match name {
        "kind" => leaf(t.kind()),
        "name" => match t {
            TypeView::Named(n) => leaf(n),
            _ => Val::Null,
        },
        "fields" => match object {
            Some(o) => Val::List(
                o.fields
                    .iter()
                    .map(|f| Val::Obj(Obj::Field(Member::of_field(f))))
                    .collect(),
            ),
            None => Val::Null,
        },
        "interfaces" => match object {
            Some(_) => Val::List(Vec::new()),
            None => Val::Null,
        },
        "ofType" => match t {
            TypeView::List(inner) | TypeView::NonNull(inner) => {
                Val::Obj(Obj::Type((**inner).clone()))
            }
            TypeView::Named(_) => Val::Null,
        },
        "description" | "possibleTypes" | "enumValues" | "inputFields" | "specifiedByURL" => {
            Val::Null
        }
        "isOneOf" => Val::Leaf("false".to_string()),
        _ => return None,
    })
}

/// A field of `__Field` or `__InputValue`.
pub(crate) fn member_field(m: &Member, name: &str) -> Option<Val> {
    Some(match name {
        "name" => leaf(&m.name),
        "type" => Val::Obj(Obj::Type(m.ty.clone())),
        "args" => Val::List(
            m.args
                .iter()
                .map(|a| Val::Obj(Obj::Arg(a.clone())))
                .collect(),
        ),
        "defaultValue" => m.default.as_deref().map_or(Val::Null, leaf),
        "isDeprecated" => Val::Leaf("false".to_string()),
        "description" | "deprecationReason" => Val::Null,
        _ => return None,
    })
}
