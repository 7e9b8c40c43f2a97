//! Every geo database layout `enrich` reads, round-tripped without third-party data: the real
//! binary's `tessera geodb build --layout … [--ip-version …]` writes small files from the demo
//! CSV (`data/geo/demo-geo.csv`), and the tests assert the metadata the real files carry and
//! the known answers for the demo rows (Paris `31.0.0.0/16`, New York `2a0d:b::/32`).
//! `tests/geo_real.rs` checks one real free database.

use std::net::IpAddr;
use std::path::Path;
use std::process::Command;

use tessera::enrich::{
    Asn, EnrichError, Enricher, GeoDb, GeoSources, Layout, Location, Lookup, SourceState,
};

const DEMO_CSV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/geo/demo-geo.csv");

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

/// Runs `tessera geodb build` on `csv` with `args`, writing `dir/name`; returns the path.
fn build(dir: &Path, csv: &str, name: &str, args: &[&str]) -> String {
    let out = dir.join(name);
    let result = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["geodb", "build", "--csv", csv, "--out"])
        .arg(&out)
        .args(args)
        .output()
        .expect("run tessera");
    assert!(
        result.status.success(),
        "geodb build {args:?} failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    out.to_string_lossy().into_owned()
}

/// (database_type, ip_version) of a file, as any MaxMind reader sees them.
fn metadata(path: &str) -> (String, u16) {
    let r = maxminddb::Reader::open_readfile(path).expect("valid mmdb");
    r.verify().expect("maxminddb verifier accepts the file");
    (r.metadata().database_type.clone(), r.metadata().ip_version)
}

fn city_only(paths: Vec<String>) -> GeoSources {
    GeoSources {
        city: paths,
        ..GeoSources::default()
    }
}

fn open(sources: &GeoSources) -> (Enricher, Vec<String>) {
    Enricher::open(sources, &[], &[]).expect("layouts fit their roles")
}

const PARIS_LAT: f64 = 48.8566;
const PARIS_LON: f64 = 2.3522;

#[test]
fn maxmind_layout_serves_city_asn_and_anonymous_ip_with_radius() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = build(dir.path(), DEMO_CSV, "demo.mmdb", &["--layout", "maxmind"]);
    assert_eq!(metadata(&path), ("Tessera-Demo-Geo".to_owned(), 6));
    let all = vec![path];
    let (e, warnings) = open(&GeoSources {
        city: all.clone(),
        asn: all.clone(),
        anonymous_ip: all,
        carrier_asns: Vec::new(),
    });
    assert_eq!(warnings, Vec::<String>::new());
    let paris = e.lookup(ip("31.0.77.1"));
    assert_eq!(
        paris.location,
        Lookup::Found(Location {
            country: Some("FR"),
            city: Some("Paris"),
            latitude: PARIS_LAT,
            longitude: PARIS_LON,
            radius_km: Some(10.0),
            time_zone: Some("Europe/Paris"),
        })
    );
    assert_eq!(
        paris.asn,
        Lookup::Found(Asn {
            number: 64600,
            organization: Some("Demo Broadband FR")
        })
    );
    assert!(
        e.lookup(ip("47.3.0.200"))
            .reputation
            .found()
            .is_some_and(|r| r.tor_exit)
    );
}

#[test]
fn dbip_layout_is_a_city_source_without_radius_or_time_zone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = build(dir.path(), DEMO_CSV, "dbip.mmdb", &["--layout", "dbip"]);
    assert_eq!(metadata(&path), ("DBIP-City-Lite".to_owned(), 6));
    assert_eq!(
        GeoDb::open(&path).map(|db| db.layout()),
        Ok(Layout::DbIpCity)
    );
    let (e, warnings) = open(&city_only(vec![path.clone()]));
    assert_eq!(warnings, Vec::<String>::new());
    let paris = Location {
        country: Some("FR"),
        city: Some("Paris"),
        latitude: PARIS_LAT,
        longitude: PARIS_LON,
        radius_km: None,
        time_zone: None,
    };
    assert_eq!(e.lookup(ip("31.0.77.1")).location, Lookup::Found(paris));
    assert_eq!(
        e.lookup(ip("::ffff:31.0.77.1")).location,
        Lookup::Found(paris)
    );
    assert_eq!(
        e.lookup(ip("2a0d:b::1"))
            .location
            .found()
            .map(|l| (l.city, l.radius_km)),
        Some((Some("New York"), None))
    );
    assert_eq!(e.lookup(ip("8.8.8.8")).location, Lookup::NotFound);
    // No AS numbers in a DB-IP City file.
    let err = Enricher::open(
        &GeoSources {
            asn: vec![path.clone()],
            ..GeoSources::default()
        },
        &[],
        &[],
    )
    .expect_err("not an ASN source");
    assert_eq!(
        err.to_string(),
        format!(
            "geo.asn: `{path}`: DB-IP City (MaxMind-compatible) database has no AS numbers, so \
             it cannot serve geo.asn; it can serve geo.city"
        )
    );
}

#[test]
fn ip_location_db_files_answer_their_own_family() {
    let dir = tempfile::tempdir().expect("temp dir");
    let args = |v: &'static str| ["--layout", "ip-location-db", "--ip-version", v];
    let v4 = build(dir.path(), DEMO_CSV, "city-ipv4.mmdb", &args("4"));
    let v6 = build(dir.path(), DEMO_CSV, "city-ipv6.mmdb", &args("6"));
    assert_eq!(metadata(&v4), ("city ipv4".to_owned(), 4));
    assert_eq!(metadata(&v6), ("city ipv6".to_owned(), 6));
    let db6 = GeoDb::open(&v6).expect("opens");
    assert_eq!(
        (db6.layout(), db6.covers_ipv4(), db6.covers_ipv6()),
        (Layout::IpLocationDbCity, false, true)
    );
    // Either order: each address goes to the file of its family.
    for paths in [vec![v4.clone(), v6.clone()], vec![v6.clone(), v4.clone()]] {
        let (e, warnings) = open(&city_only(paths));
        assert_eq!(warnings, Vec::<String>::new());
        assert_eq!(
            e.lookup(ip("31.0.77.1")).location,
            Lookup::Found(Location {
                country: Some("FR"),
                city: Some("Paris"),
                // Stored as 32-bit floats, as in the real files.
                latitude: f64::from(PARIS_LAT as f32),
                longitude: f64::from(PARIS_LON as f32),
                radius_km: None,
                time_zone: Some("Europe/Paris"),
            })
        );
        let ny = e.lookup(ip("2a0d:b::1")).location;
        assert_eq!(
            ny.found().map(|l| (l.country, l.city, l.radius_km)),
            Some((Some("US"), Some("New York"), None))
        );
        assert_eq!(
            e.lookup(ip("::ffff:31.0.77.1"))
                .location
                .found()
                .and_then(|l| l.city),
            Some("Paris")
        );
    }
    // The IPv4 file alone: IPv6 is never answered by it, and start-up says so.
    let (e, warnings) = open(&city_only(vec![v4.clone()]));
    assert_eq!(
        warnings,
        vec![
            "geo.city: no configured file has IPv6 data, so every IPv6 address is not found \
             (list the IPv6 file too)"
                .to_owned()
        ]
    );
    assert_eq!(e.lookup(ip("2a0d:b::1")).location, Lookup::NotFound);
    assert_eq!(e.status().city, SourceState::Loaded);
    // The same family twice: the second file would never be read.
    let err = Enricher::open(&city_only(vec![v4.clone(), v4.clone()]), &[], &[])
        .expect_err("redundant file");
    assert!(
        matches!(&err, EnrichError::GeoLayout { key, .. } if key == "geo.city[1]"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "geo.city[1]: `{v4}`: never consulted: it adds no address family (IPv4, IPv6) that \
             an earlier file of the list does not already answer"
        )
    );
}

#[test]
fn flat_layout_reads_empty_strings_as_unknown() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("blank.csv");
    std::fs::write(
        &csv,
        format!(
            "{}\n203.0.113.0/24,,,-33.8688,151.2093,5,,,,0,0,0,0,0\n",
            tessera::geodb::HEADER
        ),
    )
    .expect("write csv");
    let csv = csv.to_string_lossy().into_owned();
    let v4 = build(
        dir.path(),
        &csv,
        "v4.mmdb",
        &["--layout", "ip-location-db", "--ip-version", "4"],
    );
    let (e, _) = open(&city_only(vec![v4]));
    assert_eq!(
        e.lookup(ip("203.0.113.9")).location,
        Lookup::Found(Location {
            country: None,
            city: None,
            latitude: f64::from(-33.8688_f32),
            longitude: f64::from(151.2093_f32),
            radius_km: None,
            time_zone: None,
        })
    );
}

#[test]
fn ipinfo_lite_is_an_asn_source_and_not_a_city_source() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = build(
        dir.path(),
        DEMO_CSV,
        "lite.mmdb",
        &["--layout", "ipinfo-lite"],
    );
    assert_eq!(metadata(&path), ("ipinfo lite.mmdb".to_owned(), 6));
    let (e, warnings) = open(&GeoSources {
        asn: vec![path.clone()],
        ..GeoSources::default()
    });
    assert_eq!(warnings, Vec::<String>::new());
    assert_eq!(
        e.lookup(ip("31.0.77.1")).asn,
        Lookup::Found(Asn {
            number: 64600,
            organization: Some("Demo Broadband FR")
        })
    );
    assert_eq!(
        e.lookup(ip("2a0d:b::1")).asn.found().map(|a| a.number),
        Some(64606)
    );
    assert_eq!(e.lookup(ip("8.8.8.8")).asn, Lookup::NotFound);
    // No coordinates: as the City source it is refused at start-up, naming key and file.
    let err = Enricher::open(&city_only(vec![path.clone()]), &[], &[]).expect_err("not a city");
    assert_eq!(
        err.to_string(),
        format!(
            "geo.city: `{path}`: IPinfo Lite database has countries and AS numbers but no \
             coordinates, so it cannot serve geo.city; it can serve geo.asn"
        )
    );
}

#[test]
fn ipv4_rows_in_an_ipv6_tree_do_not_cover_ipv6() {
    // The 2002::/16 alias of the IPv4 subtree is not IPv6 data.
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("v4rows.csv");
    std::fs::write(
        &csv,
        format!(
            "{}\n31.0.0.0/16,FR,Paris,48.8566,2.3522,10,Europe/Paris,64600,x,0,0,0,0,0\n",
            tessera::geodb::HEADER
        ),
    )
    .expect("write csv");
    let path = build(dir.path(), &csv.to_string_lossy(), "mixed.mmdb", &[]);
    let db = GeoDb::open(&path).expect("opens");
    assert_eq!((db.covers_ipv4(), db.covers_ipv6()), (true, false));
}

#[test]
fn a_missing_file_in_a_list_fails_the_whole_source() {
    let dir = tempfile::tempdir().expect("temp dir");
    let v4 = build(
        dir.path(),
        DEMO_CSV,
        "v4.mmdb",
        &["--layout", "ip-location-db", "--ip-version", "4"],
    );
    let missing = dir.path().join("v6.mmdb").to_string_lossy().into_owned();
    let (e, warnings) = open(&city_only(vec![v4, missing.clone()]));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with(&format!(
            "city database `{missing}` unavailable: cannot read: "
        )),
        "{warnings:?}"
    );
    assert_eq!(e.status().city, SourceState::Failed);
    assert_eq!(e.lookup(ip("31.0.77.1")).location, Lookup::Unavailable);
}

#[test]
fn build_refuses_what_the_layout_cannot_hold() {
    let csv = std::fs::read_to_string(DEMO_CSV).expect("demo csv");
    let opts = |layout, ip_version| tessera::geodb::BuildOptions {
        layout,
        ip_version,
        build_epoch: 0,
    };
    let err = tessera::geodb::build(&csv, &opts(tessera::geodb::Layout::IpLocationDb, None))
        .expect_err("family required");
    assert_eq!(
        err.to_string(),
        "ip_version: the ip-location-db layout holds one address family per file: give 4 or 6"
    );
    let only_v4 = format!(
        "{}\n31.0.0.0/16,FR,Paris,48.8566,2.3522,10,Europe/Paris,,,0,0,0,0,0\n",
        tessera::geodb::HEADER
    );
    let err = tessera::geodb::build(
        &only_v4,
        &opts(
            tessera::geodb::Layout::DbIp,
            Some(tessera::geodb::IpVersion::V6),
        ),
    )
    .expect_err("no IPv6 rows");
    assert_eq!(err.to_string(), "ip_version: no IPv6 rows in the CSV");
    let (_, summary) = tessera::geodb::build(
        &csv,
        &opts(
            tessera::geodb::Layout::IpLocationDb,
            Some(tessera::geodb::IpVersion::V4),
        ),
    )
    .expect("valid");
    assert_eq!(
        (
            summary.networks,
            summary.ipv4_networks,
            summary.other_family_rows
        ),
        (70, 70, 25)
    );
}
