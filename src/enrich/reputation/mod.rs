//! Free IP-reputation lists as first-class inputs (`[reputation]`): the Tor Project's bulk
//! exit list, VPN, hosting and proxy address lists (X4BNet `lists_vpn`, FireHOL netsets) and
//! hosting/VPN AS-number lists matched against the ASN database's answer. They set the same
//! [`Reputation`] flags the Anonymous-IP database sets, and [`merge`] ORs the two, recording
//! which source set each flag ([`FlagSources`]) for the reason's detail.
//!
//! With lists configured, reputation is *available* even without the (paid) Anonymous-IP
//! database: an address on no list is "found, no flags", not `reputation_unavailable`.
//!
//! The configured files are fixed at start-up; their contents are read again by
//! [`ReputationLists::reload`] (SIGHUP, `POST /v1/admin/reload`), which swaps the whole set at
//! once, or, when any file fails to load, keeps the old set and returns the error.
//! [`ReputationLists::lookup`] is on the scoring hot path: a shared read of the current set
//! (writers only swap a pointer), binary searches, no allocation, no logging. This module
//! reports counts; the caller logs them.

pub(crate) mod load;

use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use super::{EnrichError, Lookup, Reputation};
pub use load::MAX_LIST_BYTES;
use load::Table;

/// `[reputation]`: list files per kind, each an array of paths (read in this order; the first
/// file that lists an address names the source).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReputationFiles {
    /// Tor exit addresses, one a line (the Tor Project's bulk exit list) → `tor_exit`.
    pub tor_exit: Vec<String>,
    /// VPN networks, a CIDR or address a line → `anonymous_vpn`.
    pub vpn: Vec<String>,
    /// Hosting/data-centre networks → `hosting_provider`.
    pub hosting: Vec<String>,
    /// Open proxies → `public_proxy`.
    pub proxy: Vec<String>,
    /// CSV lists of hosting/VPN AS numbers (first column, optional `AS` prefix), matched
    /// against the ASN database's answer → `hosting_provider`.
    pub hosting_asns: Vec<String>,
}

impl ReputationFiles {
    /// The files configured for `kind`.
    pub fn of(&self, kind: ListKind) -> &[String] {
        match kind {
            ListKind::TorExit => &self.tor_exit,
            ListKind::Vpn => &self.vpn,
            ListKind::Hosting => &self.hosting,
            ListKind::Proxy => &self.proxy,
            ListKind::HostingAsns => &self.hosting_asns,
        }
    }

    /// Every configured file as (kind, index in its key's array, path), kind by kind.
    pub fn entries(&self) -> impl Iterator<Item = (ListKind, usize, &str)> {
        ListKind::ALL.into_iter().flat_map(move |kind| {
            self.of(kind)
                .iter()
                .enumerate()
                .map(move |(i, path)| (kind, i, path.as_str()))
        })
    }

    /// True when no list is configured.
    pub fn is_empty(&self) -> bool {
        self.entries().next().is_none()
    }
}

/// The kinds of list, one per `[reputation]` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ListKind {
    /// `tor_exit`.
    TorExit,
    /// `vpn`.
    Vpn,
    /// `hosting`.
    Hosting,
    /// `proxy`.
    Proxy,
    /// `hosting_asns`.
    HostingAsns,
}

impl ListKind {
    /// Every kind, in config order.
    pub const ALL: [ListKind; 5] = [
        ListKind::TorExit,
        ListKind::Vpn,
        ListKind::Hosting,
        ListKind::Proxy,
        ListKind::HostingAsns,
    ];

    /// The config key under `[reputation]`.
    pub fn key(self) -> &'static str {
        match self {
            ListKind::TorExit => "tor_exit",
            ListKind::Vpn => "vpn",
            ListKind::Hosting => "hosting",
            ListKind::Proxy => "proxy",
            ListKind::HostingAsns => "hosting_asns",
        }
    }

    /// How a reason's detail names the source: `tor_exit list`, `hosting_asns list` ….
    pub fn source(self) -> &'static str {
        match self {
            ListKind::TorExit => "tor_exit list",
            ListKind::Vpn => "vpn list",
            ListKind::Hosting => "hosting list",
            ListKind::Proxy => "proxy list",
            ListKind::HostingAsns => "hosting_asns list",
        }
    }
}

/// Which source set an anonymiser flag. `S` is the file name: borrowed (`&str`) in
/// [`super::IpIntel`], owned (`String`) in the features' findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagSource<S> {
    /// The Anonymous-IP database.
    Database,
    /// A `[reputation]` list: its kind and its file name (without the directory).
    List {
        /// The list's key.
        kind: ListKind,
        /// The file name.
        file: S,
    },
}

impl<S: AsRef<str>> FlagSource<S> {
    /// `anonymous_ip database`, or the list's [`ListKind::source`].
    pub fn source(&self) -> &'static str {
        match self {
            FlagSource::Database => "anonymous_ip database",
            FlagSource::List { kind, .. } => kind.source(),
        }
    }

    /// The list's file name; `None` for the database.
    pub fn file(&self) -> Option<&str> {
        match self {
            FlagSource::Database => None,
            FlagSource::List { file, .. } => Some(file.as_ref()),
        }
    }

    fn to_owned_source(&self) -> FlagSource<String> {
        match self {
            FlagSource::Database => FlagSource::Database,
            FlagSource::List { kind, file } => FlagSource::List {
                kind: *kind,
                file: file.as_ref().to_owned(),
            },
        }
    }
}

/// Which source set each anonymiser flag; `None` where the flag is not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlagSources<S> {
    /// Source of `tor_exit`.
    pub tor_exit: Option<FlagSource<S>>,
    /// Source of `anonymous_vpn`.
    pub anonymous_vpn: Option<FlagSource<S>>,
    /// Source of `hosting_provider`.
    pub hosting_provider: Option<FlagSource<S>>,
    /// Source of `public_proxy` (or the database's `residential_proxy`).
    pub proxy: Option<FlagSource<S>>,
}

impl<S: AsRef<str>> FlagSources<S> {
    /// The same with owned file names (allocates only for flags set by a list).
    pub fn to_owned_sources(&self) -> FlagSources<String> {
        let own = |s: &Option<FlagSource<S>>| s.as_ref().map(FlagSource::to_owned_source);
        FlagSources {
            tor_exit: own(&self.tor_exit),
            anonymous_vpn: own(&self.anonymous_vpn),
            hosting_provider: own(&self.hosting_provider),
            proxy: own(&self.proxy),
        }
    }
}

/// What the lists say about one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListVerdict<'a> {
    /// The lists could answer: an address list is configured, or an AS-number list is and the
    /// ASN database answered.
    pub answered: bool,
    /// The flags the lists set.
    pub flags: Reputation,
    /// The list that set each flag (the first file, in config order).
    pub sources: FlagSources<&'a str>,
}

/// Entries loaded from one configured file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCount {
    /// The list's kind.
    pub kind: ListKind,
    /// The config key with its index, e.g. `reputation.vpn[1]`.
    pub key: String,
    /// The file name (without the directory).
    pub file: String,
    /// Lines accepted (addresses, networks or AS numbers).
    pub entries: usize,
}

/// What one load or reload read, file by file (for logs and the audit trail).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListCounts {
    /// One per configured file, in config order.
    pub files: Vec<FileCount>,
}

impl ListCounts {
    /// Entries per configured kind, summed over its files, as (`tor_exit`, n) ….
    pub fn totals(&self) -> Vec<(&'static str, usize)> {
        let mut out: Vec<(&'static str, usize)> = Vec::new();
        for f in &self.files {
            match out.iter_mut().find(|(k, _)| *k == f.kind.key()) {
                Some((_, n)) => *n += f.entries,
                None => out.push((f.kind.key(), f.entries)),
            }
        }
        out
    }
}

/// One configured file (fixed at start-up).
#[derive(Debug)]
struct FileSpec {
    kind: ListKind,
    key: String,
    path: String,
    name: String,
}

/// The loaded tables, parallel to the specs.
#[derive(Debug, Default)]
struct Snapshot {
    tables: Vec<Table>,
}

/// The configured lists and their current contents; shared read-only across requests and
/// replaced as a whole by [`ReputationLists::reload`].
#[derive(Debug, Default)]
pub struct ReputationLists {
    specs: Vec<FileSpec>,
    has_ip_lists: bool,
    has_asn_lists: bool,
    current: RwLock<Arc<Snapshot>>,
}

impl ReputationLists {
    /// No lists: every lookup answers "not answered".
    pub fn none() -> ReputationLists {
        ReputationLists::default()
    }

    /// Reads every configured file. Any unreadable, oversized, empty or malformed file is an
    /// [`EnrichError::ReputationList`] naming its key (`reputation.vpn[1]`), file and line.
    pub fn load(files: &ReputationFiles) -> Result<(ReputationLists, ListCounts), EnrichError> {
        let specs: Vec<FileSpec> = files
            .entries()
            .map(|(kind, index, path)| FileSpec {
                kind,
                key: format!("reputation.{}[{index}]", kind.key()),
                path: path.to_owned(),
                name: Path::new(path)
                    .file_name()
                    .map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned()),
            })
            .collect();
        let (snapshot, counts) = read_all(&specs)?;
        let lists = ReputationLists {
            has_ip_lists: specs.iter().any(|s| s.kind != ListKind::HostingAsns),
            has_asn_lists: specs.iter().any(|s| s.kind == ListKind::HostingAsns),
            specs,
            current: RwLock::new(Arc::new(snapshot)),
        };
        Ok((lists, counts))
    }

    /// Reads every configured file again and swaps the new set in at once. On any error the
    /// current set keeps serving and the error names the key, file and line. Blocking (file I/O).
    pub fn reload(&self) -> Result<ListCounts, EnrichError> {
        let (snapshot, counts) = read_all(&self.specs)?;
        let old = {
            let mut slot = self.current.write().unwrap_or_else(|p| p.into_inner());
            std::mem::replace(&mut *slot, Arc::new(snapshot))
        };
        // The old tables are freed here, outside the lock.
        drop(old);
        Ok(counts)
    }

    /// True when at least one list file is configured.
    pub fn is_configured(&self) -> bool {
        !self.specs.is_empty()
    }

    /// What the lists say about `ip`, whose ASN database answer is `asn`. Hot path: no
    /// allocation, no panic, no logging.
    pub fn lookup(&self, ip: IpAddr, asn: Lookup<u32>) -> ListVerdict<'_> {
        let mut v = ListVerdict {
            answered: self.has_ip_lists
                || (self.has_asn_lists && matches!(asn, Lookup::Found(_) | Lookup::NotFound)),
            ..ListVerdict::default()
        };
        if self.specs.is_empty() {
            return v;
        }
        let number = asn.found().copied();
        let snapshot = self.current.read().unwrap_or_else(|p| p.into_inner());
        for (spec, table) in self.specs.iter().zip(snapshot.tables.iter()) {
            let slot = match spec.kind {
                ListKind::TorExit => &mut v.sources.tor_exit,
                ListKind::Vpn => &mut v.sources.anonymous_vpn,
                ListKind::Hosting | ListKind::HostingAsns => &mut v.sources.hosting_provider,
                ListKind::Proxy => &mut v.sources.proxy,
            };
            if slot.is_some() {
                continue;
            }
            let hit = match table {
                Table::Ip(list) => list.contains(ip),
                Table::Asn(asns) => number.is_some_and(|n| asns.binary_search(&n).is_ok()),
            };
            if hit {
                *slot = Some(FlagSource::List {
                    kind: spec.kind,
                    file: spec.name.as_str(),
                });
            }
        }
        drop(snapshot);
        let s = &v.sources;
        v.flags = Reputation {
            tor_exit: s.tor_exit.is_some(),
            anonymous_vpn: s.anonymous_vpn.is_some(),
            hosting_provider: s.hosting_provider.is_some(),
            public_proxy: s.proxy.is_some(),
            residential_proxy: false,
        };
        v
    }
}

/// Reads every file of `specs`, stopping at the first error.
fn read_all(specs: &[FileSpec]) -> Result<(Snapshot, ListCounts), EnrichError> {
    let mut tables = Vec::with_capacity(specs.len());
    let mut counts = ListCounts::default();
    for spec in specs {
        let table = load::load(spec.kind, &spec.key, &spec.path)?;
        counts.files.push(FileCount {
            kind: spec.kind,
            key: spec.key.clone(),
            file: spec.name.clone(),
            entries: table.entries(),
        });
        tables.push(table);
    }
    Ok((Snapshot { tables }, counts))
}

/// The Anonymous-IP database's answer ORed with the lists': reputation is available when
/// either could answer; each flag keeps the first source that set it (the database, then the
/// lists in config order).
pub fn merge<'a>(
    db: Lookup<Reputation>,
    lists: ListVerdict<'a>,
) -> (Lookup<Reputation>, FlagSources<&'a str>) {
    let mut sources = FlagSources::default();
    if let Lookup::Found(r) = db {
        let by_db = |set: bool| set.then_some(FlagSource::Database);
        sources = FlagSources {
            tor_exit: by_db(r.tor_exit),
            anonymous_vpn: by_db(r.anonymous_vpn),
            hosting_provider: by_db(r.hosting_provider),
            proxy: by_db(r.public_proxy || r.residential_proxy),
        };
    }
    let l = lists.sources;
    sources.tor_exit = sources.tor_exit.or(l.tor_exit);
    sources.anonymous_vpn = sources.anonymous_vpn.or(l.anonymous_vpn);
    sources.hosting_provider = sources.hosting_provider.or(l.hosting_provider);
    sources.proxy = sources.proxy.or(l.proxy);
    let f = lists.flags;
    let merged = match db {
        Lookup::Found(r) => Lookup::Found(Reputation {
            anonymous_vpn: r.anonymous_vpn || f.anonymous_vpn,
            hosting_provider: r.hosting_provider || f.hosting_provider,
            tor_exit: r.tor_exit || f.tor_exit,
            public_proxy: r.public_proxy || f.public_proxy,
            residential_proxy: r.residential_proxy,
        }),
        Lookup::NotFound if f.any() => Lookup::Found(f),
        Lookup::NotFound => Lookup::NotFound,
        Lookup::NotConfigured | Lookup::Unavailable if lists.answered => Lookup::Found(f),
        Lookup::NotConfigured => Lookup::NotConfigured,
        Lookup::Unavailable => Lookup::Unavailable,
    };
    (merged, sources)
}

#[cfg(test)]
mod tests;
