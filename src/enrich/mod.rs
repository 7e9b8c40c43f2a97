//! `enrich`: what the IP address says about a request — location (GeoIP2 City schema), ASN,
//! anonymity flags (GeoIP2 Anonymous-IP schema, ORed with the free `[reputation]` lists of
//! [`reputation`]) and membership in configured block/allow lists.
//!
//! [`Enricher::open`] loads what it can: a missing or corrupt database is not an error but a
//! warning, and that source answers [`Lookup::Unavailable`]; the caller turns that into a reason
//! code (fail secure). Bad list entries *are* errors, since lists are config.
//! [`Enricher::lookup`] is on the scoring hot path: it never allocates, never panics and never
//! logs. This module does not score, decide or log; it only reports.

pub mod geo;
pub mod iplist;
pub mod reputation;

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

pub use geo::{BUILTIN_DEMO, GeoDb};
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
    /// No database is configured or loaded, or the lookup failed (corrupt data).
    Unavailable,
}

impl<T> Lookup<T> {
    /// The record, if found.
    pub fn found(&self) -> Option<&T> {
        match self {
            Lookup::Found(t) => Some(t),
            Lookup::NotFound | Lookup::Unavailable => None,
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
    /// Accuracy radius around the point in km (0 if the database gives none).
    pub radius_km: f64,
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
}

/// Which databases to open. Each is a file path, [`BUILTIN_DEMO`] (`"builtin:demo"`, the
/// embedded demo database, built once in memory), or `None` (not configured: lookups answer
/// [`Lookup::Unavailable`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeoSources {
    /// GeoIP2/GeoLite2 City database.
    pub city: Option<String>,
    /// GeoLite2 ASN database.
    pub asn: Option<String>,
    /// GeoIP2 Anonymous-IP database.
    pub anonymous_ip: Option<String>,
}

/// State of one database source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceState {
    /// No source configured.
    NotConfigured,
    /// Opened and answering lookups.
    Loaded,
    /// Configured, but could not be opened (see the warnings from [`Enricher::open`]).
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

/// Errors from [`Enricher::open`]: only list config; databases degrade to warnings.
#[derive(Debug, thiserror::Error)]
pub enum EnrichError {
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
}

/// `database_type` fragments expected for each role (ours, [`crate::geodb::DATABASE_TYPE`],
/// fits all three).
const CITY_TYPES: &[&str] = &["City", "Enterprise", "Tessera"];
const ASN_TYPES: &[&str] = &["ASN", "ISP", "Tessera"];
const ANONYMOUS_TYPES: &[&str] = &["Anonymous", "IP-Risk", "Tessera"];

/// One configured database, or why there is none.
#[derive(Debug)]
enum Slot {
    NotConfigured,
    Loaded(GeoDb),
    Failed,
}

impl Slot {
    /// Opens `source` for role `kind`. `expected` are `database_type` fragments that fit the
    /// role: a City DB read as Anonymous-IP would answer "no flags" for every address, so a
    /// mismatch is warned about (but still loaded, for custom databases).
    fn open(
        kind: &str,
        expected: &[&str],
        source: Option<&String>,
        warnings: &mut Vec<String>,
    ) -> Slot {
        let Some(source) = source else {
            return Slot::NotConfigured;
        };
        match GeoDb::open(source) {
            Ok(db) => {
                let db_type = db.database_type();
                if !expected.iter().any(|e| db_type.contains(e)) {
                    warnings.push(format!(
                        "{kind} database `{source}` has database_type `{db_type}`, expected one \
                         containing {expected:?}; its answers may be empty"
                    ));
                }
                Slot::Loaded(db)
            }
            Err(why) => {
                warnings.push(format!("{kind} database `{source}` unavailable: {why}"));
                Slot::Failed
            }
        }
    }

    fn db(&self) -> Option<&GeoDb> {
        match self {
            Slot::Loaded(db) => Some(db),
            Slot::NotConfigured | Slot::Failed => None,
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
    /// becomes [`Lookup::Unavailable`] and a warning is returned for the caller to log.
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
            city: Slot::open("city", CITY_TYPES, sources.city.as_ref(), &mut warnings),
            asn: Slot::open("asn", ASN_TYPES, sources.asn.as_ref(), &mut warnings),
            anonymous_ip: Slot::open(
                "anonymous_ip",
                ANONYMOUS_TYPES,
                sources.anonymous_ip.as_ref(),
                &mut warnings,
            ),
            block,
            allow,
            reputation_lists: ReputationLists::none(),
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

    /// Everything known about `ip`. Hot path: no allocation, no panic, no logging.
    pub fn lookup(&self, ip: IpAddr) -> IpIntel<'_> {
        let asn = self.asn.db().map_or(Lookup::Unavailable, |db| db.asn(ip));
        let asn_number = match &asn {
            Lookup::Found(a) => Lookup::Found(a.number),
            Lookup::NotFound => Lookup::NotFound,
            Lookup::Unavailable => Lookup::Unavailable,
        };
        let (reputation, reputation_sources) = reputation::merge(
            self.anonymous_ip
                .db()
                .map_or(Lookup::Unavailable, |db| db.reputation(ip)),
            self.reputation_lists.lookup(ip, asn_number),
        );
        IpIntel {
            location: self
                .city
                .db()
                .map_or(Lookup::Unavailable, |db| db.location(ip)),
            reputation,
            reputation_sources,
            asn,
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
