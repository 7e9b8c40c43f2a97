//! Geolocation features: distance and implied speed from the user's last verified location
//! (impossible travel, allowing for both accuracy radii), new country or city, and distance from
//! the user's usual area. An anonymiser's or hosting provider's location is not the user's place:
//! it is neither compared nor learned, so the same evidence does not count twice.

use super::{F, FeatureRow, Findings, Inputs, set};
use crate::domain::{Absence, Source};
use crate::enrich::{IpIntel, Location, Lookup};
use crate::store::GeoFix;

/// Mean Earth radius, km (IUGG).
pub const EARTH_RADIUS_KM: f64 = 6_371.008_8;

/// Great-circle distance between two points in degrees, km (haversine).
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

/// Travel from the last verified fix to the current location.
#[derive(Debug, Clone, PartialEq)]
pub struct Travel {
    /// Previous verified place: country, city.
    pub from_country: String,
    /// Previous verified city.
    pub from_city: String,
    /// When the user was verified there, ms since the epoch.
    pub from_ms: i64,
    /// Great-circle distance, km.
    pub distance_km: f64,
    /// Distance minus both accuracy radii (the least the user must have moved), km, ≥ 0.
    pub min_distance_km: f64,
    /// Elapsed time, hours.
    pub hours: f64,
    /// Implied speed over the minimum distance, km/h.
    pub speed_kmh: f64,
    /// Faster than any plausible travel.
    pub impossible: bool,
    /// Why the jump was or was not judged impossible (for the reason's detail):
    /// `faster_than_flight`, `within_accuracy_radii` (the two places' radii overlap),
    /// `nearby` (under the minimum distance), or `plausible_speed`.
    pub judged: &'static str,
    /// The two accuracy radii used, km: the previous fix's and this address's (a mobile
    /// carrier's address is widened to its gateway's reach).
    pub radii_km: (f64, f64),
    /// This address is a mobile carrier's (its radius was widened to [`CARRIER_RADIUS_KM`]).
    pub carrier: bool,
}

/// Computes travel between a previous fix and a current location at `now_ms`. Elapsed time is
/// floored at one minute so simultaneous events give a finite speed.
pub fn travel(
    prev: &GeoFix,
    lat: f64,
    lon: f64,
    radius_km: f64,
    now_ms: i64,
    max_speed_kmh: f64,
    min_km: f64,
) -> Travel {
    let distance_km = haversine_km(prev.lat, prev.lon, lat, lon);
    let min_distance_km = (distance_km - prev.radius_km.max(0.0) - radius_km.max(0.0)).max(0.0);
    let hours = ((now_ms - prev.at_ms) as f64 / 3_600_000.0).max(1.0 / 60.0);
    let speed_kmh = min_distance_km / hours;
    let impossible = speed_kmh > max_speed_kmh && min_distance_km >= min_km;
    let judged = if impossible {
        "faster_than_flight"
    } else if min_distance_km <= 0.0 {
        "within_accuracy_radii"
    } else if min_distance_km < min_km {
        "nearby"
    } else {
        "plausible_speed"
    };
    Travel {
        from_country: prev.country.clone(),
        from_city: prev.city.clone(),
        from_ms: prev.at_ms,
        distance_km,
        min_distance_km,
        hours,
        speed_kmh,
        impossible,
        judged,
        radii_km: (prev.radius_km.max(0.0), radius_km.max(0.0)),
        carrier: false,
    }
}

/// Accuracy radius assumed for a location whose database gives none (DB-IP Lite and the
/// ip-location-db files locate to a city's centre): about a metropolitan area's reach, the
/// typical radius MaxMind reports for a fixed-line city match. Without it, two addresses of one
/// region placed at two city centres could read as a jump.
pub const DEFAULT_RADIUS_KM: f64 = 50.0;

/// Accuracy radius of a mobile carrier's address, km: it locates to the carrier's gateway,
/// which serves a whole region and, with home-routed roaming, a traveller abroad (a French SIM
/// in Madrid surfaces in France). Wide enough for travel within a continent's roaming, narrow
/// enough that a jump across an ocean is still judged.
pub const CARRIER_RADIUS_KM: f64 = 1_500.0;

/// The accuracy radius of `loc`, km: the database's, or [`DEFAULT_RADIUS_KM`]; at least
/// [`CARRIER_RADIUS_KM`] for a mobile carrier's address.
fn radius_of(intel: &IpIntel<'_>, loc: &Location<'_>) -> f64 {
    let r = loc.radius_km.unwrap_or(DEFAULT_RADIUS_KM).max(0.0);
    if intel.carrier {
        r.max(CARRIER_RADIUS_KM)
    } else {
        r
    }
}

/// True when the IP belongs to an anonymiser or a host, whose location is not the user's.
fn anonymised(intel: &IpIntel<'_>) -> bool {
    match &intel.reputation {
        Lookup::Found(r) => {
            r.anonymous_vpn
                || r.tor_exit
                || r.hosting_provider
                || r.public_proxy
                || r.residential_proxy
        }
        _ => false,
    }
}

/// The request's location as evidence of the user's place: located, and not an anonymiser or
/// host (whose place is not the user's, so it is neither compared nor learned).
pub fn user_fix(intel: &IpIntel<'_>, at_ms: i64) -> Option<GeoFix> {
    match &intel.location {
        Lookup::Found(loc) if !anonymised(intel) => Some(GeoFix {
            lat: loc.latitude,
            lon: loc.longitude,
            radius_km: radius_of(intel, loc),
            at_ms,
            country: loc.country.unwrap_or("").to_string(),
            city: loc.city.unwrap_or("").to_string(),
        }),
        _ => None,
    }
}

pub(super) fn extract(inputs: &Inputs<'_>, row: &mut FeatureRow, findings: &mut Findings) {
    let Some(intel) = inputs.intel else {
        return; // no IP: network.ip_absent carries it
    };
    let loc: &Location<'_> = match &intel.location {
        Lookup::Found(l) => l,
        Lookup::NotFound => {
            findings.unavailable.set(Source::Geo, Absence::Failed);
            findings.geo_cause = Some("not_in_database");
            return;
        }
        Lookup::NotConfigured => {
            findings.unavailable.set(Source::Geo, Absence::ByDesign);
            findings.geo_cause = Some("not_configured");
            return;
        }
        Lookup::Unavailable => {
            findings.unavailable.set(Source::Geo, Absence::Failed);
            findings.geo_cause = Some("database_failed");
            return;
        }
    };
    let country = loc.country.unwrap_or("");
    let city = loc.city.unwrap_or("");
    findings.place = Some((country.to_string(), city.to_string()));
    if anonymised(intel) {
        // Not the user's place: neither compared nor learned. The true place is hidden, so the
        // geo features are unavailable (worst case), not zero: a VPN must not buy trust.
        findings
            .unavailable
            .set(Source::Geo, Absence::ClientOmitted);
        findings.geo_cause = Some("anonymised");
        return;
    }
    let at_ms = inputs.req.at_ms;
    let Some(profile) = inputs.snapshot.and_then(|s| s.profile.as_ref()) else {
        return;
    };
    if let Some(prev) = &profile.last_fix {
        let mut t = travel(
            prev,
            loc.latitude,
            loc.longitude,
            radius_of(intel, loc),
            at_ms,
            inputs.cfg.max_travel_speed_kmh,
            inputs.cfg.min_travel_distance_km,
        );
        t.carrier = intel.carrier;
        set(
            row,
            F::GeoImpossibleTravel,
            f32::from(u8::from(t.impossible)),
        );
        set(
            row,
            F::GeoSpeedLog,
            ((t.speed_kmh / 100.0) as f32).ln_1p().min(5.3),
        );
        set(
            row,
            F::GeoDistanceLog,
            (t.min_distance_km as f32).ln_1p().min(10.0),
        );
        findings.travel = Some(t);
    }
    if !profile.places.is_empty() && !country.is_empty() {
        let known_country = profile.places.iter().any(|p| p.country == country);
        set(row, F::GeoNewCountry, f32::from(u8::from(!known_country)));
        let known_city = city.is_empty()
            || profile
                .places
                .iter()
                .any(|p| p.country == country && p.city == city);
        set(
            row,
            F::GeoNewCity,
            f32::from(u8::from(known_country && !known_city)),
        );
    }
    if let Some((hlat, hlon)) = profile.home {
        let d = haversine_km(hlat, hlon, loc.latitude, loc.longitude);
        set(row, F::GeoHomeDistanceLog, (d as f32).ln_1p().min(10.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARIS: (f64, f64) = (48.8566, 2.3522);
    const NEW_YORK: (f64, f64) = (40.7128, -74.0060);
    const LYON: (f64, f64) = (45.7640, 4.8357);
    const H: i64 = 3_600_000;

    fn fix_at(p: (f64, f64), radius_km: f64) -> GeoFix {
        GeoFix {
            lat: p.0,
            lon: p.1,
            radius_km,
            at_ms: 0,
            country: "FR".into(),
            city: "Paris".into(),
        }
    }

    #[test]
    fn known_great_circle_distances() {
        // Paris–New York ≈ 5,837 km; Paris–Lyon ≈ 392 km.
        let d = haversine_km(PARIS.0, PARIS.1, NEW_YORK.0, NEW_YORK.1);
        assert!((d - 5_837.0).abs() < 5.0, "{d}");
        let d = haversine_km(PARIS.0, PARIS.1, LYON.0, LYON.1);
        assert!((d - 392.0).abs() < 3.0, "{d}");
        // MaxMind test DB: London (81.2.69.142) to Milton WA (216.160.83.56) ≈ 7,732 km.
        let d = haversine_km(51.5142, -0.0931, 47.2513, -122.3149);
        assert!((d - 7_732.0).abs() < 5.0, "{d}");
        assert_eq!(haversine_km(10.0, 20.0, 10.0, 20.0), 0.0);
    }

    #[test]
    fn paris_to_new_york_in_an_hour_is_impossible() {
        let t = travel(
            &fix_at(PARIS, 10.0),
            NEW_YORK.0,
            NEW_YORK.1,
            10.0,
            H,
            1_000.0,
            100.0,
        );
        assert!(t.impossible);
        assert_eq!(t.judged, "faster_than_flight");
        assert!((t.min_distance_km - (t.distance_km - 20.0)).abs() < 1e-9);
        assert!(
            (t.speed_kmh - t.min_distance_km).abs() < 1e-6,
            "one hour: speed equals distance"
        );
    }

    #[test]
    fn paris_to_lyon_in_three_hours_is_not() {
        let t = travel(
            &fix_at(PARIS, 10.0),
            LYON.0,
            LYON.1,
            10.0,
            3 * H,
            1_000.0,
            100.0,
        );
        assert!(!t.impossible);
        assert_eq!(t.judged, "plausible_speed");
        assert!((t.speed_kmh - (t.distance_km - 20.0) / 3.0).abs() < 1e-6);
        assert!(t.speed_kmh < 150.0);
    }

    #[test]
    fn wide_accuracy_radii_absorb_the_distance() {
        // Two coarse fixes 1,000 km radius each: Paris → Lyon in a minute is not provably travel.
        let t = travel(
            &fix_at(PARIS, 1_000.0),
            LYON.0,
            LYON.1,
            1_000.0,
            60_000,
            1_000.0,
            100.0,
        );
        assert_eq!(t.min_distance_km, 0.0);
        assert!(!t.impossible);
        assert_eq!(t.judged, "within_accuracy_radii");
        assert_eq!(t.radii_km, (1_000.0, 1_000.0));
    }

    #[test]
    fn a_location_without_a_radius_gets_the_default_one() {
        use crate::enrich::{ListMatch, Location};
        let loc = |radius_km| Location {
            country: Some("FR"),
            city: Some("Paris"),
            latitude: PARIS.0,
            longitude: PARIS.1,
            radius_km,
            time_zone: None,
        };
        let intel = |radius_km| IpIntel {
            location: Lookup::Found(loc(radius_km)),
            reputation: Lookup::NotConfigured,
            asn: Lookup::NotConfigured,
            lists: ListMatch::default(),
            reputation_sources: Default::default(),
            carrier: false,
        };
        let fix = user_fix(&intel(None), 0).expect("fix");
        assert_eq!(fix.radius_km, DEFAULT_RADIUS_KM);
        let fix = user_fix(&intel(Some(200.0)), 0).expect("fix");
        assert_eq!(fix.radius_km, 200.0);
    }
}
