//! Reading `[reputation]` list files: address lists (one address or CIDR network a line, `#`
//! or `;` comments, as the Tor Project's bulk exit list, X4BNet's `lists_vpn` and FireHOL
//! netsets are written; parsed by [`IpList`]) and AS-number lists (CSV, first column the AS
//! number with an optional `AS` prefix, an optional header line, `#` comments).
//!
//! Every error names the config key and the file, and the line where there is one, never the
//! text found there. A file with no entries is refused: an empty download must not silently
//! clear a list that used to match.

use std::io::Read;
use std::path::Path;

use super::super::{EnrichError, IpList};
use super::ListKind;

/// Largest list file read, bytes (FireHOL's biggest sets are a few MiB).
pub const MAX_LIST_BYTES: u64 = 64 << 20;

/// One loaded file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Table {
    /// Address ranges.
    Ip(IpList),
    /// AS numbers, sorted, without duplicates.
    Asn(Vec<u32>),
}

impl Table {
    /// Entries accepted (lines), counting duplicates for address lists.
    pub(super) fn entries(&self) -> usize {
        match self {
            Table::Ip(list) => list.len(),
            Table::Asn(asns) => asns.len(),
        }
    }
}

/// Reads and parses the file `path` configured as `key` (`reputation.vpn[1]`).
pub(crate) fn load(kind: ListKind, key: &str, path: &str) -> Result<Table, EnrichError> {
    let err = |line: Option<usize>, problem: String| EnrichError::ReputationList {
        key: key.to_owned(),
        file: path.to_owned(),
        line,
        problem,
    };
    let text = read(Path::new(path)).map_err(|problem| err(None, problem))?;
    let table = match kind {
        ListKind::HostingAsns => {
            Table::Asn(parse_asns(&text).map_err(|(line, p)| err(Some(line), p.into()))?)
        }
        ListKind::TorExit | ListKind::Vpn | ListKind::Hosting | ListKind::Proxy => {
            Table::Ip(IpList::parse(&text, path).map_err(|e| match e {
                EnrichError::ListLine { line, reason, .. } => err(Some(line), reason),
                other => err(None, other.to_string()),
            })?)
        }
    };
    if table.entries() == 0 {
        return Err(err(
            None,
            "no entries (an empty or failed download?)".into(),
        ));
    }
    Ok(table)
}

/// The file's text, at most [`MAX_LIST_BYTES`], UTF-8 (a leading byte-order mark dropped).
fn read(path: &Path) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_LIST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > MAX_LIST_BYTES {
        return Err(format!("larger than {MAX_LIST_BYTES} bytes"));
    }
    let text = String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned())?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => text,
    })
}

/// Parses an AS-number list: the first column of each line (split at `,`, `;`, a tab or a
/// space; quotes dropped) is `12345` or `AS12345` (any case). The first data line may instead
/// be a header (a first column of letters only, such as `ASN`). Errors carry the 1-based line.
pub(super) fn parse_asns(text: &str) -> Result<Vec<u32>, (usize, &'static str)> {
    let mut asns = Vec::new();
    let mut first_data_line = true;
    for (index, raw) in text.lines().enumerate() {
        let content = raw.split('#').next().unwrap_or_default().trim();
        if content.is_empty() {
            continue;
        }
        let column = content
            .split([',', ';', '\t', ' '])
            .next()
            .unwrap_or_default()
            .trim()
            .trim_matches('"')
            .trim();
        match parse_asn(column) {
            Ok(n) => asns.push(n),
            Err(_) if first_data_line && is_header(column) => {}
            Err(problem) => return Err((index + 1, problem)),
        }
        first_data_line = false;
    }
    asns.sort_unstable();
    asns.dedup();
    Ok(asns)
}

/// `12345` or `AS12345` (any case) → 12345. AS 0 is reserved (RFC 7607) and refused.
fn parse_asn(text: &str) -> Result<u32, &'static str> {
    let digits = match text.get(..2) {
        Some(p) if p.eq_ignore_ascii_case("as") => text.get(2..).unwrap_or_default(),
        _ => text,
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not an AS number");
    }
    match digits.parse::<u32>() {
        Ok(0) => Err("AS 0 is reserved, not an AS number"),
        Ok(n) => Ok(n),
        Err(_) => Err("not an AS number (above 4294967295)"),
    }
}

fn is_header(column: &str) -> bool {
    !column.is_empty() && column.chars().all(|c| c.is_ascii_alphabetic() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asn_lists_take_the_first_column_with_or_without_prefix_and_header() {
        let csv = "ASN,Entity\n174,\"COGENT-174 - Cogent, US\"\n\"AS14061\",DigitalOcean\n\
                   # comment\nas16276 OVH\n\n174,dup\nAS24940\t# Hetzner\n";
        assert_eq!(parse_asns(csv), Ok(vec![174, 14061, 16276, 24940]));
        assert_eq!(parse_asns("AS13335 Cloudflare\n"), Ok(vec![13335]));
    }

    #[test]
    fn asn_list_errors_carry_the_line() {
        assert_eq!(
            parse_asns("ASN,Entity\n174,x\nCogent,174\n"),
            Err((3, "not an AS number")),
            "a header only as the first data line"
        );
        assert_eq!(parse_asns("# c\n\nAS-1\n"), Err((3, "not an AS number")));
        assert_eq!(
            parse_asns("1\n0\n"),
            Err((2, "AS 0 is reserved, not an AS number"))
        );
        assert_eq!(
            parse_asns("4294967296\n"),
            Err((1, "not an AS number (above 4294967295)"))
        );
        assert_eq!(parse_asns("-5\n"), Err((1, "not an AS number")));
    }
}
