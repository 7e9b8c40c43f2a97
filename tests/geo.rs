//! `enrich` tests against MaxMind's own test databases (`../shared/data/mmdb/test-data/`, beside
//! the repo; answers from `shared/data/mmdb/README.md`), the broken ones, the embedded demo DB
//! (`builtin:demo`) and Tor-exit / FireHOL-style lists. Missing shared data FAILS, never skips.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use tessera::enrich::{
    Asn, EnrichError, Enricher, GeoSources, IpList, ListMatch, Location, Lookup, Reputation,
    SourceState, SourceStatus,
};

/// Path of a MaxMind test DB; panics with instructions if the shared data is absent.
fn test_db(name: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mmdb/test-data");
    assert!(
        dir.is_dir(),
        "MaxMind test databases not found at {}: clone the repo beside `shared/` \
         (see shared/data/mmdb/README.md); these tests must not be skipped",
        dir.display()
    );
    let path = dir.join(name);
    assert!(path.is_file(), "missing MaxMind test DB {}", path.display());
    path.to_string_lossy().into_owned()
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn open(sources: GeoSources) -> (Enricher, Vec<String>) {
    Enricher::open(&sources, &[], &[]).expect("no lists, so no list errors")
}

fn only_city(path: String) -> GeoSources {
    GeoSources {
        city: vec![path],
        ..GeoSources::default()
    }
}

fn no_flags() -> Reputation {
    Reputation::default()
}

#[test]
fn city_test_db_known_answers() {
    let (e, warnings) = open(only_city(test_db("GeoIP2-City-Test.mmdb")));
    assert_eq!(warnings, Vec::<String>::new());
    let london = Location {
        country: Some("GB"),
        city: Some("London"),
        latitude: 51.5142,
        longitude: -0.0931,
        radius_km: Some(10.0),
        time_zone: Some("Europe/London"),
    };
    assert_eq!(e.lookup(ip("81.2.69.142")).location, Lookup::Found(london));
    assert_eq!(
        e.lookup(ip("::ffff:81.2.69.142")).location,
        Lookup::Found(london)
    );
    assert_eq!(
        e.lookup(ip("216.160.83.56")).location,
        Lookup::Found(Location {
            country: Some("US"),
            city: Some("Milton"),
            latitude: 47.2513,
            longitude: -122.3149,
            radius_km: Some(22.0),
            time_zone: Some("America/Los_Angeles"),
        })
    );
    assert_eq!(
        e.lookup(ip("2001:218::1")).location,
        Lookup::Found(Location {
            country: Some("JP"),
            city: None,
            latitude: 35.68536,
            longitude: 139.75309,
            radius_km: Some(100.0),
            time_zone: Some("Asia/Tokyo"),
        })
    );
    assert_eq!(e.lookup(ip("8.8.8.8")).location, Lookup::NotFound);
    // 214.1.1.1 has a record (traits.is_anycast) but no coordinates: no location.
    assert_eq!(e.lookup(ip("214.1.1.1")).location, Lookup::NotFound);
    // The other sources are not configured.
    let intel = e.lookup(ip("81.2.69.142"));
    assert_eq!(
        (intel.reputation, intel.asn),
        (Lookup::NotConfigured, Lookup::NotConfigured)
    );
}

#[test]
fn anonymous_ip_test_db_flags() {
    let sources = GeoSources {
        anonymous_ip: vec![test_db("GeoIP2-Anonymous-IP-Test.mmdb")],
        ..GeoSources::default()
    };
    let (e, warnings) = open(sources);
    assert!(warnings.is_empty(), "{warnings:?}");
    let rep = |a: &str| e.lookup(ip(a)).reputation;
    assert_eq!(
        rep("1.124.213.1"),
        Lookup::Found(Reputation {
            tor_exit: true,
            anonymous_vpn: true,
            ..no_flags()
        })
    );
    assert_eq!(
        rep("71.160.223.5"),
        Lookup::Found(Reputation {
            hosting_provider: true,
            ..no_flags()
        })
    );
    assert_eq!(
        rep("186.30.236.1"),
        Lookup::Found(Reputation {
            public_proxy: true,
            ..no_flags()
        })
    );
    assert_eq!(
        rep("6.1.0.4"),
        Lookup::Found(Reputation {
            residential_proxy: true,
            ..no_flags()
        })
    );
    assert_eq!(
        rep("81.2.69.142"),
        Lookup::Found(Reputation {
            anonymous_vpn: true,
            hosting_provider: true,
            tor_exit: true,
            public_proxy: true,
            residential_proxy: true,
        })
    );
    assert_eq!(
        rep("2001:480:3a::1"),
        Lookup::Found(Reputation {
            public_proxy: true,
            ..no_flags()
        })
    );
    // MaxMind fills gaps with `{}`: found, no flags.
    assert_eq!(rep("8.8.8.8"), Lookup::Found(no_flags()));
    assert!(!no_flags().any());
}

#[test]
fn asn_test_db_known_answers() {
    let sources = GeoSources {
        asn: vec![test_db("GeoLite2-ASN-Test.mmdb")],
        ..GeoSources::default()
    };
    let (e, _) = open(sources);
    let asn = |a: &str| e.lookup(ip(a)).asn;
    assert_eq!(
        asn("1.0.0.1"),
        Lookup::Found(Asn {
            number: 15169,
            organization: Some("Google Inc.")
        })
    );
    assert_eq!(
        asn("89.160.20.112"),
        Lookup::Found(Asn {
            number: 29518,
            organization: Some("Bredband2 AB")
        })
    );
    assert_eq!(
        asn("216.160.83.56"),
        Lookup::Found(Asn {
            number: 209,
            organization: None
        })
    );
    assert_eq!(asn("81.2.69.142"), Lookup::NotFound);
}

#[test]
fn three_databases_together_and_status() {
    let sources = GeoSources {
        city: vec![test_db("GeoIP2-City-Test.mmdb")],
        asn: vec![test_db("GeoLite2-ASN-Test.mmdb")],
        anonymous_ip: vec![test_db("GeoIP2-Anonymous-IP-Test.mmdb")],
        carrier_asns: Vec::new(),
    };
    let (e, warnings) = Enricher::open(&sources, &[], &["81.2.69.0/24".to_owned()]).expect("open");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        e.status(),
        SourceStatus {
            city: SourceState::Loaded,
            asn: SourceState::Loaded,
            anonymous_ip: SourceState::Loaded,
            block_entries: 0,
            allow_entries: 1,
        }
    );
    // 89.160.20.112: Linköping, AS29518, and a `{}` (no flags) in the Anonymous-IP DB.
    let intel = e.lookup(ip("89.160.20.112"));
    assert_eq!(
        intel.location.found().and_then(|l| l.city),
        Some("Linköping")
    );
    assert_eq!(intel.asn.found().map(|a| a.number), Some(29518));
    assert_eq!(
        intel.lists,
        ListMatch {
            blocked: false,
            allowed: false
        }
    );
    // London IP: every anonymity flag, and on the allow list.
    let london = e.lookup(ip("81.2.69.142"));
    assert!(
        london
            .reputation
            .found()
            .is_some_and(|r| r.tor_exit && r.residential_proxy)
    );
    assert_eq!(
        london.lists,
        ListMatch {
            blocked: false,
            allowed: true
        }
    );
}

#[test]
fn not_configured_sources_answer_not_configured_without_warnings() {
    let (e, warnings) = open(GeoSources::default());
    assert!(warnings.is_empty());
    let intel = e.lookup(ip("81.2.69.142"));
    assert_eq!(intel.location, Lookup::NotConfigured);
    assert_eq!(intel.reputation, Lookup::NotConfigured);
    assert_eq!(intel.asn, Lookup::NotConfigured);
    assert_eq!(e.status().city, SourceState::NotConfigured);
}

#[test]
fn missing_file_is_unavailable_with_a_warning() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir
        .path()
        .join("GeoIP2-City.mmdb")
        .to_string_lossy()
        .into_owned();
    let (e, warnings) = open(only_city(missing.clone()));
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].starts_with(&format!(
            "city database `{missing}` unavailable: cannot read: "
        )),
        "{warnings:?}"
    );
    assert_eq!(e.lookup(ip("81.2.69.142")).location, Lookup::Unavailable);
    assert_eq!(e.status().city, SourceState::Failed);
}

#[test]
fn invalid_node_count_db_is_unavailable_not_a_panic() {
    let path = test_db("GeoIP2-City-Test-Invalid-Node-Count.mmdb");
    let (e, warnings) = open(only_city(path.clone()));
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].starts_with(&format!(
            "city database `{path}` unavailable: not a valid MaxMind DB"
        )),
        "{warnings:?}"
    );
    assert_eq!(e.lookup(ip("81.2.69.142")).location, Lookup::Unavailable);
    assert_eq!(e.status().city, SourceState::Failed);
}

/// A copy of `src` in `dir` whose metadata `database_type` (`Test`) is rewritten as `new_type`,
/// so MaxMind's broken test DBs can be read in every role. The metadata map is the file's last
/// section and these files use no metadata pointers, so the map may change length.
fn retyped(dir: &Path, src: &str, new_type: &str) -> String {
    let bytes = std::fs::read(src).expect("read test DB");
    let old = b"database_type\x44Test";
    let at = bytes
        .windows(old.len())
        .rposition(|w| w == old)
        .expect("test DB's database_type is `Test`");
    assert!(new_type.len() < 29, "one-byte string header");
    let mut out = bytes[..at].to_vec();
    out.extend_from_slice(b"database_type");
    out.push(0x40 | new_type.len() as u8);
    out.extend_from_slice(new_type.as_bytes());
    out.extend_from_slice(&bytes[at + old.len()..]);
    let path = dir.join(format!("{new_type}.mmdb"));
    std::fs::write(&path, out).expect("write retyped DB");
    path.to_string_lossy().into_owned()
}

#[test]
fn broken_pointers_give_unavailable_not_a_panic() {
    // MaxMind's file says database_type `Test`: no layout Tessera knows, so a start-up error.
    let path = test_db("MaxMind-DB-test-broken-pointers-24.mmdb");
    let err = Enricher::open(&only_city(path.clone()), &[], &[]).expect_err("unknown layout");
    assert!(
        matches!(&err, EnrichError::GeoLayout { key, .. } if key == "geo.city"),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with(&format!(
            "geo.city: `{path}`: unknown database layout (database_type `Test`); Tessera reads"
        )),
        "{err}"
    );
    // Retyped for each role, it opens; the records for 1.1.1.16/28 and 1.1.1.32/32 point
    // outside the data section.
    let dir = tempfile::tempdir().expect("temp dir");
    let sources = GeoSources {
        city: vec![retyped(dir.path(), &path, "GeoIP2-City")],
        asn: vec![retyped(dir.path(), &path, "GeoLite2-ASN")],
        anonymous_ip: vec![retyped(dir.path(), &path, "GeoIP2-Anonymous-IP")],
        carrier_asns: Vec::new(),
    };
    let (e, warnings) = open(sources);
    assert_eq!(e.status().city, SourceState::Loaded);
    // An IPv4-only file: each role warns that IPv6 addresses are not found.
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert_eq!(
        warnings[0],
        "geo.city: no configured file has IPv6 data, so every IPv6 address is not found \
         (list the IPv6 file too)"
    );
    for broken in ["1.1.1.16", "1.1.1.31", "1.1.1.32"] {
        let intel = e.lookup(ip(broken));
        assert_eq!(intel.location, Lookup::Unavailable, "{broken}");
        assert_eq!(intel.reputation, Lookup::Unavailable, "{broken}");
        assert_eq!(intel.asn, Lookup::Unavailable, "{broken}");
    }
    // Outside the tree's data: NotFound. IPv6 in this IPv4-only DB: NotFound, not an error.
    assert_eq!(e.lookup(ip("8.8.8.8")).location, Lookup::NotFound);
    assert_eq!(e.lookup(ip("2001:db8::1")).location, Lookup::NotFound);
}

#[test]
fn broken_double_gives_unavailable_location() {
    let (e, _) = open(only_city(test_db(
        "GeoIP2-City-Test-Broken-Double-Format.mmdb",
    )));
    assert_eq!(e.lookup(ip("81.2.69.142")).location, Lookup::Unavailable);
    assert_eq!(e.lookup(ip("8.8.8.8")).location, Lookup::NotFound);
}

#[test]
fn wrong_kind_of_database_is_a_startup_error() {
    // A City DB read as Anonymous-IP would say "no flags" for everyone: fail-open, so refused.
    let path = test_db("GeoIP2-City-Test.mmdb");
    let sources = GeoSources {
        anonymous_ip: vec![path.clone()],
        ..GeoSources::default()
    };
    let err = Enricher::open(&sources, &[], &[]).expect_err("wrong role");
    assert_eq!(
        err.to_string(),
        format!(
            "geo.anonymous_ip: `{path}`: MaxMind GeoIP2/GeoLite2 City database has no \
             anonymiser flags, so it cannot serve geo.anonymous_ip; it can serve geo.city"
        )
    );
    // A country-only database has no coordinates: not a City source.
    let country = test_db("GeoLite2-Country-Test.mmdb");
    let err = Enricher::open(&only_city(country.clone()), &[], &[]).expect_err("country");
    assert_eq!(
        err.to_string(),
        format!(
            "geo.city: `{country}`: MaxMind (not City, ASN or Anonymous-IP) database has no \
             coordinates, so it cannot serve geo.city; Tessera reads it for no role"
        )
    );
}

fn demo() -> Enricher {
    let demo = vec!["builtin:demo".to_owned()];
    let sources = GeoSources {
        city: demo.clone(),
        asn: demo.clone(),
        anonymous_ip: demo,
        carrier_asns: Vec::new(),
    };
    let (e, warnings) = open(sources);
    assert!(warnings.is_empty(), "{warnings:?}");
    e
}

#[test]
fn builtin_demo_database() {
    let e = demo();
    let paris = e.lookup(ip("31.0.77.1"));
    assert_eq!(
        paris.location,
        Lookup::Found(Location {
            country: Some("FR"),
            city: Some("Paris"),
            latitude: 48.8566,
            longitude: 2.3522,
            radius_km: Some(10.0),
            time_zone: Some("Europe/Paris"),
        })
    );
    assert_eq!(paris.reputation, Lookup::Found(no_flags()));
    assert_eq!(
        paris.asn,
        Lookup::Found(Asn {
            number: 64600,
            organization: Some("Demo Broadband FR")
        })
    );
    let tor = e.lookup(ip("47.3.0.200")).reputation;
    assert_eq!(
        tor,
        Lookup::Found(Reputation {
            tor_exit: true,
            hosting_provider: true,
            ..no_flags()
        })
    );
    assert_eq!(
        e.lookup(ip("47.3.1.200")).reputation,
        Lookup::NotFound,
        "outside the /24"
    );
    let hosting = e.lookup(ip("45.1.2.3")).reputation;
    assert_eq!(
        hosting,
        Lookup::Found(Reputation {
            hosting_provider: true,
            ..no_flags()
        })
    );
    let v6 = e.lookup(ip("2a0d:b::1")).location;
    assert_eq!(
        v6.found().map(|l| (l.city, l.radius_km)),
        Some((Some("New York"), Some(20.0)))
    );
    let mapped = e.lookup(ip("::ffff:31.0.77.1")).location;
    assert_eq!(mapped.found().and_then(|l| l.city), Some("Paris"));
    let nowhere = e.lookup(ip("8.8.8.8"));
    assert_eq!(
        (nowhere.location, nowhere.asn),
        (Lookup::NotFound, Lookup::NotFound)
    );
}

#[test]
fn builtin_demo_is_built_once_and_shared() {
    let (a, b) = (demo(), demo());
    let city = |e: &Enricher| -> *const u8 {
        let intel = e.lookup(ip("31.0.77.1"));
        intel
            .location
            .found()
            .and_then(|l| l.city)
            .map(str::as_ptr)
            .expect("Paris")
    };
    assert_eq!(
        city(&a),
        city(&b),
        "both enrichers borrow from one in-memory demo DB"
    );
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write list");
    path
}

const TOR_EXITS: &str = "185.220.101.1\n185.220.101.2\n\n2a0b:f4c2::1\n";
const FIREHOL: &str = "#\n# firehol_level1 ipset\n#\n# Maintainer: example\n#\n0.0.0.0/8\n\
10.0.0.0/8\n192.168.0.0/16   # private\n2001:db8::/32\n";

#[test]
fn tor_and_firehol_lists_block_and_allow() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tor = write(dir.path(), "tor-exits.txt", TOR_EXITS);
    let netset = write(dir.path(), "firehol_level1.netset", FIREHOL);
    let block = [
        tor.display().to_string(),
        netset.display().to_string(),
        "203.0.113.7".to_owned(),
    ];
    let allow = ["10.1.0.0/16".to_owned()];
    let (e, _) = Enricher::open(&GeoSources::default(), &block, &allow).expect("valid lists");
    assert_eq!(
        (e.status().block_entries, e.status().allow_entries),
        (3 + 4 + 1, 1)
    );
    let lists = |a: &str| e.lookup(ip(a)).lists;
    let blocked = ListMatch {
        blocked: true,
        allowed: false,
    };
    let clean = ListMatch {
        blocked: false,
        allowed: false,
    };
    assert_eq!(lists("185.220.101.1"), blocked);
    assert_eq!(
        lists("::ffff:185.220.101.2"),
        blocked,
        "IPv4-mapped matches the IPv4 entry"
    );
    assert_eq!(lists("185.220.101.3"), clean);
    assert_eq!(lists("2a0b:f4c2::1"), blocked);
    assert_eq!(lists("2a0b:f4c2::2"), clean);
    assert_eq!(lists("2001:db8:ffff::9"), blocked);
    assert_eq!(
        lists("10.1.2.3"),
        ListMatch {
            blocked: true,
            allowed: true
        }
    );
    assert_eq!(lists("192.168.255.255"), blocked);
    assert_eq!(lists("203.0.113.7"), blocked);
    assert_eq!(lists("203.0.113.8"), clean);
    assert_eq!(lists("11.0.0.0"), clean);
}

#[test]
fn ip_list_parse_counts_and_matches() {
    let list = IpList::parse(FIREHOL, "firehol_level1.netset").expect("valid");
    assert_eq!((list.len(), list.range_count()), (4, 4));
    assert!(list.contains(ip("0.255.255.255")) && !list.contains(ip("1.0.0.0")));
    let tor = IpList::parse(TOR_EXITS, "tor").expect("valid");
    assert_eq!(
        (tor.len(), tor.range_count()),
        (3, 2),
        "adjacent .1 and .2 merge"
    );
    assert!(IpList::new().is_empty() && !IpList::new().contains(ip("1.1.1.1")));
}

#[test]
fn bad_list_line_names_file_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = write(
        dir.path(),
        "exits.txt",
        "# tor\n185.220.101.1\n185.220.101/24\n",
    );
    let err = Enricher::open(&GeoSources::default(), &[bad.display().to_string()], &[])
        .expect_err("bad line");
    assert!(
        matches!(err, EnrichError::ListLine { line: 3, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{}:3: `185.220.101/24`: not a CIDR network (bad address or prefix length)",
            bad.display()
        )
    );
    let err = IpList::parse("1.2.3.4\nexit-node 5.6.7.8 # x\n", "list.txt").expect_err("bad");
    assert_eq!(
        err.to_string(),
        "list.txt:2: `exit-node 5.6.7.8`: not an IP address or CIDR network"
    );
}

#[test]
fn bad_inline_entry_and_missing_list_file_are_errors() {
    let err = Enricher::open(&GeoSources::default(), &[], &["10.0.0.0/33".to_owned()])
        .expect_err("bad prefix");
    assert_eq!(
        err.to_string(),
        "allow[0]: `10.0.0.0/33`: not a CIDR network (bad address or prefix length)"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("absent.netset").display().to_string();
    let err = Enricher::open(&GeoSources::default(), std::slice::from_ref(&missing), &[])
        .expect_err("missing");
    assert!(matches!(err, EnrichError::ListFile { .. }));
    assert!(
        err.to_string()
            .starts_with(&format!("reading IP list {missing}: ")),
        "{err}"
    );
}
