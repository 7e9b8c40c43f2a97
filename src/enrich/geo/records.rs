//! The slices of each layout's record that Tessera reads, as borrowed serde structs (`&str`
//! into the database buffer, so decoding allocates nothing), and their conversion into
//! [`Location`], [`Asn`] and [`Reputation`]. Unknown keys are skipped without decoding.
//!
//! Rules shared by every layout: a record without coordinates is no location (`NotFound`);
//! coordinates out of range are corrupt data (`None` here, `Unavailable` to the caller); empty
//! strings, which flat layouts write for unknown values, are `None`.

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, Visitor};

use crate::enrich::{Asn, Location, Reputation};

/// What decoding one record gave.
pub(super) enum Decoded<T> {
    /// A usable answer.
    Found(T),
    /// A record with nothing for this role (e.g. `{}`, or no coordinates).
    Empty,
    /// The record is malformed (coordinates out of range, an unparsable AS number).
    Corrupt,
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

/// Decimal degrees stored as a double (MaxMind, DB-IP) or a 32-bit float (ip-location-db).
/// The `maxminddb` decoder reads each type only into its own width, so this takes either.
#[derive(Clone, Copy)]
struct Degrees(f64);

impl<'de> Deserialize<'de> for Degrees {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Degrees, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Degrees;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a double or float in degrees")
            }
            fn visit_f64<E>(self, v: f64) -> Result<Degrees, E> {
                Ok(Degrees(v))
            }
            fn visit_f32<E>(self, v: f32) -> Result<Degrees, E> {
                Ok(Degrees(f64::from(v)))
            }
        }
        d.deserialize_any(V)
    }
}

fn place<'a>(
    latitude: Option<Degrees>,
    longitude: Option<Degrees>,
    make: impl FnOnce(f64, f64) -> Location<'a>,
) -> Decoded<Location<'a>> {
    let (Some(Degrees(latitude)), Some(Degrees(longitude))) = (latitude, longitude) else {
        return Decoded::Empty;
    };
    if !(latitude.abs() <= 90.0 && longitude.abs() <= 180.0) {
        return Decoded::Corrupt;
    }
    Decoded::Found(make(latitude, longitude))
}

/// GeoIP2 City schema (MaxMind, DB-IP, Tessera's demo).
#[derive(Deserialize)]
pub(super) struct CityRecord<'a> {
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
    latitude: Option<Degrees>,
    #[serde(default)]
    longitude: Option<Degrees>,
    #[serde(default)]
    accuracy_radius: Option<u16>,
    #[serde(borrow, default)]
    time_zone: Option<&'a str>,
}

impl<'a> CityRecord<'a> {
    pub(super) fn location(self) -> Decoded<Location<'a>> {
        let loc = self.location;
        place(loc.latitude, loc.longitude, |latitude, longitude| {
            Location {
                country: non_empty(self.country.iso_code),
                city: non_empty(self.city.names.en),
                latitude,
                longitude,
                radius_km: loc.accuracy_radius.map(f64::from),
                time_zone: non_empty(loc.time_zone),
            }
        })
    }
}

/// ip-location-db flat city schema. Coordinates are 32-bit floats in the real files.
#[derive(Deserialize)]
pub(super) struct FlatCityRecord<'a> {
    #[serde(borrow, default)]
    country_code: Option<&'a str>,
    #[serde(borrow, default)]
    city: Option<&'a str>,
    #[serde(default)]
    latitude: Option<Degrees>,
    #[serde(default)]
    longitude: Option<Degrees>,
    #[serde(borrow, default)]
    timezone: Option<&'a str>,
}

impl<'a> FlatCityRecord<'a> {
    pub(super) fn location(self) -> Decoded<Location<'a>> {
        place(self.latitude, self.longitude, |latitude, longitude| {
            Location {
                country: non_empty(self.country_code),
                city: non_empty(self.city),
                latitude,
                longitude,
                radius_km: None,
                time_zone: non_empty(self.timezone),
            }
        })
    }
}

/// GeoIP2 Anonymous-IP schema.
#[derive(Deserialize)]
pub(super) struct AnonymousRecord {
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

impl AnonymousRecord {
    /// `{}` is found with no flags, as MaxMind fills gaps.
    pub(super) fn reputation(self) -> Reputation {
        Reputation {
            anonymous_vpn: self.is_anonymous_vpn.unwrap_or(false),
            hosting_provider: self.is_hosting_provider.unwrap_or(false),
            tor_exit: self.is_tor_exit_node.unwrap_or(false),
            public_proxy: self.is_public_proxy.unwrap_or(false),
            residential_proxy: self.is_residential_proxy.unwrap_or(false),
        }
    }
}

/// GeoLite2 ASN schema (MaxMind, DB-IP ASN Lite, Tessera's demo).
#[derive(Deserialize)]
pub(super) struct AsnRecord<'a> {
    #[serde(default)]
    autonomous_system_number: Option<u32>,
    #[serde(borrow, default)]
    autonomous_system_organization: Option<&'a str>,
}

impl<'a> AsnRecord<'a> {
    pub(super) fn asn(self) -> Decoded<Asn<'a>> {
        match self.autonomous_system_number {
            Some(number) => Decoded::Found(Asn {
                number,
                organization: non_empty(self.autonomous_system_organization),
            }),
            None => Decoded::Empty,
        }
    }
}

/// IPinfo Lite schema: the AS number is text, `AS15169`.
#[derive(Deserialize)]
pub(super) struct IpinfoRecord<'a> {
    #[serde(borrow, default)]
    asn: Option<&'a str>,
    #[serde(borrow, default)]
    as_name: Option<&'a str>,
}

impl<'a> IpinfoRecord<'a> {
    pub(super) fn asn(self) -> Decoded<Asn<'a>> {
        let Some(text) = non_empty(self.asn) else {
            return Decoded::Empty;
        };
        // `str::parse` allocates nothing; anything but `AS<digits>` is corrupt data.
        match text.strip_prefix("AS").map(str::parse::<u32>) {
            Some(Ok(number)) => Decoded::Found(Asn {
                number,
                organization: non_empty(self.as_name),
            }),
            Some(Err(_)) | None => Decoded::Corrupt,
        }
    }
}
