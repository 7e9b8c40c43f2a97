//! One line of the RBA login dataset's CSV, checked and typed ([`RbaRow`]), and the streaming
//! reader over a file ([`RbaRows`]). The file's quirks are taken as they are: an `index` column
//! first (extra columns, such as the unnamed one pandas adds, are ignored), `-` for an unknown
//! region or city, empty round-trip times, private 10.x addresses, signed 64-bit user ids,
//! `True`/`False`, and user agents quoted because they hold commas.
//!
//! Every problem is a [`DatasetError`] naming the file, the 1-based line and the column as the
//! header names it, never the value. This module neither builds requests nor labels rows.

use std::fs::File;
use std::io::BufReader;
use std::net::IpAddr;
use std::path::Path;

use crate::train::dataset::DatasetError;

/// The columns read, by name, as the header of the published file writes them (in its order).
pub const COLUMNS: [&str; 16] = [
    "index",
    "Login Timestamp",
    "User ID",
    "Round-Trip Time [ms]",
    "IP Address",
    "Country",
    "Region",
    "City",
    "ASN",
    "User Agent String",
    "Browser Name and Version",
    "OS Name and Version",
    "Device Type",
    "Login Successful",
    "Is Attack IP",
    "Is Account Takeover",
];

/// The header line of the published file, exactly.
pub const HEADER: &str = "index,Login Timestamp,User ID,Round-Trip Time [ms],IP Address,Country,\
Region,City,ASN,User Agent String,Browser Name and Version,OS Name and Version,Device Type,\
Login Successful,Is Attack IP,Is Account Takeover";

/// The timestamp layout of `Login Timestamp`, read as UTC (the file gives no zone); the
/// fraction of a second is optional.
pub const TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.f";

/// One login attempt, as the file gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct RbaRow {
    /// 1-based line of the file (the header is line 1).
    pub line: u64,
    /// The file's `index` column.
    pub index: u64,
    /// `Login Timestamp`, ms since 1970 (UTC).
    pub ts_ms: i64,
    /// `User ID`: a signed 64-bit pseudonym.
    pub user_id: i64,
    /// `Round-Trip Time [ms]`; `None` when empty (most rows).
    pub rtt_ms: Option<f64>,
    /// `IP Address`.
    pub ip: IpAddr,
    /// `Country`, ISO 3166-1 alpha-2; `None` for `-` or empty.
    pub country: Option<String>,
    /// `Region`; `None` for `-` or empty.
    pub region: Option<String>,
    /// `City`; `None` for `-` or empty.
    pub city: Option<String>,
    /// `ASN`; `None` for `-` or empty.
    pub asn: Option<u32>,
    /// `User Agent String`; `None` when empty.
    pub user_agent: Option<String>,
    /// `Browser Name and Version` (derived from the user agent by the publishers).
    pub browser: Option<String>,
    /// `OS Name and Version` (likewise).
    pub os: Option<String>,
    /// `Device Type`: `mobile`, `desktop`, `tablet`, `bot`, `unknown`; `None` when empty.
    pub device_type: Option<String>,
    /// `Login Successful`.
    pub login_successful: bool,
    /// `Is Attack IP`: the address was in a known attacker data set.
    pub is_attack_ip: bool,
    /// `Is Account Takeover`: the service's incident response identified the login as a takeover.
    pub is_account_takeover: bool,
}

/// Reads an RBA-layout file row by row, in file order, in bounded memory.
pub struct RbaRows {
    reader: csv::Reader<BufReader<File>>,
    /// Position of each of [`COLUMNS`] in the file's records.
    at: [usize; 16],
    path: String,
    record: csv::ByteRecord,
}

/// Opens `path` and checks its header (every one of [`COLUMNS`] present).
pub fn rows(path: &Path) -> Result<RbaRows, DatasetError> {
    let shown = path.display().to_string();
    let file = File::open(path).map_err(|source| DatasetError::Io {
        path: shown.clone(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(BufReader::new(file));
    let header = reader
        .byte_headers()
        .map_err(|e| csv_error(&shown, e))?
        .clone();
    let names: Vec<&[u8]> = header
        .iter()
        .enumerate()
        .map(|(i, name)| match i {
            0 => name.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(name), // a UTF-8 byte-order mark
            _ => name,
        })
        .collect();
    let mut at = [0usize; 16];
    for (slot, column) in at.iter_mut().zip(COLUMNS) {
        *slot = names
            .iter()
            .position(|n| *n == column.as_bytes())
            .ok_or_else(|| DatasetError::Header {
                path: shown.clone(),
                column,
            })?;
    }
    Ok(RbaRows {
        reader,
        at,
        path: shown,
        record: csv::ByteRecord::new(),
    })
}

/// A csv-crate error as a [`DatasetError`] with its line (the text is never quoted).
fn csv_error(path: &str, e: csv::Error) -> DatasetError {
    let line = e.position().map_or(0, csv::Position::line);
    match e.into_kind() {
        csv::ErrorKind::Io(source) => DatasetError::Io {
            path: path.to_owned(),
            source,
        },
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => DatasetError::Line {
            path: path.to_owned(),
            line,
            problem: format!("expected {expected_len} fields as in the header, found {len}"),
        },
        _ => DatasetError::Line {
            path: path.to_owned(),
            line,
            problem: "not readable as CSV".to_owned(),
        },
    }
}

impl Iterator for RbaRows {
    type Item = Result<RbaRow, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => None,
            Ok(true) => Some(self.parse()),
            Err(e) => Some(Err(csv_error(&self.path, e))),
        }
    }
}

impl RbaRows {
    /// Parses the current record.
    fn parse(&self) -> Result<RbaRow, DatasetError> {
        let line = self.record.position().map_or(0, csv::Position::line);
        let bad = |k: usize, problem: &'static str| DatasetError::Field {
            path: self.path.clone(),
            line,
            column: COLUMNS.get(k).copied().unwrap_or("?"),
            problem,
        };
        // Text of column k, trimmed; the header check guarantees the position exists.
        let text = |k: usize| -> Result<&str, DatasetError> {
            let pos = self.at.get(k).copied().unwrap_or(usize::MAX);
            let bytes = self.record.get(pos).ok_or_else(|| bad(k, "missing"))?;
            std::str::from_utf8(bytes)
                .map(str::trim)
                .map_err(|_| bad(k, "not UTF-8 text"))
        };
        // `-` and empty mean unknown.
        let known = |k: usize| -> Result<Option<String>, DatasetError> {
            let t = text(k)?;
            if t.chars().any(char::is_control) {
                return Err(bad(k, "contains control characters"));
            }
            Ok((!t.is_empty() && t != "-").then(|| t.to_owned()))
        };
        let flag = |k: usize| match text(k)? {
            "True" | "true" => Ok(true),
            "False" | "false" => Ok(false),
            _ => Err(bad(k, "expected True or False")),
        };
        let index = text(0)?
            .parse::<u64>()
            .map_err(|_| bad(0, "expected a whole number"))?;
        let ts_ms = chrono::NaiveDateTime::parse_from_str(text(1)?, TIMESTAMP_FORMAT)
            .map_err(|_| bad(1, "expected a time as YYYY-MM-DD HH:MM:SS.fff"))?
            .and_utc()
            .timestamp_millis();
        let user_id = text(2)?
            .parse::<i64>()
            .map_err(|_| bad(2, "expected a signed 64-bit integer"))?;
        let rtt_ms = match text(3)? {
            "" => None,
            t => match t.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Some(v),
                _ => return Err(bad(3, "expected a number of ms (0 or more) or nothing")),
            },
        };
        let ip = text(4)?
            .parse::<IpAddr>()
            .map_err(|_| bad(4, "expected an IPv4 or IPv6 address"))?
            .to_canonical();
        let country = known(5)?;
        if let Some(c) = &country
            && !(c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(bad(
                5,
                "expected a two-letter ISO 3166-1 code, - or nothing",
            ));
        }
        let asn = match known(8)? {
            None => None,
            Some(t) => Some(
                t.parse::<u32>()
                    .map_err(|_| bad(8, "expected an AS number (0 to 4294967295)"))?,
            ),
        };
        Ok(RbaRow {
            line,
            index,
            ts_ms,
            user_id,
            rtt_ms,
            ip,
            country,
            region: known(6)?,
            city: known(7)?,
            asn,
            user_agent: known(9)?,
            browser: known(10)?,
            os: known(11)?,
            device_type: known(12)?,
            login_successful: flag(13)?,
            is_attack_ip: flag(14)?,
            is_account_takeover: flag(15)?,
        })
    }
}
