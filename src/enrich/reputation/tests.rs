use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write list");
    p.display().to_string()
}

fn files(dir: &Path) -> ReputationFiles {
    ReputationFiles {
        tor_exit: vec![write(dir, "tor.txt", "# bulk exit list\n203.0.113.7\n")],
        vpn: vec![
            write(dir, "vpn-a.txt", "198.51.100.0/24\n"),
            write(dir, "vpn-b.txt", "198.51.0.0/16 ; wider\n2001:db8::/32\n"),
        ],
        hosting: vec![],
        proxy: vec![write(dir, "proxies.netset", "192.0.2.1\n")],
        hosting_asns: vec![write(dir, "asns.csv", "ASN,Entity\nAS64600,\"Demo\"\n")],
    }
}

#[test]
fn lookups_set_flags_and_name_the_first_file_that_lists_the_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (lists, counts) = ReputationLists::load(&files(dir.path())).expect("valid lists");
    assert_eq!(
        counts.totals(),
        vec![
            ("tor_exit", 1),
            ("vpn", 3),
            ("proxy", 1),
            ("hosting_asns", 1)
        ]
    );
    assert_eq!(counts.files[2].key, "reputation.vpn[1]");
    let v = lists.lookup(ip("198.51.100.9"), Lookup::Found(1));
    assert!(
        v.answered && v.flags.anonymous_vpn && !v.flags.tor_exit,
        "{v:?}"
    );
    assert_eq!(
        v.sources.anonymous_vpn,
        Some(FlagSource::List {
            kind: ListKind::Vpn,
            file: "vpn-a.txt"
        })
    );
    let v = lists.lookup(ip("198.51.7.1"), Lookup::Unavailable);
    assert_eq!(
        v.sources.anonymous_vpn.as_ref().and_then(|s| s.file()),
        Some("vpn-b.txt")
    );
    let v = lists.lookup(ip("2001:db8::1"), Lookup::NotFound);
    assert!(v.flags.anonymous_vpn);
    let v = lists.lookup(ip("::ffff:203.0.113.7"), Lookup::NotFound);
    assert!(v.flags.tor_exit && !v.flags.anonymous_vpn);
    let v = lists.lookup(ip("192.0.2.1"), Lookup::NotFound);
    assert!(v.flags.public_proxy && !v.flags.residential_proxy);
    let v = lists.lookup(ip("31.0.12.34"), Lookup::Found(64600));
    assert!(v.flags.hosting_provider, "hosting via the ASN list");
    assert_eq!(
        v.sources.hosting_provider.map(|s| s.source()),
        Some("hosting_asns list")
    );
    let v = lists.lookup(ip("31.0.12.34"), Lookup::Found(64601));
    assert!(v.answered && !v.flags.any(), "{v:?}");
}

#[test]
fn merge_ors_the_database_and_the_lists_and_keeps_the_database_as_first_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (lists, _) = ReputationLists::load(&files(dir.path())).expect("valid lists");
    let tor = lists.lookup(ip("203.0.113.7"), Lookup::NotFound);
    let clean = lists.lookup(ip("10.1.2.3"), Lookup::NotFound);
    let (r, s) = merge(Lookup::Unavailable, tor);
    assert!(matches!(r, Lookup::Found(x) if x.tor_exit));
    assert_eq!(s.tor_exit.map(|x| x.source()), Some("tor_exit list"));
    let (r, _) = merge(Lookup::Unavailable, clean);
    assert_eq!(
        r,
        Lookup::Found(Reputation::default()),
        "available, no flags"
    );
    let (r, _) = merge(Lookup::NotFound, clean);
    assert_eq!(r, Lookup::NotFound);
    let db = Reputation {
        tor_exit: true,
        residential_proxy: true,
        ..Reputation::default()
    };
    let vpn = lists.lookup(ip("198.51.100.1"), Lookup::NotFound);
    let (r, s) = merge(Lookup::Found(db), vpn);
    let Lookup::Found(r) = r else {
        panic!("found expected: {r:?}")
    };
    assert!(r.tor_exit && r.anonymous_vpn && r.residential_proxy && !r.public_proxy);
    assert_eq!(s.tor_exit, Some(FlagSource::Database));
    assert_eq!(s.proxy, Some(FlagSource::Database));
    assert_eq!(
        s.anonymous_vpn.as_ref().and_then(|x| x.file()),
        Some("vpn-a.txt")
    );
    // No lists: the database alone decides, unavailable stays unavailable.
    let no_lists = ReputationLists::none();
    let none = no_lists.lookup(ip("203.0.113.7"), Lookup::NotFound);
    assert_eq!(merge(Lookup::Unavailable, none).0, Lookup::Unavailable);
}

#[test]
fn asn_lists_alone_answer_only_when_the_asn_database_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let only_asns = ReputationFiles {
        hosting_asns: vec![write(dir.path(), "asns.csv", "64600\n")],
        ..ReputationFiles::default()
    };
    let (lists, _) = ReputationLists::load(&only_asns).expect("valid");
    assert!(!lists.lookup(ip("31.0.0.1"), Lookup::Unavailable).answered);
    assert!(lists.lookup(ip("31.0.0.1"), Lookup::NotFound).answered);
}

#[test]
fn bad_files_name_key_file_and_line_but_not_the_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut f = files(dir.path());
    f.vpn[1] = write(dir.path(), "bad-vpn.txt", "# ok\n10.0.0.0/8\n10.0.0.0/33\n");
    let e = ReputationLists::load(&f).expect_err("bad CIDR").to_string();
    assert!(
        e.starts_with("reputation.vpn[1] (") && e.contains("bad-vpn.txt") && e.contains("line 3:"),
        "{e}"
    );
    assert!(!e.contains("10.0.0.0/33"), "never the value: {e}");
    let mut f = files(dir.path());
    f.hosting_asns = vec![write(dir.path(), "a.csv", "ASN\n1\n2\n3\n4\n5\nCogent\n")];
    let e = ReputationLists::load(&f).expect_err("bad ASN").to_string();
    assert!(
        e.starts_with("reputation.hosting_asns[0] (") && e.ends_with("line 7: not an AS number"),
        "{e}"
    );
    let mut f = files(dir.path());
    f.tor_exit = vec![write(dir.path(), "empty.txt", "# nothing today\n")];
    let e = ReputationLists::load(&f).expect_err("empty").to_string();
    assert!(
        e.starts_with("reputation.tor_exit[0] (") && e.contains("no entries"),
        "{e}"
    );
    let mut f = files(dir.path());
    f.proxy = vec![dir.path().join("missing.txt").display().to_string()];
    let e = ReputationLists::load(&f).expect_err("missing").to_string();
    assert!(
        e.starts_with("reputation.proxy[0] (") && e.contains("cannot read"),
        "{e}"
    );
}

#[test]
fn reload_swaps_the_new_contents_in_and_a_failed_one_keeps_the_old() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = files(dir.path());
    let (lists, _) = ReputationLists::load(&f).expect("valid");
    let fresh = ip("203.0.113.8");
    assert!(!lists.lookup(fresh, Lookup::NotFound).flags.tor_exit);
    write(dir.path(), "tor.txt", "203.0.113.7\n203.0.113.8\n");
    let counts = lists.reload().expect("reload");
    assert_eq!(counts.totals()[0], ("tor_exit", 2));
    assert!(lists.lookup(fresh, Lookup::NotFound).flags.tor_exit);
    write(dir.path(), "tor.txt", "203.0.113.9\n");
    write(dir.path(), "proxies.netset", "not an address\n");
    let e = lists.reload().expect_err("bad proxy list").to_string();
    assert!(
        e.starts_with("reputation.proxy[0] (") && e.contains("line 1"),
        "{e}"
    );
    assert!(
        lists.lookup(fresh, Lookup::NotFound).flags.tor_exit,
        "the old set keeps serving, the new Tor file is not half-applied"
    );
    assert!(
        !lists
            .lookup(ip("203.0.113.9"), Lookup::NotFound)
            .flags
            .tor_exit
    );
}
