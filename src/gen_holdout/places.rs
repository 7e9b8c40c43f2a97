//! Where the holdout world happens: the cities of the demo geo table (`data/geo/demo-geo.csv`,
//! whose row order gives each city its index) and the addresses each kind of network hands out
//! there. Builds address strings only; never reads the geo database.
//!
//! Address plan of the demo table: city `i` has residential broadband `31.i.0.0/16` and mobile
//! `37.i.0.0/16`; hosting `45.k.0.0/16` (k < 6), commercial VPN `46.k.0.0/16` (k < 5), Tor exits
//! `47.k.0.0/24` (k < 4), public proxies `48.k.0.0/24` (k < 4), one residential proxy network
//! `49.0.0.0/16`.

use rand::Rng;

/// Continent-sized region, for choosing nearby trip destinations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// Europe.
    Europe,
    /// North and South America.
    Americas,
    /// Asia and Oceania.
    AsiaPacific,
    /// Africa.
    Africa,
}

/// One city of the demo geo table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct City {
    /// Row index in the demo table (the `i` of `31.i.x.x`).
    pub index: usize,
    /// ISO 3166 country code.
    pub country: &'static str,
    /// IANA time zone.
    pub time_zone: &'static str,
    /// Hours to add to UTC for local standard time (daylight saving is ignored when
    /// placing habits; the engine computes real offsets itself).
    pub utc_offset_h: f64,
    /// Region.
    pub region: Region,
    /// Device languages of a local, most preferred first (BCP 47).
    pub languages: &'static [&'static str],
}

const fn city(
    index: usize,
    country: &'static str,
    time_zone: &'static str,
    utc_offset_h: f64,
    region: Region,
    languages: &'static [&'static str],
) -> City {
    City {
        index,
        country,
        time_zone,
        utc_offset_h,
        region,
        languages,
    }
}

use Region::{Africa, Americas, AsiaPacific, Europe};

/// The 25 cities of the demo table, in row order (`CITIES[i].index == i`).
pub const CITIES: [City; 25] = [
    city(0, "FR", "Europe/Paris", 1.0, Europe, &["fr-FR"]),
    city(1, "FR", "Europe/Paris", 1.0, Europe, &["fr-FR"]),
    city(2, "FR", "Europe/Paris", 1.0, Europe, &["fr-FR"]),
    city(3, "DE", "Europe/Berlin", 1.0, Europe, &["de-DE"]),
    city(4, "DE", "Europe/Berlin", 1.0, Europe, &["de-DE"]),
    city(5, "DE", "Europe/Berlin", 1.0, Europe, &["de-DE"]),
    city(6, "GB", "Europe/London", 0.0, Europe, &["en-GB"]),
    city(7, "GB", "Europe/London", 0.0, Europe, &["en-GB"]),
    city(8, "ES", "Europe/Madrid", 1.0, Europe, &["es-ES"]),
    city(9, "IT", "Europe/Rome", 1.0, Europe, &["it-IT"]),
    city(
        10,
        "NL",
        "Europe/Amsterdam",
        1.0,
        Europe,
        &["nl-NL", "en-GB"],
    ),
    city(11, "US", "America/New_York", -5.0, Americas, &["en-US"]),
    city(12, "US", "America/Chicago", -6.0, Americas, &["en-US"]),
    city(
        13,
        "US",
        "America/Los_Angeles",
        -8.0,
        Americas,
        &["en-US", "es-US"],
    ),
    city(14, "US", "America/New_York", -5.0, Americas, &["en-US"]),
    city(15, "CA", "America/Toronto", -5.0, Americas, &["en-CA"]),
    city(16, "BR", "America/Sao_Paulo", -3.0, Americas, &["pt-BR"]),
    city(
        17,
        "IN",
        "Asia/Kolkata",
        5.5,
        AsiaPacific,
        &["en-IN", "hi-IN"],
    ),
    city(
        18,
        "SG",
        "Asia/Singapore",
        8.0,
        AsiaPacific,
        &["en-SG", "zh-SG"],
    ),
    city(19, "JP", "Asia/Tokyo", 9.0, AsiaPacific, &["ja-JP"]),
    city(20, "AU", "Australia/Sydney", 10.0, AsiaPacific, &["en-AU"]),
    city(21, "NG", "Africa/Lagos", 1.0, Africa, &["en-NG"]),
    city(22, "RU", "Europe/Moscow", 3.0, Europe, &["ru-RU"]),
    city(23, "RO", "Europe/Bucharest", 2.0, Europe, &["ro-RO"]),
    city(24, "VN", "Asia/Bangkok", 7.0, AsiaPacific, &["vi-VN"]),
];

/// Languages an expat's devices report: none fits any home city's country.
pub const EXPAT_LANGUAGES: [&[&str]; 4] = [&["de-DE"], &["fr-FR"], &["pl-PL"], &["tr-TR"]];

/// The city at `index` (indices come from this module's tables; out of range falls back to the
/// first row rather than panicking).
pub fn city_at(index: usize) -> &'static City {
    CITIES.get(index).unwrap_or(&CITIES[0])
}

/// Residential broadband address in city `i`, fixed by `line` (a household's line keeps its
/// address).
pub fn broadband(i: usize, line: u32) -> String {
    format!("31.{i}.{}.{}", (line >> 8) & 0xFF, 1 + (line & 0xFF) % 254)
}

/// A mobile carrier address in city `i`: carrier NAT hands out a new one per session.
pub fn mobile(i: usize, rng: &mut impl Rng) -> String {
    format!("37.{i}.{}.{}", rng.gen_range(0..256), rng.gen_range(1..255))
}

/// A hosting-provider address (`45.k`).
pub fn hosting(rng: &mut impl Rng) -> String {
    let k: u8 = rng.gen_range(0..6);
    format!("45.{k}.{}.{}", rng.gen_range(0..256), rng.gen_range(1..255))
}

/// A commercial VPN exit (`46.k`); `exit` picks the provider's exit network.
pub fn vpn(exit: u8, rng: &mut impl Rng) -> String {
    format!(
        "46.{}.{}.{}",
        exit % 5,
        rng.gen_range(0..256),
        rng.gen_range(1..255)
    )
}

/// An address of the residential proxy network (`49.0`).
pub fn residential_proxy(rng: &mut impl Rng) -> String {
    format!("49.0.{}.{}", rng.gen_range(0..256), rng.gen_range(1..255))
}

/// Picks an index by weights (need not sum to 1); the last index when rounding runs past the end.
pub fn pick(weights: &[f64], rng: &mut impl Rng) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.r#gen::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len().saturating_sub(1)
}

/// A trip destination from `home`: a nearby city of the same region or, with
/// `long_haul_share`, any other city.
pub fn trip_destination(home: usize, long_haul_share: f64, rng: &mut impl Rng) -> usize {
    let region = city_at(home).region;
    let long_haul = rng.r#gen::<f64>() < long_haul_share;
    let choices: Vec<usize> = CITIES
        .iter()
        .filter(|c| c.index != home && (long_haul || c.region == region))
        .map(|c| c.index)
        .collect();
    match choices.len() {
        0 => home,
        n => choices[rng.gen_range(0..n)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn rows_are_in_table_order() {
        for (i, c) in CITIES.iter().enumerate() {
            assert_eq!(c.index, i);
        }
        assert_eq!(city_at(16).time_zone, "America/Sao_Paulo");
        assert_eq!(city_at(99).index, 0);
    }

    #[test]
    fn addresses_follow_the_plan() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        assert_eq!(broadband(8, 0x0102), "31.8.1.3");
        assert!(mobile(20, &mut rng).starts_with("37.20."));
        assert!(residential_proxy(&mut rng).starts_with("49.0."));
        assert!(vpn(7, &mut rng).starts_with("46.2."));
    }

    #[test]
    fn pick_follows_weights() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let mut counts = [0usize; 3];
        for _ in 0..10_000 {
            counts[pick(&[0.2, 0.0, 0.8], &mut rng)] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!((1_800..2_200).contains(&counts[0]), "{counts:?}");
    }

    #[test]
    fn nearby_trips_stay_in_the_region() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..200 {
            let d = trip_destination(8, 0.0, &mut rng);
            assert_ne!(d, 8);
            assert_eq!(city_at(d).region, Region::Europe);
        }
    }
}
