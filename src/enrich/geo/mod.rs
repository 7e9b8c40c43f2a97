//! Geo, ASN and anonymous-IP lookups in MaxMind-DB-format files (`.mmdb`), read with the
//! `maxminddb` crate, in every layout a self-hoster really has: MaxMind GeoIP2/GeoLite2,
//! DB-IP's MaxMind-compatible files, the flat ip-location-db files and IPinfo Lite (the table is
//! in `layout.rs`). [`GeoDb::open`] tells the layout from the metadata; each lookup decodes the
//! record with that layout's borrowed struct (`records.rs`), so a lookup allocates nothing.
//!
//! A database that is missing, unreadable or corrupt never panics and never fails a lookup
//! with an error: the answer is [`Lookup::Unavailable`], which the caller turns into a reason
//! code (fail secure). Empty maps (`{}`), which MaxMind writes to fill gaps, mean "not found"
//! for location and ASN and "no flags" for reputation. This module neither scores nor logs.

mod layout;
mod records;

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use maxminddb::{Reader, WithinOptions};
use serde::Deserialize;

pub use layout::{Layout, Role};
use records::{AnonymousRecord, AsnRecord, CityRecord, Decoded, FlatCityRecord, IpinfoRecord};

use super::{Asn, Location, Lookup, Reputation};
use crate::geodb;

/// The source name that selects the embedded demo database.
pub const BUILTIN_DEMO: &str = "builtin:demo";

/// Why [`GeoDb::open`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// The file cannot be read or is not a valid MaxMind DB (a one-line description). The
    /// source degrades to `Unavailable`.
    Unreadable(String),
    /// A valid MaxMind DB whose `database_type` is no layout Tessera knows.
    UnknownLayout {
        /// The metadata's `database_type`.
        database_type: String,
    },
}

/// One opened database. The buffer is shared, so the demo DB is built once per process.
#[derive(Debug)]
pub struct GeoDb {
    reader: Reader<Arc<[u8]>>,
    layout: Layout,
    /// True for `ip_version` 4 databases, which cannot hold IPv6 addresses.
    ipv4_only: bool,
    /// The file has data for some IPv4 address.
    covers_ipv4: bool,
    /// The file has data for some global IPv6 address (`2000::/3`, aliases of IPv4 excluded).
    covers_ipv6: bool,
}

/// The embedded demo database, built on first use.
fn demo_bytes() -> Result<Arc<[u8]>, String> {
    static DEMO: OnceLock<Result<Arc<[u8]>, String>> = OnceLock::new();
    DEMO.get_or_init(|| {
        geodb::demo_database()
            .map(Arc::from)
            .map_err(|e| format!("building the embedded demo database: {e}"))
    })
    .clone()
}

/// True if `reader` has a data record anywhere in `cidr`, aliases of the IPv4 subtree
/// excluded (a corrupt tree counts as data: its lookups answer `Unavailable`, not nothing).
fn has_data(reader: &Reader<Arc<[u8]>>, cidr: &str) -> bool {
    let Ok(network) = cidr.parse() else {
        return false;
    };
    match reader.within(network, WithinOptions::default()) {
        Ok(mut networks) => networks.next().is_some(),
        Err(_) => false,
    }
}

impl GeoDb {
    /// Opens `source`: a file path, or [`BUILTIN_DEMO`], and tells its layout.
    pub fn open(source: &str) -> Result<GeoDb, OpenError> {
        let bytes: Arc<[u8]> = if source == BUILTIN_DEMO {
            demo_bytes().map_err(OpenError::Unreadable)?
        } else {
            Arc::from(
                std::fs::read(source)
                    .map_err(|e| OpenError::Unreadable(format!("cannot read: {e}")))?,
            )
        };
        let reader = Reader::from_source(bytes)
            .map_err(|e| OpenError::Unreadable(format!("not a valid MaxMind DB: {e}")))?;
        let database_type = &reader.metadata().database_type;
        let layout = Layout::detect(database_type).ok_or_else(|| OpenError::UnknownLayout {
            database_type: database_type.clone(),
        })?;
        let ipv4_only = reader.metadata().ip_version == 4;
        let covers_ipv4 = has_data(&reader, "0.0.0.0/0");
        let covers_ipv6 = !ipv4_only && has_data(&reader, "2000::/3");
        Ok(GeoDb {
            reader,
            layout,
            ipv4_only,
            covers_ipv4,
            covers_ipv6,
        })
    }

    /// The database's `database_type` metadata (e.g. `GeoIP2-City`).
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// The layout told from the metadata.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// True if the file holds data for IPv4 addresses.
    pub fn covers_ipv4(&self) -> bool {
        self.covers_ipv4
    }

    /// True if the file holds data for (global) IPv6 addresses.
    pub fn covers_ipv6(&self) -> bool {
        self.covers_ipv6
    }

    /// Looks `ip` up and decodes the record as `T`. IPv4-mapped IPv6 addresses are looked up
    /// as IPv4. `None` if the tree has no data for `ip`; `Err` if decoding fails.
    fn record<'a, T: Deserialize<'a>>(&'a self, ip: IpAddr) -> Result<Option<T>, ()> {
        let ip = ip.to_canonical();
        if self.ipv4_only && ip.is_ipv6() {
            return Ok(None);
        }
        self.reader
            .lookup(ip)
            .and_then(|r| r.decode::<T>())
            .map_err(|_| ())
    }

    /// Decodes with `T` and converts; the layout decides `T`.
    fn decoded<'a, T: Deserialize<'a>, U>(
        &'a self,
        ip: IpAddr,
        convert: impl FnOnce(T) -> Decoded<U>,
    ) -> Lookup<U> {
        match self.record::<T>(ip) {
            Ok(Some(rec)) => match convert(rec) {
                Decoded::Found(v) => Lookup::Found(v),
                Decoded::Empty => Lookup::NotFound,
                Decoded::Corrupt => Lookup::Unavailable,
            },
            Ok(None) => Lookup::NotFound,
            Err(()) => Lookup::Unavailable,
        }
    }

    /// Location per this layout's City schema. A record without coordinates (e.g. `{}`) is
    /// `NotFound`; coordinates out of range are corrupt data, so `Unavailable`. A layout that
    /// cannot serve the City role answers `Unavailable` (the enricher refuses such files at
    /// start-up).
    pub fn location(&self, ip: IpAddr) -> Lookup<Location<'_>> {
        match self.layout {
            Layout::TesseraDemo | Layout::MaxMindCity | Layout::DbIpCity => {
                self.decoded(ip, CityRecord::location)
            }
            Layout::IpLocationDbCity => self.decoded(ip, FlatCityRecord::location),
            _ => Lookup::Unavailable,
        }
    }

    /// Anonymous-IP schema → [`Reputation`]; `{}` is found with no flags.
    pub fn reputation(&self, ip: IpAddr) -> Lookup<Reputation> {
        match self.layout {
            Layout::TesseraDemo | Layout::MaxMindAnonymousIp => {
                self.decoded(ip, |r: AnonymousRecord| Decoded::Found(r.reputation()))
            }
            _ => Lookup::Unavailable,
        }
    }

    /// ASN per this layout; a record without a number (e.g. `{}`) is `NotFound`.
    pub fn asn(&self, ip: IpAddr) -> Lookup<Asn<'_>> {
        match self.layout {
            Layout::TesseraDemo | Layout::MaxMindAsn | Layout::DbIpAsn => {
                self.decoded(ip, AsnRecord::asn)
            }
            Layout::IpinfoLite => self.decoded(ip, IpinfoRecord::asn),
            _ => Lookup::Unavailable,
        }
    }
}
