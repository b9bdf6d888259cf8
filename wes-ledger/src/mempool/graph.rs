//! Which pooled transactions depend on which: a transaction is a *child* of every pooled
//! transaction whose outputs it spends or reads, and a block can hold it only after them.

use std::collections::{BTreeSet, HashMap, HashSet};

use wes_core::TxId;

/// Parent and child links between pooled transactions. Every link joins two pooled
/// transactions; a transaction whose parents are all confirmed has none.
#[derive(Debug, Default)]
pub(super) struct Graph {
    parents: HashMap<TxId, Vec<TxId>>,
    children: HashMap<TxId, Vec<TxId>>,
}

impl Graph {
    /// Adds `id` with its pooled `parents`.
    pub fn add(&mut self, id: TxId, parents: Vec<TxId>) {
        for parent in &parents {
            self.children.entry(*parent).or_default().push(id);
        }
        if !parents.is_empty() {
            self.parents.insert(id, parents);
        }
    }

    /// Removes `id` and its links both ways: its children keep their other parents.
    pub fn detach(&mut self, id: &TxId) {
        for parent in self.parents.remove(id).unwrap_or_default() {
            if let Some(siblings) = self.children.get_mut(&parent) {
                siblings.retain(|c| c != id);
                if siblings.is_empty() {
                    self.children.remove(&parent);
                }
            }
        }
        for child in self.children.remove(id).unwrap_or_default() {
            if let Some(parents) = self.parents.get_mut(&child) {
                parents.retain(|p| p != id);
                if parents.is_empty() {
                    self.parents.remove(&child);
                }
            }
        }
    }

    /// The pooled transactions `id` depends on directly.
    pub fn parents_of(&self, id: &TxId) -> &[TxId] {
        self.parents.get(id).map_or(&[], Vec::as_slice)
    }

    /// The pooled transactions depending on `id` directly.
    pub fn children_of(&self, id: &TxId) -> &[TxId] {
        self.children.get(id).map_or(&[], Vec::as_slice)
    }

    /// `start` and every pooled transaction they depend on, directly or not.
    pub fn ancestors(&self, start: &[TxId]) -> HashSet<TxId> {
        let mut seen: HashSet<TxId> = start.iter().copied().collect();
        let mut todo: Vec<TxId> = start.to_vec();
        while let Some(id) = todo.pop() {
            for parent in self.parents_of(&id) {
                if seen.insert(*parent) {
                    todo.push(*parent);
                }
            }
        }
        seen
    }

    /// Every pooled transaction depending on `id`, directly or not (`id` excluded).
    pub fn descendants(&self, id: &TxId) -> Vec<TxId> {
        let mut seen = HashSet::from([*id]);
        let mut out = Vec::new();
        let mut todo = vec![*id];
        while let Some(at) = todo.pop() {
            for child in self.children_of(&at) {
                if seen.insert(*child) {
                    out.push(*child);
                    todo.push(*child);
                }
            }
        }
        out
    }

    /// `id` and those of its ancestors not in `skip`, each after every parent it has
    /// outside `skip`: the order a block must hold them in.
    pub fn with_ancestors_in_order(&self, id: TxId, skip: &HashSet<TxId>) -> Vec<TxId> {
        // Iterative depth-first search, emitting a transaction once its parents are out.
        let mut out = Vec::new();
        let mut placed: HashSet<TxId> = HashSet::new();
        let mut stack = vec![(id, false)];
        while let Some((at, parents_done)) = stack.pop() {
            if placed.contains(&at) || skip.contains(&at) {
                continue;
            }
            if parents_done {
                placed.insert(at);
                out.push(at);
                continue;
            }
            stack.push((at, true));
            for parent in self.parents_of(&at) {
                if !placed.contains(parent) && !skip.contains(parent) {
                    stack.push((*parent, false));
                }
            }
        }
        out
    }

    /// All of `ids` (the whole pool) with every transaction after its parents; among those
    /// free to go next, the smallest id first, so the order is deterministic.
    pub fn in_order(&self, ids: impl Iterator<Item = TxId>) -> Vec<TxId> {
        let mut waiting: HashMap<TxId, usize> = HashMap::new();
        let mut ready = BTreeSet::new();
        for id in ids {
            match self.parents_of(&id).len() {
                0 => {
                    ready.insert(id);
                }
                n => {
                    waiting.insert(id, n);
                }
            }
        }
        let mut out = Vec::with_capacity(ready.len() + waiting.len());
        while let Some(id) = ready.pop_first() {
            out.push(id);
            for child in self.children_of(&id) {
                if let Some(n) = waiting.get_mut(child) {
                    *n -= 1;
                    if *n == 0 {
                        waiting.remove(child);
                        ready.insert(*child);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wes_core::Hash;

    fn id(n: u8) -> TxId {
        TxId(Hash([n; 32]))
    }

    /// 1 ← 2 ← 4, 1 ← 3 ← 4 (a diamond), and 5 alone.
    fn diamond() -> Graph {
        let mut g = Graph::default();
        g.add(id(1), vec![]);
        g.add(id(2), vec![id(1)]);
        g.add(id(3), vec![id(1)]);
        g.add(id(4), vec![id(2), id(3)]);
        g.add(id(5), vec![]);
        g
    }

    fn position(order: &[TxId], n: u8) -> usize {
        order.iter().position(|x| *x == id(n)).unwrap()
    }

    #[test]
    fn ancestors_and_descendants_follow_every_path_once() {
        let g = diamond();
        let up = g.ancestors(&[id(4)]);
        assert_eq!(up.len(), 4);
        let mut down = g.descendants(&id(1));
        down.sort();
        assert_eq!(down, vec![id(2), id(3), id(4)]);
        assert!(g.descendants(&id(5)).is_empty());
    }

    #[test]
    fn packages_and_the_whole_order_put_parents_first() {
        let g = diamond();
        let package = g.with_ancestors_in_order(id(4), &HashSet::new());
        assert_eq!(package.len(), 4);
        assert_eq!(package[0], id(1));
        assert_eq!(package[3], id(4));
        let skip = HashSet::from([id(1), id(2)]);
        assert_eq!(g.with_ancestors_in_order(id(4), &skip), vec![id(3), id(4)]);
        let all = g.in_order((1..=5).map(id));
        assert_eq!(all.len(), 5);
        assert!(position(&all, 1) < position(&all, 2));
        assert!(position(&all, 3) < position(&all, 4));
        assert!(position(&all, 2) < position(&all, 4));
    }

    #[test]
    fn detaching_keeps_the_other_links() {
        let mut g = diamond();
        g.detach(&id(2));
        assert_eq!(g.parents_of(&id(4)), &[id(3)]);
        assert_eq!(g.children_of(&id(1)), &[id(3)]);
        g.detach(&id(1));
        assert!(g.parents_of(&id(3)).is_empty());
        assert_eq!(g.in_order([3, 4, 5].into_iter().map(id)).len(), 3);
    }
}
