//! Plain-text IP block/allow lists: one CIDR network or bare address per line, IPv4 or IPv6,
//! with `#` (or `;`) comments, blank lines and trailing comments, which is the format of Tor
//! exit lists and FireHOL netsets.
//!
//! Entries become sorted, merged address ranges, so [`IpList::contains`] is a binary search
//! that allocates nothing. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) matches IPv4
//! entries. A bad line is an [`EnrichError`] naming the source and line (lists are config).

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;

use super::EnrichError;

/// A set of IPv4 and IPv6 networks with fast membership tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpList {
    /// Inclusive `(first, last)` ranges, sorted, non-overlapping, non-adjacent.
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
    /// Entries accepted (before merging).
    entries: usize,
}

impl IpList {
    /// An empty list, which contains nothing.
    pub fn new() -> IpList {
        IpList::default()
    }

    /// Parses list text. `source_name` (a file name, say) is used in error messages:
    /// `tor-exits.txt:7: "1.2.3": not an IP address or CIDR network`.
    pub fn parse(text: &str, source_name: &str) -> Result<IpList, EnrichError> {
        let mut list = IpList::new();
        list.add_text(text, source_name)?;
        list.normalize();
        Ok(list)
    }

    /// Reads and parses a list file.
    pub fn from_file(path: &Path) -> Result<IpList, EnrichError> {
        let mut list = IpList::new();
        list.add_file(path)?;
        list.normalize();
        Ok(list)
    }

    /// Builds one list from config entries, each a list-file path or an inline CIDR/address.
    /// `list_name` (`block`, `allow`) names the entry in errors: `block[2]: ...`. An entry
    /// that looks like an address (only hex digits, `.`, `:`, `/`) but does not parse is an
    /// error, not a file name.
    pub fn from_entries(entries: &[String], list_name: &str) -> Result<IpList, EnrichError> {
        let mut list = IpList::new();
        for (index, entry) in entries.iter().enumerate() {
            let entry = entry.trim();
            match parse_entry(entry) {
                Ok(net) => list.push(net),
                Err(reason) if looks_like_address(entry) => {
                    return Err(EnrichError::InlineEntry {
                        list: list_name.to_owned(),
                        index,
                        entry: entry.to_owned(),
                        reason,
                    });
                }
                Err(_) => list.add_file(Path::new(entry))?,
            }
        }
        list.normalize();
        Ok(list)
    }

    /// True if `ip` lies in any entry. IPv4-mapped IPv6 addresses are checked as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip.to_canonical() {
            IpAddr::V4(v4) => in_ranges(&self.v4, u32::from(v4)),
            IpAddr::V6(v6) => in_ranges(&self.v6, u128::from(v6)),
        }
    }

    /// Number of entries (lines or inline items) accepted, counting duplicates.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// True if the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Number of disjoint address ranges after merging overlapping and adjacent entries.
    pub fn range_count(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    fn add_file(&mut self, path: &Path) -> Result<(), EnrichError> {
        let text = std::fs::read_to_string(path).map_err(|source| EnrichError::ListFile {
            path: path.display().to_string(),
            source,
        })?;
        self.add_text(&text, &path.display().to_string())
    }

    fn add_text(&mut self, text: &str, source_name: &str) -> Result<(), EnrichError> {
        for (index, raw) in text.lines().enumerate() {
            let content = raw.split(['#', ';']).next().unwrap_or_default().trim();
            if content.is_empty() {
                continue;
            }
            let net = parse_entry(content).map_err(|reason| EnrichError::ListLine {
                source_name: source_name.to_owned(),
                line: index + 1,
                entry: content.to_owned(),
                reason,
            })?;
            self.push(net);
        }
        Ok(())
    }

    fn push(&mut self, net: IpNet) {
        self.entries += 1;
        match net {
            IpNet::V4(n) => self
                .v4
                .push((u32::from(n.network()), u32::from(n.broadcast()))),
            IpNet::V6(n) => {
                // IPv4-mapped networks are stored as IPv4, so both spellings match.
                let first = n.network();
                if n.prefix_len() >= 96
                    && let (Some(a), Some(b)) =
                        (first.to_ipv4_mapped(), n.broadcast().to_ipv4_mapped())
                {
                    self.v4.push((u32::from(a), u32::from(b)));
                    return;
                }
                self.v6.push((u128::from(first), u128::from(n.broadcast())));
            }
        }
    }

    /// Sorts and merges the ranges.
    fn normalize(&mut self) {
        merge(&mut self.v4);
        merge(&mut self.v6);
    }
}

/// A CIDR network or bare address; host bits after the prefix are ignored (`10.0.0.1/8` is
/// `10.0.0.0/8`), as list publishers are not always tidy.
fn parse_entry(text: &str) -> Result<IpNet, String> {
    if text.contains('/') {
        text.parse::<IpNet>()
            .map(|n| n.trunc())
            .map_err(|_| "not a CIDR network (bad address or prefix length)".to_owned())
    } else {
        text.parse::<IpAddr>()
            .map(IpNet::from)
            .map_err(|_| "not an IP address or CIDR network".to_owned())
    }
}

fn looks_like_address(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '/'))
}

trait Addr: Copy + Ord {
    fn next(self) -> Option<Self>;
}
impl Addr for u32 {
    fn next(self) -> Option<u32> {
        self.checked_add(1)
    }
}
impl Addr for u128 {
    fn next(self) -> Option<u128> {
        self.checked_add(1)
    }
}

fn merge<T: Addr>(ranges: &mut Vec<(T, T)>) {
    ranges.sort_unstable();
    let mut merged: Vec<(T, T)> = Vec::with_capacity(ranges.len());
    for &(first, last) in ranges.iter() {
        match merged.last_mut() {
            Some(prev) if prev.1.next().is_none_or(|after| first <= after) => {
                prev.1 = prev.1.max(last);
            }
            _ => merged.push((first, last)),
        }
    }
    *ranges = merged;
}

fn in_ranges<T: Copy + Ord>(ranges: &[(T, T)], x: T) -> bool {
    let after = ranges.partition_point(|(first, _)| *first <= x);
    after
        .checked_sub(1)
        .and_then(|i| ranges.get(i))
        .is_some_and(|(_, last)| x <= *last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn merges_overlapping_and_adjacent_ranges() {
        let list = IpList::parse(
            "10.0.0.0/25\n10.0.0.128/25 # adjacent\n10.0.0.7\n192.168.0.0/16\n255.255.255.255\n",
            "t",
        )
        .expect("valid");
        assert_eq!(list.len(), 5);
        assert_eq!(
            list.v4,
            vec![
                (0x0A00_0000, 0x0A00_00FF),
                (0xC0A8_0000, 0xC0A8_FFFF),
                (u32::MAX, u32::MAX)
            ]
        );
        assert!(list.contains(ip("10.0.0.255")));
        assert!(!list.contains(ip("10.0.1.0")));
        assert!(!list.contains(ip("9.255.255.255")));
        assert!(list.contains(ip("255.255.255.255")));
        assert!(list.contains(ip("::ffff:192.168.3.4")));
    }

    #[test]
    fn mapped_ipv6_entries_become_ipv4() {
        let list = IpList::parse("::ffff:1.2.3.0/120\n", "t").expect("valid");
        assert_eq!(list.v4, vec![(0x0102_0300, 0x0102_03FF)]);
        assert!(list.contains(ip("1.2.3.9")));
    }
}
