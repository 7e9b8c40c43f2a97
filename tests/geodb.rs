//! `geodb` writer tests: build databases from the demo CSV and from small hand-made CSVs, read
//! them back with the `maxminddb` crate through the three standard GeoIP2 schemas (City, ASN,
//! Anonymous-IP), and pin exact values, prefix lengths, metadata and error messages.

use std::net::IpAddr;

use maxminddb::{Reader, geoip2};
use tessera::geodb::{self, BuildSummary, GeoDbError};

const EPOCH: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z

const HEADER: &str = "network,country,city,latitude,longitude,accuracy_radius_km,time_zone,asn,\
as_org,anonymous_vpn,hosting_provider,tor_exit_node,public_proxy,residential_proxy";

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

/// Builds `csv`, writes it to a temp file and opens that file, as `geodb build` + a server would.
fn build_and_open(csv: &str) -> (Reader<Vec<u8>>, BuildSummary) {
    let (bytes, summary) = geodb::build_from_csv_at(csv, EPOCH).expect("valid CSV");
    assert_eq!(bytes.len(), summary.bytes);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("test.mmdb");
    std::fs::write(&path, &bytes).expect("write mmdb");
    let reader = Reader::open_readfile(&path).expect("maxminddb opens our file");
    reader
        .verify()
        .expect("maxminddb verifier accepts our file");
    (reader, summary)
}

fn city<'a>(r: &'a Reader<Vec<u8>>, addr: &str) -> geoip2::City<'a> {
    let found = r.lookup(ip(addr)).expect("lookup");
    found
        .decode()
        .expect("decode City")
        .expect("address is in the DB")
}

fn prefix(r: &Reader<Vec<u8>>, addr: &str) -> (bool, String) {
    let found = r.lookup(ip(addr)).expect("lookup");
    (
        found.has_data(),
        found.network().expect("network").to_string(),
    )
}

fn build_err(csv: &str) -> String {
    match geodb::build_from_csv_at(csv, EPOCH) {
        Ok(_) => panic!("expected an error for:\n{csv}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn demo_db_serves_city_asn_and_anonymous_ip_schemas() {
    let (r, summary) = build_and_open(geodb::DEMO_CSV);
    assert_eq!((summary.networks, summary.ipv4_networks), (95, 70));
    assert_eq!(summary.record_size, 28);

    // Paris residential broadband, 31.0.0.0/16.
    let paris = city(&r, "31.0.200.7");
    assert_eq!(paris.country.iso_code, Some("FR"));
    assert_eq!(paris.city.names.english, Some("Paris"));
    assert_eq!(paris.location.latitude, Some(48.8566));
    assert_eq!(paris.location.longitude, Some(2.3522));
    assert_eq!(paris.location.accuracy_radius, Some(10));
    assert_eq!(paris.location.time_zone, Some("Europe/Paris"));
    assert_eq!(prefix(&r, "31.0.200.7"), (true, "31.0.0.0/16".to_owned()));
    let asn: geoip2::Asn = r
        .lookup(ip("31.0.200.7"))
        .unwrap()
        .decode()
        .unwrap()
        .unwrap();
    assert_eq!(asn.autonomous_system_number, Some(64600));
    assert_eq!(
        asn.autonomous_system_organization,
        Some("Demo Broadband FR")
    );
    let anon: geoip2::AnonymousIp = r
        .lookup(ip("31.0.200.7"))
        .unwrap()
        .decode()
        .unwrap()
        .unwrap();
    assert_eq!(anon.is_anonymous, None, "flags are written only when true");
    assert_eq!(anon.is_tor_exit_node, None);

    // Tor relay host 47.2.0.0/24: tor + hosting, so is_anonymous.
    let tor: geoip2::AnonymousIp = r.lookup(ip("47.2.0.9")).unwrap().decode().unwrap().unwrap();
    assert_eq!(tor.is_tor_exit_node, Some(true));
    assert_eq!(tor.is_hosting_provider, Some(true));
    assert_eq!(tor.is_anonymous, Some(true));
    assert_eq!(tor.is_anonymous_vpn, None);
    assert_eq!(prefix(&r, "47.2.0.9"), (true, "47.2.0.0/24".to_owned()));
    assert!(!prefix(&r, "47.2.1.9").0, "47.2.1.x is outside the /24");

    // IPv6: London broadband 2a0d:6::/32.
    let london = city(&r, "2a0d:6::1");
    assert_eq!(london.city.names.english, Some("London"));
    assert_eq!(london.location.accuracy_radius, Some(20));
    assert_eq!(
        prefix(&r, "2a0d:6:ffff::1"),
        (true, "2a0d:6::/32".to_owned())
    );

    // IPv4-mapped and 6to4 spellings reach the IPv4 data through the aliases.
    assert_eq!(
        city(&r, "::ffff:31.0.200.7").city.names.english,
        Some("Paris")
    );
    assert_eq!(
        city(&r, "2002:1f00:c807::1").city.names.english,
        Some("Paris")
    );

    // Outside every network.
    for outside in ["8.8.8.8", "31.255.0.1", "2001:db8::1", "::1"] {
        assert!(
            !r.lookup(ip(outside)).unwrap().has_data(),
            "{outside} must not be found"
        );
    }
    // Iterating skips the aliases: every CSV row appears exactly once.
    assert_eq!(r.networks(Default::default()).unwrap().count(), 95);
}

#[test]
fn metadata_is_complete() {
    let (r, summary) = build_and_open(geodb::DEMO_CSV);
    let m = r.metadata();
    assert_eq!(m.database_type, "Tessera-Demo-Geo");
    assert_eq!(m.ip_version, 6);
    assert_eq!(m.record_size, 28);
    assert_eq!(m.node_count, summary.node_count);
    assert_eq!(m.binary_format_major_version, 2);
    assert_eq!(m.binary_format_minor_version, 0);
    assert_eq!(m.build_epoch, EPOCH);
    assert_eq!(m.languages, vec!["en".to_owned()]);
    assert_eq!(
        m.description.get("en").map(String::as_str),
        Some(geodb::DESCRIPTION)
    );
}

#[test]
fn hand_made_csv_gives_exact_values_and_prefixes() {
    let csv = format!(
        "# comment\n\n{HEADER}\n\
         10.1.0.0/16,SE,,58.4167,15.6167,76,,,,0,0,0,0,0\n\
         # another comment\n\
         10.2.3.4,US,\"Milton, WA\",47.2513,-122.3149,22,America/Los_Angeles,209,\"Acme, \"\"Inc\"\"\",1,0,0,1,1\n\
         2001:db8:8000::/33,JP,Tokyo,35.68536,139.75309,100,Asia/Tokyo,4294967295,Big AS,0,0,0,0,0\n"
    );
    let (r, summary) = build_and_open(&csv);
    assert_eq!(
        (
            summary.networks,
            summary.ipv4_networks,
            summary.distinct_records
        ),
        (3, 2, 3)
    );

    let se = city(&r, "10.1.255.255");
    assert_eq!(se.country.iso_code, Some("SE"));
    assert_eq!(se.city.names.english, None, "empty city is omitted");
    assert_eq!(se.location.time_zone, None, "empty time zone is omitted");
    let se_asn: geoip2::Asn = r.lookup(ip("10.1.0.0")).unwrap().decode().unwrap().unwrap();
    assert_eq!(se_asn.autonomous_system_number, None);

    let host = city(&r, "10.2.3.4");
    assert_eq!(host.city.names.english, Some("Milton, WA"));
    assert_eq!(host.location.longitude, Some(-122.3149));
    assert_eq!(prefix(&r, "10.2.3.4"), (true, "10.2.3.4/32".to_owned()));
    assert!(!prefix(&r, "10.2.3.5").0);
    let flags: geoip2::AnonymousIp = r.lookup(ip("10.2.3.4")).unwrap().decode().unwrap().unwrap();
    assert_eq!(
        (
            flags.is_anonymous,
            flags.is_anonymous_vpn,
            flags.is_public_proxy
        ),
        (Some(true), Some(true), Some(true))
    );
    assert_eq!(flags.is_residential_proxy, Some(true));
    assert_eq!(
        (flags.is_hosting_provider, flags.is_tor_exit_node),
        (None, None)
    );
    let asn: geoip2::Asn = r.lookup(ip("10.2.3.4")).unwrap().decode().unwrap().unwrap();
    assert_eq!(asn.autonomous_system_organization, Some("Acme, \"Inc\""));

    let jp = city(&r, "2001:db8:ffff::1");
    assert_eq!(jp.location.latitude, Some(35.68536));
    let jp_asn: geoip2::Asn = r
        .lookup(ip("2001:db8:8000::"))
        .unwrap()
        .decode()
        .unwrap()
        .unwrap();
    assert_eq!(jp_asn.autonomous_system_number, Some(u32::MAX));
    assert_eq!(prefix(&r, "2001:db8:8000::").1, "2001:db8:8000::/33");
    assert!(
        !prefix(&r, "2001:db8:7fff::1").0,
        "lower half of the /32 is absent"
    );
    assert!(!prefix(&r, "10.0.0.1").0);
}

#[test]
fn identical_records_are_stored_once() {
    let row = "US,Chicago,41.8781,-87.6298,10,America/Chicago,64606,Demo,0,0,0,0,0";
    let csv = format!("{HEADER}\n1.0.0.0/8,{row}\n3.0.0.0/8,{row}\n2600::/16,{row}\n");
    let (r, summary) = build_and_open(&csv);
    assert_eq!(summary.distinct_records, 1);
    let offsets: Vec<Option<usize>> = ["1.2.3.4", "3.4.5.6", "2600::1"]
        .iter()
        .map(|a| r.lookup(ip(a)).unwrap().offset())
        .collect();
    assert_eq!(offsets, vec![Some(0), Some(0), Some(0)]);
}

#[test]
fn ipv6_only_csv_has_no_ipv4_data() {
    let csv = format!("{HEADER}\n2a0d:6::/32,GB,London,51.5074,-0.1278,20,,,,0,0,0,0,0\n");
    let (r, summary) = build_and_open(&csv);
    assert_eq!((summary.networks, summary.ipv4_networks), (1, 0));
    // Root + one node per depth 1..=31; no IPv4 subtree, so no aliases either.
    assert_eq!(summary.node_count, 32);
    assert_eq!(city(&r, "2a0d:6::9").city.names.english, Some("London"));
    for outside in ["31.0.0.1", "::ffff:31.0.0.1", "2002:1f00:1::"] {
        assert!(!r.lookup(ip(outside)).unwrap().has_data(), "{outside}");
    }
}

#[test]
fn whole_ipv4_space_is_allowed() {
    let csv = format!("{HEADER}\n0.0.0.0/0,ZZ,,0,0,1000,,,,0,0,0,0,0\n");
    let (r, _) = build_and_open(&csv);
    assert_eq!(city(&r, "203.0.113.9").country.iso_code, Some("ZZ"));
    assert_eq!(city(&r, "::ffff:203.0.113.9").country.iso_code, Some("ZZ"));
    assert!(!r.lookup(ip("2001:db8::1")).unwrap().has_data());
}

#[test]
fn bad_csv_names_line_and_column() {
    let row = |fields: &str| format!("# c1\n# c2\n{HEADER}\n1.0.0.0/8,{fields}\n");
    let good = "FR,Paris,48.8566,2.3522,10,Europe/Paris,64600,Org,0,0,0,0,0";
    assert_eq!(
        build_err(&row(
            "FR,Paris,abc,2.3522,10,Europe/Paris,64600,Org,0,0,0,0,0"
        )),
        "line 4: latitude: not a number"
    );
    assert_eq!(
        build_err(&row(
            "FR,Paris,48.8,200,10,Europe/Paris,64600,Org,0,0,0,0,0"
        )),
        "line 4: longitude: out of range -180 to 180"
    );
    assert_eq!(
        build_err(&row(
            "France,Paris,48.8,2.3,10,Europe/Paris,64600,Org,0,0,0,0,0"
        )),
        "line 4: country: expected a two-letter ISO 3166-1 code such as FR"
    );
    assert_eq!(
        build_err(&row(
            "FR,Paris,48.8,2.3,-1,Europe/Paris,64600,Org,0,0,0,0,0"
        )),
        "line 4: accuracy_radius_km: not a whole number of km from 0 to 65535"
    );
    assert_eq!(
        build_err(&row(
            "FR,Paris,48.8,2.3,10,Europe/Paris,AS64600,Org,0,0,0,0,0"
        )),
        "line 4: asn: not an AS number (0 to 4294967295)"
    );
    assert_eq!(
        build_err(&row(
            "FR,Paris,48.8,2.3,10,Europe/Paris,64600,Org,0,0,yes,0,0"
        )),
        "line 4: tor_exit_node: expected 0 or 1"
    );
    assert_eq!(
        build_err(&row("FR,Paris,48.8,2.3,10,Europe/Paris,64600,Org,0,0,0,0")),
        "line 4: expected 14 fields, found 13"
    );
    assert_eq!(
        build_err(&format!("{HEADER}\n1.0.0.0/33,{good}\n")),
        "line 2: network: prefix length must be 0 to 32"
    );
    assert_eq!(
        build_err(&format!("{HEADER}\n1.0.0.1/8,{good}\n")),
        "line 2: network: host bits set after /8"
    );
    assert_eq!(
        build_err(&format!("{HEADER}\nparis,{good}\n")),
        "line 2: network: not an IPv4 or IPv6 network (e.g. 31.0.0.0/16)"
    );
    assert_eq!(
        build_err(&format!("{HEADER}\n::ffff:1.0.0.0/104,{good}\n")),
        "line 2: network: overlaps ::ffff:0.0.0.0/96, which this writer reserves for IPv4 data \
         (write the row as IPv4)"
    );
    assert_eq!(
        build_err(&format!("{HEADER}\n1.0.0.0/8,\"FR,Paris,{good}\n")),
        "line 2: country: unterminated quote"
    );
}

#[test]
fn bad_structure_is_an_error() {
    let good = "FR,Paris,48.8566,2.3522,10,Europe/Paris,64600,Org,0,0,0,0,0";
    assert_eq!(
        build_err(&format!("# x\nnetwork,country\n1.0.0.0/8,{good}\n")),
        format!("line 2: header: expected `{HEADER}`")
    );
    assert_eq!(
        build_err("# only comments\n\n"),
        format!("no header row: expected `{HEADER}`")
    );
    assert_eq!(
        build_err(&format!("{HEADER}\n")),
        "no data rows after the header"
    );
}

#[test]
fn overlapping_networks_are_rejected_naming_both_lines() {
    let good = "FR,Paris,48.8566,2.3522,10,Europe/Paris,64600,Org,0,0,0,0,0";
    let csv = format!("{HEADER}\n10.0.0.0/16,{good}\n10.1.0.0/16,{good}\n10.0.1.0/24,{good}\n");
    assert_eq!(
        build_err(&csv),
        "line 4: network: 10.0.1.0/24 overlaps 10.0.0.0/16 (line 2)"
    );
    let wider = format!("{HEADER}\n10.0.1.0/24,{good}\n10.0.0.0/8,{good}\n");
    assert_eq!(
        build_err(&wider),
        "line 3: network: 10.0.0.0/8 overlaps 10.0.1.0/24 (line 2)"
    );
    let v6 = format!("{HEADER}\n2a0d::/16,{good}\n2a0d:1::/32,{good}\n");
    assert_eq!(
        build_err(&v6),
        "line 3: network: 2a0d:1::/32 overlaps 2a0d::/16 (line 2)"
    );
}

#[test]
fn write_file_writes_a_readable_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv_path = dir.path().join("geo.csv");
    let out = dir.path().join("geo.mmdb");
    std::fs::write(&csv_path, geodb::DEMO_CSV).expect("write csv");
    let summary = geodb::write_file(&csv_path, &out).expect("build");
    assert_eq!(summary.networks, 95);
    let bytes = std::fs::read(&out).expect("read mmdb");
    assert_eq!(bytes.len(), summary.bytes);
    assert!(
        !dir.path().join("geo.mmdb.tmp").exists(),
        "temp file renamed away"
    );
    let r = Reader::from_source(bytes).expect("open");
    let hosting: geoip2::AnonymousIp = r.lookup(ip("45.3.9.9")).unwrap().decode().unwrap().unwrap();
    assert_eq!(hosting.is_hosting_provider, Some(true));

    let missing = dir.path().join("nope.csv");
    let err = geodb::write_file(&missing, &out).expect_err("missing CSV");
    assert!(matches!(err, GeoDbError::Read { .. }));
    assert!(
        err.to_string()
            .starts_with(&format!("reading {}: ", missing.display())),
        "{err}"
    );
}

#[test]
fn demo_database_builds_in_memory() {
    let bytes = geodb::demo_database().expect("demo CSV is valid");
    let r = Reader::from_source(bytes).expect("open");
    let c: geoip2::City = r
        .lookup(ip("37.11.0.1"))
        .unwrap()
        .decode()
        .unwrap()
        .unwrap();
    assert_eq!(c.city.names.english, Some("New York"));
    assert_eq!(c.location.accuracy_radius, Some(50));
}
