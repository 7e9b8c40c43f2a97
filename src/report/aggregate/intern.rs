//! Interned names: each distinct text (a user pseudonym, an address, a tenant) is stored once
//! and the aggregations hold small numbers instead, so their memory grows with the distinct
//! values of the period, not with its events.

use foldhash::HashMap;

/// Texts and their numbers, in first-seen order.
#[derive(Debug, Default)]
pub struct Names {
    ids: HashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Names {
    /// The number of `name`, given one when new.
    pub fn id(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(name.into());
        self.ids.insert(name.into(), id);
        id
    }

    /// The number of `name` when seen before.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    /// The text of `id` (empty for a number never given).
    pub fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |n| n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_keeps_its_number() {
        let mut n = Names::default();
        assert_eq!((n.id("a"), n.id("b"), n.id("a")), (0, 1, 0));
        assert_eq!((n.name(1), n.get("b"), n.get("c")), ("b", Some(1), None));
        assert_eq!(n.name(7), "");
    }
}
