//! The `depends_on` graph: which dependencies close a cycle, and the order a suite runs in.
//!
//! Checks run in file order because authors read files top to bottom; a check that names a later one waits
//! for it, so a forward reference still works.

use std::collections::HashMap;

/// For each check, `(position in its depends_on, index of the check named)`; unknown names are left out.
pub(super) fn edges<'a>(
    ids: &[&str],
    deps: impl Iterator<Item = &'a [String]>,
) -> Vec<Vec<(usize, usize)>> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, id) in ids.iter().enumerate() {
        index.entry(id).or_insert(i);
    }
    deps.map(|d| {
        d.iter()
            .enumerate()
            .filter_map(|(pos, name)| index.get(name.as_str()).map(|j| (pos, *j)))
            .collect()
    })
    .collect()
}

/// The edges `(check, position)` that close a cycle, found by depth-first search in file order: one per cycle.
pub(super) fn cycle_edges(edges: &[Vec<(usize, usize)>]) -> Vec<(usize, usize)> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        i: usize,
        edges: &[Vec<(usize, usize)>],
        marks: &mut [Mark],
        out: &mut Vec<(usize, usize)>,
    ) {
        marks[i] = Mark::Open;
        for &(pos, j) in &edges[i] {
            match marks[j] {
                Mark::Open => out.push((i, pos)),
                Mark::New => visit(j, edges, marks, out),
                Mark::Done => {}
            }
        }
        marks[i] = Mark::Done;
    }
    let mut marks = vec![Mark::New; edges.len()];
    let mut out = Vec::new();
    for i in 0..edges.len() {
        if marks[i] == Mark::New {
            visit(i, edges, &mut marks, &mut out);
        }
    }
    out
}

/// File order, except that a check comes after the checks it depends on; checks caught in a cycle (only
/// possible in a suite built in code) keep file order.
pub(super) fn run_order(edges: &[Vec<(usize, usize)>]) -> Vec<usize> {
    let n = edges.len();
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let ready = (0..n)
            .find(|&i| !done[i] && edges[i].iter().all(|&(_, j)| done[j]))
            .or_else(|| (0..n).find(|&i| !done[i]));
        let Some(i) = ready else { break };
        done[i] = true;
        order.push(i);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(deps: &[&[&str]]) -> Vec<Vec<(usize, usize)>> {
        let ids = ["a", "b", "c"];
        let owned: Vec<Vec<String>> = deps
            .iter()
            .map(|d| d.iter().map(|s| s.to_string()).collect())
            .collect();
        edges(&ids[..deps.len()], owned.iter().map(Vec::as_slice))
    }

    #[test]
    fn finds_one_edge_per_cycle() {
        assert_eq!(cycle_edges(&graph(&[&["b"], &["c"], &["a"]])), vec![(2, 0)]);
        assert_eq!(cycle_edges(&graph(&[&["a"]])), vec![(0, 0)]);
        assert!(cycle_edges(&graph(&[&[], &["a"], &["a", "b"]])).is_empty());
    }

    #[test]
    fn forward_dependencies_run_first() {
        assert_eq!(run_order(&graph(&[&["c"], &[], &[]])), vec![1, 2, 0]);
        assert_eq!(run_order(&graph(&[&[], &["a"], &["b"]])), vec![0, 1, 2]);
    }
}
