//! `enrich`: what the IP address says about a request — location, ASN, anonymity flags (from
//! MaxMind-DB-format files in the layouts `geo` reads: MaxMind, DB-IP, ip-location-db, IPinfo
//! Lite, ORed with the free `[reputation]` lists of [`reputation`]) and membership in configured
//! block/allow lists.
//!
//! [`Enricher::open`] loads what it can: a missing or corrupt database is not an error but a
//! warning, and that source answers [`Lookup::Unavailable`]; the caller turns that into a reason
//! code (fail secure). Bad list entries *are* errors, since lists are config, and so is a geo
//! file whose layout is unknown or cannot serve its role ([`EnrichError::GeoLayout`]): read
//! with the wrong schema it would answer "not found" for everyone. A source may list several
//! files (IPv4 and IPv6 halves); each lookup goes to the first file covering its family.
//! [`Enricher::lookup`] is on the scoring hot path: it never allocates, never panics and never
//! logs. This module does not score, decide or log; it only reports.

pub mod geo;
pub mod iplist;
pub mod reputation;

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

pub use geo::{BUILTIN_DEMO, GeoDb, Layout, OpenError, Role};
pub use iplist::IpList;
pub use reputation::{
    FlagSource, FlagSources, ListCounts, ListKind, ReputationFiles, ReputationLists,
};

/// Result of one lookup in one database.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lookup<T> {
    /// The database has a record for the address.
    Found(T),
    /// The database has no record for the address.
    NotFound,
    /// The deployment has no such source (not configured): absent by design.
    NotConfigured,
    /// The source is configured but failed to load, or the lookup failed (corrupt data).
    Unavailable,
}

impl<T> Lookup<T> {
    /// The record, if found.
    pub fn found(&self) -> Option<&T> {
        match self {
            Lookup::Found(t) => Some(t),
            Lookup::NotFound | Lookup::NotConfigured | Lookup::Unavailable => None,
        }
    }

    /// True for [`Lookup::Unavailable`].
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Lookup::Unavailable)
    }
}

/// Where an address is, per the City database. Strings borrow from the database.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Location<'a> {
    /// ISO 3166-1 alpha-2 country code, e.g. `GB`.
    pub country: Option<&'a str>,
    /// English city name, e.g. `London`.
    pub city: Option<&'a str>,
    /// Decimal degrees, −90 to 90.
    pub latitude: f64,
    /// Decimal degrees, −180 to 180.
    pub longitude: f64,
    /// Accuracy radius around the point in km, as the database gives it; `None` when the
    /// layout has none (DB-IP, ip-location-db) or the record omits it, so the caller can apply
    /// its own default.
    pub radius_km: Option<f64>,
    /// IANA time zone, e.g. `Europe/London`.
    pub time_zone: Option<&'a str>,
}

/// Anonymity flags, per the Anonymous-IP database. All false = found with no flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reputation {
    /// A VPN provider's address.
    pub anonymous_vpn: bool,
    /// A hosting or cloud provider's address.
    pub hosting_provider: bool,
    /// A Tor exit node.
    pub tor_exit: bool,
    /// A public proxy.
    pub public_proxy: bool,
    /// A residential proxy.
    pub residential_proxy: bool,
}

impl Reputation {
    /// True if any flag is set.
    pub fn any(&self) -> bool {
        self.anonymous_vpn
            || self.hosting_provider
            || self.tor_exit
            || self.public_proxy
            || self.residential_proxy
    }
}

/// The autonomous system announcing an address, per the ASN database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asn<'a> {
    /// AS number, e.g. 15169.
    pub number: u32,
    /// Organization name, if the database has one.
    pub organization: Option<&'a str>,
}

/// Membership in the configured block and allow lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListMatch {
    /// The address is on the block list.
    pub blocked: bool,
    /// The address is on the allow list.
    pub allowed: bool,
}

/// Everything known about one address.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IpIntel<'a> {
    /// City database answer.
    pub location: Lookup<Location<'a>>,
    /// Anonymous-IP database answer ORed with the `[reputation]` lists' (available when
    /// either could answer; see [`reputation::merge`]).
    pub reputation: Lookup<Reputation>,
    /// Which source set each flag of `reputation` (for the reason's detail).
    pub reputation_sources: FlagSources<&'a str>,
    /// ASN database answer.
    pub asn: Lookup<Asn<'a>>,
    /// Block/allow list membership.
    pub lists: ListMatch,
    /// The address belongs to a mobile carrier (its AS number is on `geo.carrier_asns`): it
    /// locates to the carrier's gateway, which may be far from the person (home-routed
    /// roaming, regional NAT pools).
    pub carrier: bool,
}

/// Which databases to open, per role. Each entry is a file path or [`BUILTIN_DEMO`]
/// (`"builtin:demo"`, the embedded demo database, built once in memory); an empty list is not
/// configured (lookups answer [`Lookup::Unavailable`]). Several files serve one role together,
/// e.g. the IPv4 and IPv6 files of ip-location-db: an address goes to the first file that
/// covers its family.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeoSources {
    /// City databases (`geo.city`).
    pub city: Vec<String>,
    /// ASN databases (`geo.asn`).
    pub asn: Vec<String>,
    /// Anonymous-IP databases (`geo.anonymous_ip`).
    pub anonymous_ip: Vec<String>,
    /// CSV lists of mobile carriers' AS numbers (`geo.carrier_asns`; first column the number,
    /// optional `AS` prefix), matched against the ASN database's answer: a carrier's address
    /// locates to its gateway, so its accuracy radius is widened for travel.
    #[serde(default)]
    pub carrier_asns: Vec<String>,
}

/// State of one database source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceState {
    /// No source configured.
    NotConfigured,
    /// Opened and answering lookups.
    Loaded,
    /// Configured, but a file could not be read (see the warnings from [`Enricher::open`]);
    /// the whole source answers [`Lookup::Unavailable`].
    Failed,
}

/// What [`Enricher`] has loaded, for readiness checks and start-up logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceStatus {
    /// City database.
    pub city: SourceState,
    /// ASN database.
    pub asn: SourceState,
    /// Anonymous-IP database.
    pub anonymous_ip: SourceState,
    /// Block-list entries loaded.
    pub block_entries: usize,
    /// Allow-list entries loaded.
    pub allow_entries: usize,
}

/// Errors from [`Enricher::open`]: list config, and geo files Tessera cannot read as their
/// role; missing or corrupt databases degrade to warnings.
#[derive(Debug, thiserror::Error)]
pub enum EnrichError {
    /// A geo file has an unknown layout, a layout that cannot serve its role, or adds nothing
    /// to the files before it in its list.
    #[error("{key}: `{path}`: {problem}")]
    GeoLayout {
        /// The config key, e.g. `geo.city` or `geo.city[1]` when the key lists several files.
        key: String,
        /// The file as configured.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// A line of a list file is not an address or network.
    #[error("{source_name}:{line}: `{entry}`: {reason}")]
    ListLine {
        /// The list file (or name given to [`IpList::parse`]).
        source_name: String,
        /// 1-based line number.
        line: usize,
        /// The offending text, comment stripped.
        entry: String,
        /// What is wrong.
        reason: String,
    },
    /// An inline list entry looks like an address but does not parse.
    #[error("{list}[{index}]: `{entry}`: {reason}")]
    InlineEntry {
        /// `block` or `allow`.
        list: String,
        /// 0-based position in the configured list.
        index: usize,
        /// The entry.
        entry: String,
        /// What is wrong.
        reason: String,
    },
    /// A `[reputation]` list file is unreadable, too large, empty or has a bad line. Names the
    /// key, the file and the line, never the text found there.
    #[error("{key} ({file}){}: {problem}", .line.map(|l| format!(" line {l}")).unwrap_or_default())]
    ReputationList {
        /// The config key and index, e.g. `reputation.vpn[1]`.
        key: String,
        /// The file as configured.
        file: String,
        /// 1-based line number, when the problem is on one line.
        line: Option<usize>,
        /// What is wrong.
        problem: String,
    },
    /// A list file could not be read.
    #[error("reading IP list {path}: {source}")]
    ListFile {
        /// The path as configured.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Opened databases and lists; shared read-only across requests.
#[derive(Debug)]
pub struct Enricher {
    city: Slot,
    asn: Slot,
    anonymous_ip: Slot,
    block: IpList,
    allow: IpList,
    reputation_lists: ReputationLists,
    /// Mobile carriers' AS numbers, sorted.
    carriers: Vec<u32>,
}

/// One configured role, or why there is none.
#[derive(Debug)]
enum Slot {
    NotConfigured,
    Loaded(Source),
    Failed,
}

/// The opened files of one role and which answers each address family.
#[derive(Debug)]
struct Source {
    files: Vec<GeoDb>,
    /// Index into `files` of the file answering IPv4; `None`: IPv4 is not found.
    ipv4: Option<usize>,
    /// Index into `files` of the file answering IPv6; `None`: IPv6 is not found.
    ipv6: Option<usize>,
}

/// `geo.city` for a one-file source, `geo.city[i]` for a list.
fn key(role: Role, index: usize, count: usize) -> String {
    if count == 1 {
        role.key().to_owned()
    } else {
        format!("{}[{index}]", role.key())
    }
}

impl Slot {
    /// Opens every file of `role`. A file that cannot be read makes the role `Failed` with a
    /// warning; a file of an unknown layout, of a layout that cannot serve `role`, or that no
    /// address family would ever reach is an error.
    fn open(role: Role, paths: &[String], warnings: &mut Vec<String>) -> Result<Slot, EnrichError> {
        if paths.is_empty() {
            return Ok(Slot::NotConfigured);
        }
        let layout_err = |index: usize, problem: String| EnrichError::GeoLayout {
            key: key(role, index, paths.len()),
            path: paths.get(index).cloned().unwrap_or_default(),
            problem,
        };
        let mut files = Vec::with_capacity(paths.len());
        let mut failed = false;
        for (index, path) in paths.iter().enumerate() {
            match GeoDb::open(path) {
                Ok(db) if db.layout().serves(role) => files.push(db),
                Ok(db) => return Err(layout_err(index, db.layout().cannot_serve(role))),
                Err(OpenError::UnknownLayout { database_type }) => {
                    return Err(layout_err(
                        index,
                        format!(
                            "unknown database layout (database_type `{database_type}`); Tessera \
                             reads MaxMind GeoIP2/GeoLite2, DB-IP (`DBIP-*`), ip-location-db \
                             (`city ipv4`, `city ipv6`) and IPinfo Lite files"
                        ),
                    ));
                }
                Err(OpenError::Unreadable(why)) => {
                    warnings.push(format!(
                        "{} database `{path}` unavailable: {why}",
                        role.name()
                    ));
                    failed = true;
                }
            }
        }
        if failed {
            return Ok(Slot::Failed);
        }
        let ipv4 = files.iter().position(GeoDb::covers_ipv4);
        let ipv6 = files.iter().position(GeoDb::covers_ipv6);
        if files.len() > 1 {
            for index in 0..files.len() {
                if Some(index) != ipv4 && Some(index) != ipv6 {
                    return Err(layout_err(
                        index,
                        "never consulted: it adds no address family (IPv4, IPv6) that an \
                         earlier file of the list does not already answer"
                            .to_owned(),
                    ));
                }
            }
        }
        for (family, covered) in [("IPv4", ipv4), ("IPv6", ipv6)] {
            if covered.is_none() {
                warnings.push(format!(
                    "{}: no configured file has {family} data, so every {family} address is \
                     not found (list the {family} file too)",
                    role.key()
                ));
            }
        }
        Ok(Slot::Loaded(Source { files, ipv4, ipv6 }))
    }

    /// The file that answers `ip`'s family: `Err` when the role has no database (not
    /// configured or failed), `Ok(None)` when no file covers the family.
    fn db_for(&self, ip: IpAddr) -> Result<Option<&GeoDb>, ()> {
        match self {
            Slot::Loaded(src) => {
                let index = if ip.to_canonical().is_ipv4() {
                    src.ipv4
                } else {
                    src.ipv6
                };
                Ok(index.and_then(|i| src.files.get(i)))
            }
            Slot::NotConfigured | Slot::Failed => Err(()),
        }
    }

    /// Looks `ip` up with `f` in the file for its family; `NotConfigured` without a source,
    /// `Unavailable` when it failed to load.
    fn lookup<'a, T>(&'a self, ip: IpAddr, f: impl FnOnce(&'a GeoDb) -> Lookup<T>) -> Lookup<T> {
        match self {
            Slot::NotConfigured => Lookup::NotConfigured,
            Slot::Failed => Lookup::Unavailable,
            Slot::Loaded(_) => match self.db_for(ip) {
                Ok(Some(db)) => f(db),
                Ok(None) => Lookup::NotFound,
                Err(()) => Lookup::Unavailable,
            },
        }
    }

    fn state(&self) -> SourceState {
        match self {
            Slot::NotConfigured => SourceState::NotConfigured,
            Slot::Loaded(_) => SourceState::Loaded,
            Slot::Failed => SourceState::Failed,
        }
    }
}

impl Enricher {
    /// Opens what it can. A missing, unreadable or corrupt database does not fail: that source
    /// becomes [`Lookup::Unavailable`] and a warning is returned for the caller to log; so is a
    /// source that no file covers for IPv4 or IPv6. A geo file of an unknown layout, or of one
    /// that cannot serve its role, is an [`EnrichError::GeoLayout`] naming the config key.
    /// `block`/`allow` entries are list-file paths or inline CIDRs/addresses; a bad entry, a
    /// bad line or an unreadable list file is an [`EnrichError`].
    pub fn open(
        sources: &GeoSources,
        block: &[String],
        allow: &[String],
    ) -> Result<(Enricher, Vec<String>), EnrichError> {
        let block = IpList::from_entries(block, "block")?;
        let allow = IpList::from_entries(allow, "allow")?;
        let mut warnings = Vec::new();
        let enricher = Enricher {
            city: Slot::open(Role::City, &sources.city, &mut warnings)?,
            asn: Slot::open(Role::Asn, &sources.asn, &mut warnings)?,
            anonymous_ip: Slot::open(Role::AnonymousIp, &sources.anonymous_ip, &mut warnings)?,
            block,
            allow,
            reputation_lists: ReputationLists::none(),
            carriers: carrier_asns(&sources.carrier_asns)?,
        };
        Ok((enricher, warnings))
    }

    /// Adds the `[reputation]` lists (see [`ReputationLists::load`]); they answer beside the
    /// Anonymous-IP database from the next lookup on.
    pub fn with_reputation_lists(mut self, lists: ReputationLists) -> Enricher {
        self.reputation_lists = lists;
        self
    }

    /// The `[reputation]` lists (to reload them).
    pub fn reputation_lists(&self) -> &ReputationLists {
        &self.reputation_lists
    }

    /// Everything known about `ip`. Hot path: no allocation, no panic, no logging; beyond the
    /// lookups themselves, only the choice of file for the address family.
    pub fn lookup(&self, ip: IpAddr) -> IpIntel<'_> {
        let asn = self.asn.lookup(ip, |db| db.asn(ip));
        let asn_number = match &asn {
            Lookup::Found(a) => Lookup::Found(a.number),
            Lookup::NotFound => Lookup::NotFound,
            Lookup::NotConfigured => Lookup::NotConfigured,
            Lookup::Unavailable => Lookup::Unavailable,
        };
        let (reputation, reputation_sources) = reputation::merge(
            self.anonymous_ip.lookup(ip, |db| db.reputation(ip)),
            self.reputation_lists.lookup(ip, asn_number),
        );
        let carrier = match &asn {
            Lookup::Found(a) => self.carriers.binary_search(&a.number).is_ok(),
            _ => false,
        };
        IpIntel {
            location: self.city.lookup(ip, |db| db.location(ip)),
            reputation,
            reputation_sources,
            asn,
            carrier,
            lists: ListMatch {
                blocked: self.block.contains(ip),
                allowed: self.allow.contains(ip),
            },
        }
    }

    /// Which sources are loaded.
    pub fn status(&self) -> SourceStatus {
        SourceStatus {
            city: self.city.state(),
            asn: self.asn.state(),
            anonymous_ip: self.anonymous_ip.state(),
            block_entries: self.block.len(),
            allow_entries: self.allow.len(),
        }
    }
}

/// Reads the `geo.carrier_asns` files into one sorted list (errors name key, file and line).
fn carrier_asns(files: &[String]) -> Result<Vec<u32>, EnrichError> {
    let mut all = Vec::new();
    for (i, path) in files.iter().enumerate() {
        let key = format!("geo.carrier_asns[{i}]");
        if let reputation::load::Table::Asn(asns) =
            reputation::load::load(reputation::ListKind::HostingAsns, &key, path)?
        {
            all.extend(asns);
        }
    }
    all.sort_unstable();
    all.dedup();
    Ok(all)
}
