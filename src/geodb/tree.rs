//! The MMDB binary search tree: one bit of the 128-bit address per level, each node two
//! records (left = bit 0, right = bit 1), serialised with 28- or 32-bit records.
//!
//! IPv4 networks live in the IPv4-compatible subtree `::a.b.c.d` (96 zero bits, then the
//! address), and `::ffff:0:0/96` (IPv4-mapped) and `2002::/16` (6to4) are aliased to that
//! subtree, as MaxMind does. The tree never holds two networks where one contains the other:
//! [`Tree::insert`] rejects the second one, naming the first. It knows nothing about CSV or data
//! encoding: a leaf only carries the caller's record id.

use std::net::Ipv6Addr;

/// What a record (half a node) holds before serialisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rec {
    /// No data below this point.
    Empty,
    /// Index of another node.
    Node(u32),
    /// A network's data: the caller's record id.
    Data(u32),
}

/// Why an insert failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InsertError {
    /// The new network overlaps one inserted before, whose record id is given.
    Overlaps(u32),
    /// The tree would need more nodes than a 32-bit record can address.
    TooManyNodes,
}

/// Prefixes the writer reserves for the IPv4 subtree and its aliases: `(address, prefix length)`.
pub(crate) const RESERVED: [(u128, u8); 3] = [
    (0, 96),                  // ::/96, IPv4-compatible: where IPv4 data lives
    (0xffff_u128 << 32, 96),  // ::ffff:0:0/96, IPv4-mapped
    (0x2002_u128 << 112, 16), // 2002::/16, 6to4
];

/// A search tree under construction. Node 0 is the root.
#[derive(Debug)]
pub(crate) struct Tree {
    nodes: Vec<[Rec; 2]>,
}

/// Bit `depth` (0 = most significant) of a 128-bit address.
fn bit(key: u128, depth: u8) -> usize {
    ((key >> (127 - u32::from(depth))) & 1) as usize
}

/// True if the networks `a/a_len` and `b/b_len` share any address.
pub(crate) fn overlaps(a: u128, a_len: u8, b: u128, b_len: u8) -> bool {
    let len = a_len.min(b_len);
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len))
    };
    a & mask == b & mask
}

/// Formats a reserved prefix for error messages.
pub(crate) fn reserved_name(addr: u128, len: u8) -> String {
    format!("{}/{len}", Ipv6Addr::from(addr))
}

impl Tree {
    /// An empty tree (a root whose two records are empty).
    pub(crate) fn new() -> Tree {
        Tree {
            nodes: vec![[Rec::Empty; 2]],
        }
    }

    /// Number of nodes so far.
    pub(crate) fn node_count(&self) -> usize {
        self.nodes.len()
    }

    fn new_node(&mut self) -> Result<u32, InsertError> {
        let id = u32::try_from(self.nodes.len()).map_err(|_| InsertError::TooManyNodes)?;
        self.nodes.push([Rec::Empty; 2]);
        Ok(id)
    }

    /// Inserts network `key/len` (`1 ≤ len ≤ 128`) carrying record id `data`.
    pub(crate) fn insert(&mut self, key: u128, len: u8, data: u32) -> Result<(), InsertError> {
        self.set(key, len, Rec::Data(data))
    }

    /// Walks `len` bits from the root, creating nodes, and stores `value` in the last record.
    fn set(&mut self, key: u128, len: u8, value: Rec) -> Result<(), InsertError> {
        let mut node = 0usize;
        for depth in 0..len {
            let side = bit(key, depth);
            let last = depth + 1 == len;
            // Invariant: `node` is always an index this tree created.
            match self.nodes[node][side] {
                Rec::Data(other) => return Err(InsertError::Overlaps(other)),
                Rec::Node(child) if last => {
                    return Err(InsertError::Overlaps(self.any_data(child)));
                }
                Rec::Node(child) => node = child as usize,
                Rec::Empty if last => self.nodes[node][side] = value,
                Rec::Empty => {
                    let child = self.new_node()?;
                    self.nodes[node][side] = Rec::Node(child);
                    node = child as usize;
                }
            }
        }
        Ok(())
    }

    /// Some record id under `node` (every non-empty subtree has one, as nodes are only
    /// created on the way to a data record).
    fn any_data(&self, node: u32) -> u32 {
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            for rec in self.nodes[n as usize] {
                match rec {
                    Rec::Data(id) => return id,
                    Rec::Node(child) => stack.push(child),
                    Rec::Empty => {}
                }
            }
        }
        0
    }

    /// Points `::ffff:0:0/96` and `2002::/16` at the IPv4 subtree (`::/96`). Call once, after
    /// every insert; does nothing if there is no IPv4 data.
    pub(crate) fn alias_ipv4(&mut self) -> Result<(), InsertError> {
        let mut node = 0usize;
        for _ in 0..95 {
            match self.nodes[node][0] {
                Rec::Node(child) => node = child as usize,
                Rec::Empty | Rec::Data(_) => return Ok(()),
            }
        }
        let ipv4_root = self.nodes[node][0];
        if ipv4_root == Rec::Empty {
            return Ok(());
        }
        for (addr, len) in &RESERVED[1..] {
            self.set(*addr, *len, ipv4_root)?;
        }
        Ok(())
    }

    /// Serialises the tree. `data_offset(id)` gives the data-section offset of record id `id`.
    /// Returns the bytes and the record size (28, or 32 when 28 bits cannot address the data).
    pub(crate) fn serialize(
        &self,
        data_offset: impl Fn(u32) -> u64,
        data_len: u64,
    ) -> Result<(Vec<u8>, u16), InsertError> {
        let node_count = self.nodes.len() as u64;
        let max_value = node_count + 16 + data_len;
        let record_size: u16 = if max_value < (1 << 28) {
            28
        } else if max_value <= u64::from(u32::MAX) {
            32
        } else {
            return Err(InsertError::TooManyNodes);
        };
        let value = |rec: Rec| -> u32 {
            // Fits: every value is at most `max_value`, checked above.
            (match rec {
                Rec::Empty => node_count,
                Rec::Node(n) => u64::from(n),
                Rec::Data(id) => node_count + 16 + data_offset(id),
            }) as u32
        };
        let mut out = Vec::with_capacity(self.nodes.len() * usize::from(record_size) / 4);
        for [left, right] in &self.nodes {
            let (l, r) = (value(*left), value(*right));
            if record_size == 28 {
                out.extend_from_slice(&l.to_be_bytes()[1..]);
                out.push((((l >> 24) & 0x0F) << 4) as u8 | ((r >> 24) & 0x0F) as u8);
                out.extend_from_slice(&r.to_be_bytes()[1..]);
            } else {
                out.extend_from_slice(&l.to_be_bytes());
                out.extend_from_slice(&r.to_be_bytes());
            }
        }
        Ok((out, record_size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_in_either_direction_names_the_earlier_network() {
        let mut t = Tree::new();
        let net16 = u128::from(u32::from_be_bytes([31, 0, 0, 0]));
        t.insert(net16, 96 + 16, 7).expect("first insert");
        // More specific inside an existing network.
        assert_eq!(
            t.insert(net16 | 0x100, 96 + 24, 8),
            Err(InsertError::Overlaps(7))
        );
        // Less specific around an existing network.
        assert_eq!(t.insert(net16, 96 + 8, 9), Err(InsertError::Overlaps(7)));
        // Same network twice.
        assert_eq!(t.insert(net16, 96 + 16, 10), Err(InsertError::Overlaps(7)));
        // A sibling is fine.
        assert_eq!(t.insert(net16 | 0x1_0000, 96 + 16, 11), Ok(()));
    }

    #[test]
    fn records_pack_into_28_bits_as_the_spec_draws_them() {
        let mut t = Tree::new();
        t.insert(0, 1, 0).expect("insert ::/1");
        // Record ids → offsets: id 0 at offset 0x0123_4567 − 1 − 16.
        let (bytes, size) = t
            .serialize(|_| 0x0123_4567 - 17, 0x0123_4567)
            .expect("fits");
        assert_eq!(size, 28);
        // Left = 0x0123_4567 (data), right = 1 (empty = node_count).
        assert_eq!(bytes, vec![0x23, 0x45, 0x67, 0x10, 0x00, 0x00, 0x01]);
    }

    #[test]
    fn large_data_sections_switch_to_32_bit_records() {
        let mut t = Tree::new();
        t.insert(0, 1, 0).expect("insert ::/1");
        // Data offset 2^28 cannot fit in 28 bits once node_count + 16 is added.
        let (bytes, size) = t.serialize(|_| 1 << 28, (1 << 28) + 10).expect("fits 32");
        assert_eq!(size, 32);
        // Left = 1 + 16 + 2^28, right = 1 (empty).
        assert_eq!(bytes, vec![0x10, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00, 0x01]);
        let too_big = t.serialize(|_| 0, u64::from(u32::MAX));
        assert_eq!(too_big, Err(InsertError::TooManyNodes));
    }

    #[test]
    fn ipv4_aliases_share_the_ipv4_root() {
        let mut t = Tree::new();
        t.insert(u128::from(u32::from_be_bytes([1, 0, 0, 0])), 96 + 8, 0)
            .expect("insert");
        // Root + one node per depth 1..=103 on the way to ::1.0.0.0/104.
        assert_eq!(t.node_count(), 104);
        t.alias_ipv4().expect("alias");
        // ::ffff:0:0/96 branches off at depth 80 (new nodes 81..=95), 2002::/16 at depth 2
        // (new nodes 3..=15); both end in a record pointing at the shared IPv4 root.
        assert_eq!(t.node_count(), 104 + 15 + 13);
        assert!(overlaps(RESERVED[1].0 | 5, 128, RESERVED[1].0, 96));
        assert!(!overlaps(RESERVED[2].0, 16, 0x2003_u128 << 112, 16));
    }
}
