//! `geodb`: a writer for the MaxMind DB (MMDB) format, spec 2.0, so `tessera geodb build` can
//! turn the geo CSV into a `.mmdb` file that any MaxMind reader (the `maxminddb` crate,
//! libmaxminddb, …) opens.
//!
//! By default ([`Layout::MaxMind`]) one file serves as a GeoIP2 **City**, **ASN** and
//! **Anonymous-IP** database at once: each record carries `country.iso_code`, `city.names.en`,
//! `location.{latitude, longitude, accuracy_radius, time_zone}`, `autonomous_system_number`,
//! `autonomous_system_organization` and the `is_*` flags (only those that are true, as MaxMind
//! writes them). The other [`Layout`]s shape the same rows as DB-IP City Lite, the flat
//! ip-location-db city files and IPinfo Lite do (see `layout.rs`), so tests cover every layout
//! the reader knows without third-party data.
//!
//! File: an IPv6 search tree (`ip_version` 6, 28-bit records, 32 if needed) with IPv4 data
//! under `::a.b.c.d` and aliases from `::ffff:0:0/96` and `2002::/16`, or, for one family only
//! ([`IpVersion`]), an IPv4 tree (`ip_version` 4) or an IPv6 tree without IPv4 data; 16 zero
//! bytes; the data section (identical records stored once, no pointers); the metadata marker
//! and map.
//!
//! **Overlapping networks are an error** (the message names both lines): a CSV row never
//! silently shadows another. This module only writes; reading is `enrich`'s job.

mod csv;
mod encode;
mod layout;
mod tree;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

pub use csv::HEADER;
use encode::Value;
pub use layout::{
    DBIP_CITY_LITE, IP_LOCATION_DB_CITY_V4, IP_LOCATION_DB_CITY_V6, IPINFO_LITE, IpVersion, Layout,
};
use tree::{InsertError, Tree};

/// The demo geo CSV, embedded (fictional network assignments over real city coordinates).
pub const DEMO_CSV: &str = include_str!("../../data/geo/demo-geo.csv");

/// The `database_type` written into the metadata.
pub const DATABASE_TYPE: &str = "Tessera-Demo-Geo";

/// The English `description` written into the metadata.
pub const DESCRIPTION: &str =
    "Tessera geo database built from CSV (City, ASN and Anonymous-IP fields in one file)";

/// Start of the metadata section.
const METADATA_MARKER: &[u8] = b"\xAB\xCD\xEFMaxMind.com";

/// Why a database could not be built or written. Messages name the CSV line and column.
#[derive(Debug, thiserror::Error)]
pub enum GeoDbError {
    /// A field's value is invalid, e.g. `line 7: latitude: not a number`.
    #[error("line {line}: {column}: {message}")]
    Field {
        /// 1-based CSV line.
        line: usize,
        /// Column name from the header.
        column: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A row has the wrong number of fields.
    #[error("line {line}: expected {expected} fields, found {found}")]
    FieldCount {
        /// 1-based CSV line.
        line: usize,
        /// Number of columns in the header.
        expected: usize,
        /// Number of fields on the line.
        found: usize,
    },
    /// The first non-comment line is not the expected header.
    #[error("line {line}: header: expected `{}`", HEADER)]
    Header {
        /// 1-based CSV line.
        line: usize,
    },
    /// The CSV has no header row at all.
    #[error("no header row: expected `{}`", HEADER)]
    NoHeader,
    /// The CSV has a header but no data rows.
    #[error("no data rows after the header")]
    NoRows,
    /// `--ip-version` asked for one family and the CSV has no row of it.
    #[error("ip_version: no {family} rows in the CSV")]
    NoRowsOfFamily {
        /// `IPv4` or `IPv6`.
        family: &'static str,
    },
    /// The layout's files hold one family each (ip-location-db), and none was given.
    #[error("ip_version: the {layout} layout holds one address family per file: give 4 or 6")]
    FamilyRequired {
        /// The layout's name.
        layout: &'static str,
    },
    /// Two networks share addresses; overlaps are not allowed (neither wins).
    #[error("line {line}: network: {network} overlaps {other} (line {other_line})")]
    Overlap {
        /// 1-based line of the later row.
        line: usize,
        /// The later row's network.
        network: String,
        /// 1-based line of the earlier row.
        other_line: usize,
        /// The earlier row's network.
        other: String,
    },
    /// A string or map exceeds the format's 16,843,036-byte/entry limit.
    #[error("a value of size {size} exceeds the MMDB limit of 16843036")]
    ValueTooLarge {
        /// Size in bytes (strings) or entries (maps, arrays).
        size: usize,
    },
    /// The tree plus data cannot be addressed with 32-bit records.
    #[error("database too large for 32-bit search-tree records")]
    TooLarge,
    /// Reading the CSV failed.
    #[error("reading {}: {source}", path.display())]
    Read {
        /// The CSV path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Writing the `.mmdb` failed.
    #[error("writing {}: {source}", path.display())]
    Write {
        /// The output path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// What [`write_file`] built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildSummary {
    /// Data rows (networks) written.
    pub networks: usize,
    /// Rows of the other address family, left out because one family was asked for.
    pub other_family_rows: usize,
    /// Of which IPv4.
    pub ipv4_networks: usize,
    /// Distinct records in the data section (identical rows share one).
    pub distinct_records: usize,
    /// Search-tree nodes.
    pub node_count: u32,
    /// Bits per search-tree record (28 or 32).
    pub record_size: u16,
    /// Size of the file in bytes.
    pub bytes: usize,
}

/// How to build: the record layout, the address family (`None` = both, in one IPv6 tree) and
/// the `build_epoch` (seconds since 1970).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildOptions {
    /// Record layout and `database_type`.
    pub layout: Layout,
    /// `Some` keeps only that family's rows and writes a tree of that family only.
    pub ip_version: Option<IpVersion>,
    /// Seconds since 1970, written as `build_epoch`.
    pub build_epoch: u64,
}

impl BuildOptions {
    /// The default layout and both families, stamped now.
    pub fn now(layout: Layout, ip_version: Option<IpVersion>) -> BuildOptions {
        BuildOptions {
            layout,
            ip_version,
            build_epoch: now_epoch(),
        }
    }
}

/// Builds an MMDB image from CSV text, stamped with the current time as `build_epoch`.
pub fn build_from_csv(text: &str) -> Result<Vec<u8>, GeoDbError> {
    build_from_csv_at(text, now_epoch()).map(|(bytes, _)| bytes)
}

/// Builds an MMDB image with a given `build_epoch` (seconds since 1970), for reproducible
/// output; also returns its [`BuildSummary`]. Default layout, both families.
pub fn build_from_csv_at(
    text: &str,
    build_epoch: u64,
) -> Result<(Vec<u8>, BuildSummary), GeoDbError> {
    build(
        text,
        &BuildOptions {
            layout: Layout::MaxMind,
            ip_version: None,
            build_epoch,
        },
    )
}

/// Builds an MMDB image from CSV text in the layout and family `opts` asks for.
pub fn build(text: &str, opts: &BuildOptions) -> Result<(Vec<u8>, BuildSummary), GeoDbError> {
    if opts.layout == Layout::IpLocationDb && opts.ip_version.is_none() {
        return Err(GeoDbError::FamilyRequired {
            layout: opts.layout.name(),
        });
    }
    let all_rows = csv::parse(text)?;
    let total = all_rows.len();
    let rows: Vec<csv::Row> = match opts.ip_version {
        None => all_rows,
        Some(v) => all_rows
            .into_iter()
            .filter(|r| r.is_ipv4 == (v == IpVersion::V4))
            .collect(),
    };
    if rows.is_empty() {
        return Err(GeoDbError::NoRowsOfFamily {
            family: if opts.ip_version == Some(IpVersion::V4) {
                "IPv4"
            } else {
                "IPv6"
            },
        });
    }
    let ipv4_tree = opts.ip_version == Some(IpVersion::V4);

    // Data section: encode each row's record; identical encodings are stored once.
    let mut data = Vec::new();
    let mut offsets: Vec<u64> = Vec::with_capacity(rows.len());
    let mut seen: HashMap<Vec<u8>, u64> = HashMap::new();
    for row in &rows {
        let mut bytes = Vec::new();
        opts.layout.record(&row.fields).encode(&mut bytes)?;
        let offset = *seen.entry(bytes).or_insert_with_key(|bytes| {
            let at = data.len() as u64;
            data.extend_from_slice(bytes);
            at
        });
        offsets.push(offset);
    }

    let mut tree = Tree::new();
    for (id, row) in rows.iter().enumerate() {
        let id32 = u32::try_from(id).map_err(|_| GeoDbError::TooLarge)?;
        // An IPv4 tree holds the 32 address bits at the top of the key.
        let (key, len) = if ipv4_tree {
            (row.key << 96, row.tree_len.saturating_sub(96))
        } else {
            (row.key, row.tree_len)
        };
        if len == 0 {
            return Err(GeoDbError::Field {
                line: row.line,
                column: "network",
                message: "a /0 network cannot be written to a one-family file".to_owned(),
            });
        }
        tree.insert(key, len, id32).map_err(|e| match e {
            InsertError::Overlaps(other) => {
                let other = rows.get(other as usize);
                GeoDbError::Overlap {
                    line: row.line,
                    network: row.network.clone(),
                    other_line: other.map_or(0, |o| o.line),
                    other: other.map_or_else(String::new, |o| o.network.clone()),
                }
            }
            InsertError::TooManyNodes => GeoDbError::TooLarge,
        })?;
    }
    if !ipv4_tree {
        tree.alias_ipv4().map_err(|_| GeoDbError::TooLarge)?;
    }

    let node_count = u32::try_from(tree.node_count()).map_err(|_| GeoDbError::TooLarge)?;
    let (tree_bytes, record_size) = tree
        .serialize(
            |id| offsets.get(id as usize).copied().unwrap_or(0),
            data.len() as u64,
        )
        .map_err(|_| GeoDbError::TooLarge)?;

    let metadata = Value::Map(vec![
        ("binary_format_major_version", Value::U16(2)),
        ("binary_format_minor_version", Value::U16(0)),
        ("build_epoch", Value::U64(opts.build_epoch)),
        (
            "database_type",
            Value::Str(opts.layout.database_type(opts.ip_version).to_owned()),
        ),
        (
            "description",
            Value::Map(vec![(
                "en",
                Value::Str(opts.layout.description().to_owned()),
            )]),
        ),
        ("ip_version", Value::U16(if ipv4_tree { 4 } else { 6 })),
        ("languages", Value::Array(vec![Value::Str("en".to_owned())])),
        ("node_count", Value::U32(node_count)),
        ("record_size", Value::U16(record_size)),
    ]);

    let mut out = tree_bytes;
    out.extend_from_slice(&[0u8; 16]);
    out.extend_from_slice(&data);
    out.extend_from_slice(METADATA_MARKER);
    metadata.encode(&mut out)?;

    let summary = BuildSummary {
        networks: rows.len(),
        other_family_rows: total - rows.len(),
        ipv4_networks: rows.iter().filter(|r| r.is_ipv4).count(),
        distinct_records: seen.len(),
        node_count,
        record_size,
        bytes: out.len(),
    };
    Ok((out, summary))
}

/// Reads the CSV at `csv_path`, builds the database (default layout, both families) and writes
/// it to `out` (via a temporary file in the same folder, renamed into place, so readers never
/// see half a file).
pub fn write_file(csv_path: &Path, out: &Path) -> Result<BuildSummary, GeoDbError> {
    write_file_with(csv_path, out, &BuildOptions::now(Layout::MaxMind, None))
}

/// [`write_file`] in the layout and family `opts` asks for.
pub fn write_file_with(
    csv_path: &Path,
    out: &Path,
    opts: &BuildOptions,
) -> Result<BuildSummary, GeoDbError> {
    let text = std::fs::read_to_string(csv_path).map_err(|source| GeoDbError::Read {
        path: csv_path.to_owned(),
        source,
    })?;
    let (bytes, summary) = build(&text, opts)?;
    let write_err = |source| GeoDbError::Write {
        path: out.to_owned(),
        source,
    };
    let mut tmp_name = out.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    std::fs::write(&tmp, &bytes).map_err(write_err)?;
    std::fs::rename(&tmp, out).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        write_err(e)
    })?;
    Ok(summary)
}

/// Builds the embedded demo database ([`DEMO_CSV`]) in memory.
pub fn demo_database() -> Result<Vec<u8>, GeoDbError> {
    build_from_csv(DEMO_CSV)
}

fn now_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
