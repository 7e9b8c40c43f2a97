//! Geo, ASN and anonymous-IP lookups in MaxMind-format databases, read with the `maxminddb`
//! crate. Records decode into borrowed structs (`&str` into the database buffer), so a lookup
//! allocates nothing.
//!
//! A database that is missing, unreadable or corrupt never panics and never fails a lookup
//! with an error: the answer is [`Lookup::Unavailable`], which the caller turns into a reason
//! code (fail secure). Empty maps (`{}`), which MaxMind writes to fill gaps, mean "not found"
//! for location and ASN and "no flags" for reputation.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use maxminddb::Reader;
use serde::Deserialize;

use super::{Asn, Location, Lookup, Reputation};
use crate::geodb;

/// The source name that selects the embedded demo database.
pub const BUILTIN_DEMO: &str = "builtin:demo";

/// One opened database. The buffer is shared, so the demo DB is built once per process.
#[derive(Debug)]
pub struct GeoDb {
    reader: Reader<Arc<[u8]>>,
    /// True for `ip_version` 4 databases, which cannot hold IPv6 addresses.
    ipv4_only: bool,
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

impl GeoDb {
    /// Opens `source`: a file path, or [`BUILTIN_DEMO`]. The error is a one-line description.
    pub fn open(source: &str) -> Result<GeoDb, String> {
        let bytes: Arc<[u8]> = if source == BUILTIN_DEMO {
            demo_bytes()?
        } else {
            Arc::from(std::fs::read(source).map_err(|e| format!("cannot read: {e}"))?)
        };
        let reader =
            Reader::from_source(bytes).map_err(|e| format!("not a valid MaxMind DB: {e}"))?;
        let ipv4_only = reader.metadata().ip_version == 4;
        Ok(GeoDb { reader, ipv4_only })
    }

    /// The database's `database_type` metadata (e.g. `GeoIP2-City`).
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// Looks `ip` up and decodes the record as `T`. IPv4-mapped IPv6 addresses are looked up
    /// as IPv4. `NotFound` if the tree has no data for `ip`; `Unavailable` if decoding fails.
    fn record<'a, T: Deserialize<'a>>(&'a self, ip: IpAddr) -> Lookup<T> {
        let ip = ip.to_canonical();
        if self.ipv4_only && ip.is_ipv6() {
            return Lookup::NotFound;
        }
        match self.reader.lookup(ip).and_then(|r| r.decode::<T>()) {
            Ok(Some(record)) => Lookup::Found(record),
            Ok(None) => Lookup::NotFound,
            Err(_) => Lookup::Unavailable,
        }
    }

    /// GeoIP2 City schema → [`Location`]. A record without coordinates (e.g. `{}`) is
    /// `NotFound`; coordinates out of range are corrupt data, so `Unavailable`.
    pub fn location(&self, ip: IpAddr) -> Lookup<Location<'_>> {
        match self.record::<CityRecord<'_>>(ip) {
            Lookup::Found(rec) => {
                let (Some(latitude), Some(longitude)) =
                    (rec.location.latitude, rec.location.longitude)
                else {
                    return Lookup::NotFound;
                };
                if !(latitude.abs() <= 90.0 && longitude.abs() <= 180.0) {
                    return Lookup::Unavailable;
                }
                Lookup::Found(Location {
                    country: rec.country.iso_code,
                    city: rec.city.names.en,
                    latitude,
                    longitude,
                    radius_km: rec.location.accuracy_radius.map_or(0.0, f64::from),
                    time_zone: rec.location.time_zone,
                })
            }
            Lookup::NotFound => Lookup::NotFound,
            Lookup::NotConfigured => Lookup::NotConfigured,
            Lookup::Unavailable => Lookup::Unavailable,
        }
    }

    /// GeoIP2 Anonymous-IP schema → [`Reputation`]; `{}` is found with no flags.
    pub fn reputation(&self, ip: IpAddr) -> Lookup<Reputation> {
        match self.record::<AnonymousRecord>(ip) {
            Lookup::Found(rec) => Lookup::Found(Reputation {
                anonymous_vpn: rec.is_anonymous_vpn.unwrap_or(false),
                hosting_provider: rec.is_hosting_provider.unwrap_or(false),
                tor_exit: rec.is_tor_exit_node.unwrap_or(false),
                public_proxy: rec.is_public_proxy.unwrap_or(false),
                residential_proxy: rec.is_residential_proxy.unwrap_or(false),
            }),
            Lookup::NotFound => Lookup::NotFound,
            Lookup::NotConfigured => Lookup::NotConfigured,
            Lookup::Unavailable => Lookup::Unavailable,
        }
    }

    /// GeoLite2 ASN schema → [`Asn`]; a record without a number (e.g. `{}`) is `NotFound`.
    pub fn asn(&self, ip: IpAddr) -> Lookup<Asn<'_>> {
        match self.record::<AsnRecord<'_>>(ip) {
            Lookup::Found(AsnRecord {
                autonomous_system_number: Some(number),
                autonomous_system_organization: organization,
            }) => Lookup::Found(Asn {
                number,
                organization,
            }),
            Lookup::Found(_) | Lookup::NotFound => Lookup::NotFound,
            Lookup::NotConfigured => Lookup::NotConfigured,
            Lookup::Unavailable => Lookup::Unavailable,
        }
    }
}

/// The slice of the GeoIP2 City schema we read. Unknown keys are skipped without decoding.
#[derive(Deserialize)]
struct CityRecord<'a> {
    #[serde(borrow, default)]
    country: CountryRecord<'a>,
    #[serde(borrow, default)]
    city: CityNames<'a>,
    #[serde(borrow, default)]
    location: LocationRecord<'a>,
}

#[derive(Deserialize, Default)]
struct CountryRecord<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize, Default)]
struct CityNames<'a> {
    #[serde(borrow, default)]
    names: Names<'a>,
}

#[derive(Deserialize, Default)]
struct Names<'a> {
    #[serde(borrow, default)]
    en: Option<&'a str>,
}

#[derive(Deserialize, Default)]
struct LocationRecord<'a> {
    #[serde(default)]
    latitude: Option<f64>,
    #[serde(default)]
    longitude: Option<f64>,
    #[serde(default)]
    accuracy_radius: Option<u16>,
    #[serde(borrow, default)]
    time_zone: Option<&'a str>,
}

/// GeoIP2 Anonymous-IP schema.
#[derive(Deserialize)]
struct AnonymousRecord {
    #[serde(default)]
    is_anonymous_vpn: Option<bool>,
    #[serde(default)]
    is_hosting_provider: Option<bool>,
    #[serde(default)]
    is_tor_exit_node: Option<bool>,
    #[serde(default)]
    is_public_proxy: Option<bool>,
    #[serde(default)]
    is_residential_proxy: Option<bool>,
}

/// GeoLite2 ASN schema.
#[derive(Deserialize)]
struct AsnRecord<'a> {
    #[serde(default)]
    autonomous_system_number: Option<u32>,
    #[serde(borrow, default)]
    autonomous_system_organization: Option<&'a str>,
}
