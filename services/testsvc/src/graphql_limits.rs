//! The limits an operation is held to before it runs: how deep its fields nest and how many aliases it has,
//! fragments expanded as often as they are spread (a fragment that spreads itself is refused, not followed).

use std::collections::HashMap;

use graphql_parser::query::{FragmentDefinition, Selection, SelectionSet};

use crate::graphql_exec::{error, Refusal};

pub(crate) type Fragments<'a, 'd> = HashMap<&'a str, &'a FragmentDefinition<'d, String>>;

/// The deepest nesting of fields, fragments expanded (a fragment that spreads itself is an error).
pub(crate) fn depth<'a>(
    set: &'a SelectionSet<'_, String>,
    fragments: &Fragments<'a, '_>,
    seen: &mut Vec<&'a str>,
) -> Result<usize, Refusal> {
    let mut max = 0;
    for s in &set.items {
        let d = match s {
            Selection::Field(f) if f.selection_set.items.is_empty() => 1,
            Selection::Field(f) => 1 + depth(&f.selection_set, fragments, seen)?,
            Selection::InlineFragment(i) => depth(&i.selection_set, fragments, seen)?,
            Selection::FragmentSpread(s) => {
                let name = s.fragment_name.as_str();
                let f = fragment(fragments, name, seen)?;
                seen.push(name);
                let d = depth(&f.selection_set, fragments, seen)?;
                seen.pop();
                d
            }
        };
        max = max.max(d);
    }
    Ok(max)
}

/// Aliased fields, counted as often as the fragments holding them are spread.
pub(crate) fn aliases<'a>(
    set: &'a SelectionSet<'_, String>,
    fragments: &Fragments<'a, '_>,
    seen: &mut Vec<&'a str>,
) -> Result<usize, Refusal> {
    let mut n = 0usize;
    for s in &set.items {
        n = n.saturating_add(match s {
            Selection::Field(f) => {
                usize::from(f.alias.is_some()) + aliases(&f.selection_set, fragments, seen)?
            }
            Selection::InlineFragment(i) => aliases(&i.selection_set, fragments, seen)?,
            Selection::FragmentSpread(s) => {
                let name = s.fragment_name.as_str();
                let f = fragment(fragments, name, seen)?;
                seen.push(name);
                let n = aliases(&f.selection_set, fragments, seen)?;
                seen.pop();
                n
            }
        });
    }
    Ok(n)
}

pub(crate) fn fragment<'a, 'd>(
    fragments: &Fragments<'a, 'd>,
    name: &str,
    seen: &[&str],
) -> Result<&'a FragmentDefinition<'d, String>, Refusal> {
    if seen.contains(&name) {
        return Err(error(&format!("the fragment \"{name}\" spreads itself")));
    }
    fragments
        .get(name)
        .copied()
        .ok_or_else(|| error(&format!("unknown fragment \"{name}\"")))
}
