//! Reading the chain back: [`verify`], [`verify_anchored`], [`verify_report`], the scan
//! [`super::AuditLog::open`] resumes from, and an anchor's text form (`RECORDS:HASH`, parsed by
//! [`Verified`]'s `FromStr` for `tessera audit verify --anchor` and `tessera report --anchor`).
//!
//! A scan walks the file line by line and checks each record's hash and `prev`. Only the **last**
//! line may be torn (an interrupted write: a crash or a full disk): a last line with no newline at
//! its end, or a last line that is not shaped like a record at all (zeros, a fragment). A torn
//! tail is returned as such, for the opener to move aside; [`verify`] reports it as broken. A
//! whole, record-shaped last line whose hash or `prev` is wrong is an edit, never a tear, and
//! anything wrong before the last line is tampering: both are [`AuditError::Broken`].
//! Reads only; never writes.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::AuditError;

pub(super) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
pub(super) const PREFIX: &str = "{\"record\":";
/// `,"hash":"` + 64 hex + `"}`.
const SUFFIX_LEN: usize = 9 + 64 + 2;

/// What [`verify`] found in an intact log; also the chain's head ([`super::AuditLog::head`]),
/// which, kept elsewhere, anchors the log against having its tail cut ([`verify_anchored`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    /// Number of records.
    pub records: u64,
    /// Hash of the last record (64 zeros when empty).
    pub last_hash: String,
}

/// Why an anchor's text was refused. Names the part of `RECORDS:HASH` that is wrong, never the
/// text given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AnchorError {
    /// No `:` between the two parts.
    #[error("expected RECORDS:HASH")]
    Shape,
    /// `RECORDS` is not a whole number (0 to 2^64 − 1).
    #[error("RECORDS must be a whole number")]
    Records,
    /// `HASH` is not 64 hex digits.
    #[error("HASH must be 64 hex digits")]
    Hash,
}

impl std::str::FromStr for Verified {
    type Err = AnchorError;

    /// Parses an anchor as `GET /v1/audit/head` gives it and the CLI takes it:
    /// `RECORDS:HASH`, `RECORDS` a whole number and `HASH` 64 hex digits (either case; kept
    /// lower-case, as the chain writes it).
    fn from_str(text: &str) -> Result<Verified, AnchorError> {
        let (n, hash) = text.split_once(':').ok_or(AnchorError::Shape)?;
        let records = n.parse::<u64>().map_err(|_| AnchorError::Records)?;
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AnchorError::Hash);
        }
        Ok(Verified {
            records,
            last_hash: hash.to_ascii_lowercase(),
        })
    }
}

/// A torn tail that was moved aside, as its `recovery` record tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recovery {
    /// Number (1-based) of the `recovery` record in the chain.
    pub record: u64,
    /// The side file beside the log that holds the torn bytes (file name only).
    pub file: String,
    /// How many bytes were moved there.
    pub bytes: u64,
}

/// What [`verify_report`] found: the head, and every recovery from a torn tail on the way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Records and last hash, as [`verify`] returns them.
    #[serde(flatten)]
    pub head: Verified,
    /// Torn tails moved aside (oldest first); empty for a log never interrupted mid-write.
    pub recoveries: Vec<Recovery>,
}

/// A torn last line found by a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Torn {
    /// Its line number, 1-based.
    pub line: usize,
    /// Its length in bytes (to the end of the file).
    pub bytes: u64,
    /// Why it counts as torn.
    pub problem: &'static str,
}

/// What a scan of the log found.
#[derive(Debug)]
pub(super) struct Scan {
    pub report: Report,
    /// Bytes taken by the whole records (where a torn tail starts).
    pub whole_len: u64,
    pub torn: Option<Torn>,
}

/// The fields a scan reads from a record's body.
#[derive(Deserialize)]
struct Link {
    prev: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    moved_aside_file: Option<String>,
    #[serde(default)]
    moved_aside_bytes: Option<u64>,
}

/// Why one line failed its check.
enum LineError {
    /// Not shaped like a record at all: may be a torn last line.
    Malformed(&'static str),
    /// Shaped like a record but edited, or out of the chain: tampering.
    Tampered(&'static str),
}

/// Checks the whole chain of the log at `path`; the error names the first broken line (a torn
/// last line is broken here too: `tessera serve` moves it aside when it opens the log).
pub fn verify(path: &Path) -> Result<Verified, AuditError> {
    verify_anchored(path, None)
}

/// Like [`verify`], and when `anchor` (a head taken earlier, `records` and `last_hash`) is given,
/// also checks that record number `anchor.records` is still there with that hash: a log cut
/// back, or rebuilt as a fresh chain, fails although its own chain is intact.
pub fn verify_anchored(path: &Path, anchor: Option<&Verified>) -> Result<Verified, AuditError> {
    verify_report(path, anchor).map(|r| r.head)
}

/// Like [`verify_anchored`], and also lists the torn tails recovered on the way.
pub fn verify_report(path: &Path, anchor: Option<&Verified>) -> Result<Report, AuditError> {
    let scan = scan(path, anchor)?;
    match scan.torn {
        None => Ok(scan.report),
        Some(t) => Err(AuditError::Broken {
            path: path.display().to_string(),
            line: t.line,
            problem: format!(
                "torn last line ({} bytes, {}): an interrupted write; `tessera serve` moves it \
                 aside when it opens the log",
                t.bytes, t.problem
            ),
        }),
    }
}

/// Walks the log: checks every whole record (and `anchor`), stops at a torn last line.
pub(super) fn scan(path: &Path, anchor: Option<&Verified>) -> Result<Scan, AuditError> {
    let name = path.display().to_string();
    let io = |source| AuditError::Io {
        path: name.clone(),
        source,
    };
    let mut reader = BufReader::new(File::open(path).map_err(io)?);
    let mut prev = GENESIS.to_string();
    let (mut records, mut whole_len, mut number) = (0u64, 0u64, 0usize);
    let mut recoveries = Vec::new();
    let mut torn = None;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        number += 1;
        let broken = |problem: &str| AuditError::Broken {
            path: name.clone(),
            line: number,
            problem: problem.to_string(),
        };
        let Some(line) = buf.strip_suffix(b"\n") else {
            // Only the last read can lack its newline.
            torn = Some(Torn {
                line: number,
                bytes: n as u64,
                problem: "no newline at its end",
            });
            break;
        };
        let link = match check_line(line, &prev) {
            Ok(link) => link,
            Err(LineError::Malformed(p)) if reader.fill_buf().map_err(io)?.is_empty() => {
                torn = Some(Torn {
                    line: number,
                    bytes: n as u64,
                    problem: p,
                });
                break;
            }
            Err(LineError::Malformed(p) | LineError::Tampered(p)) => return Err(broken(p)),
        };
        prev = link.0;
        records += 1;
        whole_len += n as u64;
        if link.1.method == "recovery"
            && let (Some(file), Some(bytes)) = (link.1.moved_aside_file, link.1.moved_aside_bytes)
        {
            recoveries.push(Recovery {
                record: records,
                file,
                bytes,
            });
        }
        if let Some(a) = anchor
            && a.records == records
            && a.last_hash != prev
        {
            return Err(broken(
                "record differs from the anchor's hash (history rewritten)",
            ));
        }
    }
    if let Some(a) = anchor
        && a.records > records
    {
        return Err(AuditError::Broken {
            path: name,
            line: usize::try_from(records + 1).unwrap_or(usize::MAX),
            problem: format!(
                "the log ends after {records} records but the anchor names record {}: records were cut from its end",
                a.records
            ),
        });
    }
    Ok(Scan {
        report: Report {
            head: Verified {
                records,
                last_hash: prev,
            },
            recoveries,
        },
        whole_len,
        torn,
    })
}

/// Checks one line (without its newline) against the previous hash; returns its own hash and
/// the fields a scan reads.
fn check_line(line: &[u8], prev: &str) -> Result<(String, Link), LineError> {
    use LineError::{Malformed, Tampered};
    let line = std::str::from_utf8(line).map_err(|_| Malformed("not an audit record (UTF-8)"))?;
    let inner = line
        .strip_prefix(PREFIX)
        .filter(|rest| rest.len() > SUFFIX_LEN)
        .ok_or(Malformed("not an audit record"))?;
    let split = inner.len() - SUFFIX_LEN;
    let (Some(body), Some(suffix)) = (inner.get(..split), inner.get(split..)) else {
        return Err(Malformed("not an audit record"));
    };
    let stated = suffix
        .strip_prefix(",\"hash\":\"")
        .and_then(|s| s.strip_suffix("\"}"))
        .ok_or(Malformed("not an audit record (hash field)"))?;
    let actual = blake3::hash(body.as_bytes()).to_hex().to_string();
    if actual != stated {
        return Err(Tampered(
            "record edited: its hash does not match its content",
        ));
    }
    let link: Link = serde_json::from_str(body)
        .map_err(|_| Tampered("record is not valid JSON with a prev field"))?;
    if link.prev != prev {
        return Err(Tampered(
            "chain broken: prev does not match the previous record (deleted or reordered records)",
        ));
    }
    Ok((actual, link))
}

#[cfg(test)]
mod tests {
    use super::{AnchorError, Verified};

    #[test]
    fn an_anchor_parses_from_records_and_hash() {
        let hash = "0123456789abcdef".repeat(4);
        assert_eq!(
            format!("42:{}", hash.to_ascii_uppercase()).parse::<Verified>(),
            Ok(Verified {
                records: 42,
                last_hash: hash.clone(),
            })
        );
        assert_eq!(
            format!("0:{}", "0".repeat(64)).parse::<Verified>(),
            Ok(Verified {
                records: 0,
                last_hash: super::GENESIS.to_string(),
            })
        );
        assert_eq!(hash.parse::<Verified>(), Err(AnchorError::Shape));
        assert_eq!(
            format!("forty:{hash}").parse::<Verified>(),
            Err(AnchorError::Records)
        );
        assert_eq!(
            format!("-1:{hash}").parse::<Verified>(),
            Err(AnchorError::Records)
        );
        let bad_hex = format!("{}g", &hash[..63]);
        assert_eq!(
            format!("3:{bad_hex}").parse::<Verified>(),
            Err(AnchorError::Hash)
        );
        assert_eq!(
            format!("3:{}", &hash[..63]).parse::<Verified>(),
            Err(AnchorError::Hash),
            "63 digits"
        );
        assert_eq!(
            format!("3:{hash}0").parse::<Verified>(),
            Err(AnchorError::Hash),
            "65 digits"
        );
        // The error names the part, not the text given.
        let e = format!("3:{bad_hex}")
            .parse::<Verified>()
            .expect_err("bad hex");
        assert_eq!(e.to_string(), "HASH must be 64 hex digits");
    }
}
