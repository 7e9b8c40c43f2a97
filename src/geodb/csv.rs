//! Reads the geo CSV (`data/geo/demo-geo.csv` format) into checked rows, each with its network
//! as a 128-bit tree key and its checked [`Fields`]; `layout.rs` shapes the fields into the
//! record of the chosen layout.
//!
//! Every problem is a [`GeoDbError`] naming the 1-based line and the column; nothing here may
//! panic on input. It does not build the tree or encode bytes.

use std::net::IpAddr;

use super::GeoDbError;
use super::tree::{RESERVED, overlaps, reserved_name};

/// The column names, in order.
pub(crate) const COLUMNS: [&str; 14] = [
    "network",
    "country",
    "city",
    "latitude",
    "longitude",
    "accuracy_radius_km",
    "time_zone",
    "asn",
    "as_org",
    "anonymous_vpn",
    "hosting_provider",
    "tor_exit_node",
    "public_proxy",
    "residential_proxy",
];

/// The header row, exactly.
pub const HEADER: &str = "network,country,city,latitude,longitude,accuracy_radius_km,time_zone,\
asn,as_org,anonymous_vpn,hosting_provider,tor_exit_node,public_proxy,residential_proxy";

/// One checked data row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    /// 1-based line number in the CSV.
    pub line: usize,
    /// The network as written (for messages).
    pub network: String,
    /// Tree key: the IPv6 address, or `::a.b.c.d` for IPv4.
    pub key: u128,
    /// Prefix length in the 128-bit tree (IPv4 lengths + 96).
    pub tree_len: u8,
    /// True for IPv4 rows.
    pub is_ipv4: bool,
    /// The checked values of the other columns.
    pub fields: Fields,
}

/// One row's values, checked; empty text columns are empty strings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fields {
    /// ISO 3166-1 alpha-2 code, or empty.
    pub country: String,
    /// English city name, or empty.
    pub city: String,
    /// Decimal degrees, −90 to 90.
    pub latitude: f64,
    /// Decimal degrees, −180 to 180.
    pub longitude: f64,
    /// Accuracy radius, km.
    pub radius_km: u16,
    /// IANA time zone, or empty.
    pub time_zone: String,
    /// AS number, if given.
    pub asn: Option<u32>,
    /// AS organisation, or empty.
    pub as_org: String,
    /// Anonymiser flags: VPN, hosting, Tor exit, public proxy, residential proxy.
    pub flags: Flags,
}

/// The five anonymiser flags of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Flags {
    pub vpn: bool,
    pub hosting: bool,
    pub tor: bool,
    pub public_proxy: bool,
    pub residential: bool,
}

/// Parses the whole CSV: comments (`#`) and blank lines skipped, then the header, then rows.
pub(crate) fn parse(text: &str) -> Result<Vec<Row>, GeoDbError> {
    let mut rows = Vec::new();
    let mut seen_header = false;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let content = raw.trim_end_matches('\r');
        if content.trim().is_empty() || content.trim_start().starts_with('#') {
            continue;
        }
        let fields = split_fields(content, line)?;
        if !seen_header {
            let names: Vec<&str> = fields.iter().map(|f| f.trim()).collect();
            if names != COLUMNS {
                return Err(GeoDbError::Header { line });
            }
            seen_header = true;
            continue;
        }
        if fields.len() != COLUMNS.len() {
            return Err(GeoDbError::FieldCount {
                line,
                expected: COLUMNS.len(),
                found: fields.len(),
            });
        }
        rows.push(parse_row(&fields, line)?);
    }
    if !seen_header {
        return Err(GeoDbError::NoHeader);
    }
    if rows.is_empty() {
        return Err(GeoDbError::NoRows);
    }
    Ok(rows)
}

/// Splits one line on commas; a field may be double-quoted (`"Acme, Inc."`, `""` = a quote).
/// Unquoted fields are trimmed.
fn split_fields(line: &str, line_no: usize) -> Result<Vec<String>, GeoDbError> {
    let mut fields = Vec::with_capacity(COLUMNS.len());
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        let mut field = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next() {
                    Some('"') if chars.next_if_eq(&'"').is_some() => field.push('"'),
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => {
                        return Err(field_err(line_no, fields.len(), "unterminated quote"));
                    }
                }
            }
            while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
            if !matches!(chars.peek(), None | Some(',')) {
                return Err(field_err(line_no, fields.len(), "text after closing quote"));
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                field.push(c);
            }
            field.truncate(field.trim_end().len());
        }
        fields.push(field);
        if chars.next().is_none() {
            return Ok(fields);
        }
    }
}

fn field_err(line: usize, column_index: usize, message: impl Into<String>) -> GeoDbError {
    GeoDbError::Field {
        line,
        column: COLUMNS
            .get(column_index)
            .copied()
            .unwrap_or("(extra column)"),
        message: message.into(),
    }
}

/// Checks one row's fields (already exactly 14) and builds its record.
fn parse_row(f: &[String], line: usize) -> Result<Row, GeoDbError> {
    let get = |i: usize| f.get(i).map(String::as_str).unwrap_or_default();
    let err = |i: usize, msg: &str| field_err(line, i, msg);

    let (key, tree_len, is_ipv4) = parse_network(get(0)).map_err(|m| err(0, &m))?;
    let country = get(1);
    let iso_code = country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase());
    if !country.is_empty() && !iso_code {
        return Err(err(1, "expected a two-letter ISO 3166-1 code such as FR"));
    }
    let city = get(2);
    let latitude = parse_degrees(get(3), 90.0).map_err(|m| err(3, m))?;
    let longitude = parse_degrees(get(4), 180.0).map_err(|m| err(4, m))?;
    let radius_km: u16 = get(5)
        .parse()
        .map_err(|_| err(5, "not a whole number of km from 0 to 65535"))?;
    let time_zone = get(6);
    let asn: Option<u32> = match get(7) {
        "" => None,
        s => Some(
            s.parse()
                .map_err(|_| err(7, "not an AS number (0 to 4294967295)"))?,
        ),
    };
    let as_org = get(8);
    let mut flags = [false; 5];
    for (k, flag) in flags.iter_mut().enumerate() {
        *flag = match get(9 + k) {
            "1" | "true" => true,
            "0" | "false" | "" => false,
            _ => return Err(err(9 + k, "expected 0 or 1")),
        };
    }
    let [vpn, hosting, tor, public_proxy, residential] = flags;
    Ok(Row {
        line,
        network: get(0).to_owned(),
        key,
        tree_len,
        is_ipv4,
        fields: Fields {
            country: country.to_owned(),
            city: city.to_owned(),
            latitude,
            longitude,
            radius_km,
            time_zone: time_zone.to_owned(),
            asn,
            as_org: as_org.to_owned(),
            flags: Flags {
                vpn,
                hosting,
                tor,
                public_proxy,
                residential,
            },
        },
    })
}

/// A latitude or longitude in decimal degrees, within ±`limit`.
fn parse_degrees(text: &str, limit: f64) -> Result<f64, &'static str> {
    let value: f64 = text.parse().map_err(|_| "not a number")?;
    if !value.is_finite() || value.abs() > limit {
        return Err(if limit == 90.0 {
            "out of range -90 to 90"
        } else {
            "out of range -180 to 180"
        });
    }
    Ok(value)
}

/// An IPv4/IPv6 CIDR (or bare address = one host) → (tree key, tree prefix length, is IPv4).
fn parse_network(text: &str) -> Result<(u128, u8, bool), String> {
    let (addr_text, len_text) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let addr: IpAddr = addr_text
        .parse()
        .map_err(|_| "not an IPv4 or IPv6 network (e.g. 31.0.0.0/16)".to_owned())?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len: u8 = match len_text {
        None => max,
        Some(l) => match l.parse::<u8>() {
            Ok(n) if n <= max => n,
            _ => return Err(format!("prefix length must be 0 to {max}")),
        },
    };
    let (key, tree_len) = match addr {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), len + 96),
        IpAddr::V6(v6) => (u128::from(v6), len),
    };
    let host_mask = if tree_len == 0 {
        u128::MAX
    } else {
        !(u128::MAX << (128 - u32::from(tree_len)))
    };
    if key & host_mask != 0 {
        return Err(format!("host bits set after /{len}"));
    }
    let reserved = RESERVED
        .iter()
        .find(|(r, rl)| overlaps(key, tree_len, *r, *rl));
    if let (true, Some((r, rl))) = (addr.is_ipv6(), reserved) {
        return Err(format!(
            "overlaps {}, which this writer reserves for IPv4 data (write the row as IPv4)",
            reserved_name(*r, *rl)
        ));
    }
    Ok((key, tree_len, addr.is_ipv4()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_keep_commas_and_quotes() {
        let f = split_fields(r#"1.0.0.0/8, "Acme, ""Inc""" ,x"#, 1).expect("valid");
        assert_eq!(f, vec!["1.0.0.0/8", "Acme, \"Inc\"", "x"]);
        let e = split_fields(r#"1.0.0.0/8,"open"#, 4).expect_err("unterminated");
        assert_eq!(e.to_string(), "line 4: country: unterminated quote");
    }

    #[test]
    fn networks_map_into_the_ipv4_compatible_subtree() {
        assert_eq!(parse_network("1.2.0.0/16"), Ok((0x0102_0000, 112, true)));
        assert_eq!(parse_network("1.2.3.4"), Ok((0x0102_0304, 128, true)));
        assert_eq!(parse_network("0.0.0.0/0"), Ok((0, 96, true)));
        assert_eq!(
            parse_network("2a0d::/32"),
            Ok((0x2a0d_u128 << 112, 32, false))
        );
        assert_eq!(
            parse_network("1.2.3.4/16"),
            Err("host bits set after /16".to_owned())
        );
        assert_eq!(
            parse_network("1.2.3.0/33"),
            Err("prefix length must be 0 to 32".to_owned())
        );
        let mapped = parse_network("::ffff:1.2.3.0/120").expect_err("reserved");
        assert!(
            mapped.starts_with("overlaps ::ffff:0.0.0.0/96,"),
            "{mapped}"
        );
        let all = parse_network("::/0").expect_err("reserved");
        assert!(all.starts_with("overlaps ::/96,"), "{all}");
    }
}
