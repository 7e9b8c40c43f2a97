//! Which layout a geo database file has, told from its metadata (`database_type`), and which
//! roles (`[geo] city`, `asn`, `anonymous_ip`) each layout can serve.
//!
//! | family | `database_type` (real files) | serves |
//! |---|---|---|
//! | Tessera's own (`geodb build`) | `Tessera-Demo-Geo` | city, asn, anonymous_ip |
//! | MaxMind GeoIP2/GeoLite2 | `GeoIP2-City`, `GeoLite2-City`, `GeoIP2-Enterprise`, … | city |
//! | | `GeoLite2-ASN`, `GeoIP2-ISP` | asn |
//! | | `GeoIP2-Anonymous-IP`, `GeoIP-Anonymous-Plus`, `GeoIP2-IP-Risk` | anonymous_ip |
//! | DB-IP's MaxMind-compatible files | `DBIP-City-Lite`, `DBIP-Location (compat=City)` | city (no accuracy radius) |
//! | | `DBIP-ASN-Lite (compat=GeoLite2-ASN)` | asn |
//! | ip-location-db (`@ip-location-db/*-mmdb`) | `city ipv4`, `city ipv6` | city (flat keys, no radius) |
//! | IPinfo Lite | `ipinfo lite.mmdb` | asn (country and ASN only: no coordinates) |
//!
//! Country-only files (`GeoLite2-Country`, `DBIP-Country-Lite`, ip-location-db `country ipv4`)
//! and other kinds of the known families are recognised but serve no role; anything else is an
//! unknown layout. Both are start-up errors (see `enrich::EnrichError::GeoLayout`), since a file
//! read with the wrong schema would answer "not found" for every address.

/// A role a geo database plays, i.e. the `[geo]` key it is configured under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `[geo] city`: coordinates, country, city, time zone.
    City,
    /// `[geo] asn`: the announcing autonomous system.
    Asn,
    /// `[geo] anonymous_ip`: VPN, hosting, Tor and proxy flags.
    AnonymousIp,
}

impl Role {
    /// The config key, e.g. `geo.city`.
    pub fn key(self) -> &'static str {
        match self {
            Role::City => "geo.city",
            Role::Asn => "geo.asn",
            Role::AnonymousIp => "geo.anonymous_ip",
        }
    }

    /// The short name used in warnings, e.g. `city`.
    pub fn name(self) -> &'static str {
        match self {
            Role::City => "city",
            Role::Asn => "asn",
            Role::AnonymousIp => "anonymous_ip",
        }
    }
}

/// A database layout Tessera recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `Tessera-Demo-Geo`: GeoIP2 City, GeoLite2 ASN and Anonymous-IP fields in one record.
    TesseraDemo,
    /// MaxMind GeoIP2/GeoLite2 City or Enterprise: GeoIP2 City schema with accuracy radius.
    MaxMindCity,
    /// MaxMind GeoLite2 ASN or GeoIP2 ISP: top-level `autonomous_system_*`.
    MaxMindAsn,
    /// MaxMind GeoIP2 Anonymous-IP (and Anonymous Plus, IP Risk): `is_*` flags.
    MaxMindAnonymousIp,
    /// Another MaxMind database (Country, Domain, Connection-Type, …): no role here.
    MaxMindOther,
    /// DB-IP City Lite (or commercial Location): GeoIP2 City schema without accuracy radius.
    DbIpCity,
    /// DB-IP ASN Lite: GeoLite2 ASN schema.
    DbIpAsn,
    /// Another DB-IP database (Country Lite): no coordinates, no role here.
    DbIpOther,
    /// ip-location-db flat city layout: `country_code`, `city`, `latitude`, `longitude`,
    /// `timezone` (often empty); no accuracy radius. One address family per file.
    IpLocationDbCity,
    /// Another ip-location-db file (`country ipv4`, `asn ipv6`, …): not read.
    IpLocationDbOther,
    /// IPinfo Lite: `country_code`, `asn` as `"AS15169"`, `as_name`, `as_domain`.
    IpinfoLite,
    /// Another IPinfo database: not read.
    IpinfoOther,
}

impl Layout {
    /// Tells the layout from `database_type`; `None` if no family matches.
    pub fn detect(database_type: &str) -> Option<Layout> {
        let t = database_type;
        let has = |fragments: &[&str]| fragments.iter().any(|f| t.contains(f));
        if t == crate::geodb::DATABASE_TYPE {
            return Some(Layout::TesseraDemo);
        }
        if ["GeoIP2-", "GeoLite2-", "GeoIP-"]
            .iter()
            .any(|p| t.starts_with(p))
        {
            return Some(if has(&["Anonymous", "IP-Risk"]) {
                Layout::MaxMindAnonymousIp
            } else if has(&["City", "Enterprise"]) {
                Layout::MaxMindCity
            } else if has(&["ASN", "ISP"]) {
                Layout::MaxMindAsn
            } else {
                Layout::MaxMindOther
            });
        }
        if t.starts_with("DBIP-") {
            return Some(if has(&["City", "Location"]) {
                Layout::DbIpCity
            } else if has(&["ASN"]) {
                Layout::DbIpAsn
            } else {
                Layout::DbIpOther
            });
        }
        if let Some(kind) = t.strip_suffix(" ipv4").or_else(|| t.strip_suffix(" ipv6")) {
            return Some(if kind == "city" {
                Layout::IpLocationDbCity
            } else {
                Layout::IpLocationDbOther
            });
        }
        if t.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("ipinfo")) {
            return Some(if t.to_ascii_lowercase().contains("lite") {
                Layout::IpinfoLite
            } else {
                Layout::IpinfoOther
            });
        }
        None
    }

    /// A human name for messages and logs.
    pub fn name(self) -> &'static str {
        match self {
            Layout::TesseraDemo => "Tessera demo (GeoIP2 schema)",
            Layout::MaxMindCity => "MaxMind GeoIP2/GeoLite2 City",
            Layout::MaxMindAsn => "MaxMind GeoLite2 ASN",
            Layout::MaxMindAnonymousIp => "MaxMind GeoIP2 Anonymous-IP",
            Layout::MaxMindOther => "MaxMind (not City, ASN or Anonymous-IP)",
            Layout::DbIpCity => "DB-IP City (MaxMind-compatible)",
            Layout::DbIpAsn => "DB-IP ASN (MaxMind-compatible)",
            Layout::DbIpOther => "DB-IP (not City or ASN)",
            Layout::IpLocationDbCity => "ip-location-db city",
            Layout::IpLocationDbOther => "ip-location-db (not city)",
            Layout::IpinfoLite => "IPinfo Lite",
            Layout::IpinfoOther => "IPinfo (not Lite)",
        }
    }

    /// True if records of this layout answer `role`.
    pub fn serves(self, role: Role) -> bool {
        use Layout::*;
        match role {
            Role::City => matches!(
                self,
                TesseraDemo | MaxMindCity | DbIpCity | IpLocationDbCity
            ),
            Role::Asn => matches!(self, TesseraDemo | MaxMindAsn | DbIpAsn | IpinfoLite),
            Role::AnonymousIp => matches!(self, TesseraDemo | MaxMindAnonymousIp),
        }
    }

    /// True if the layout carries an accuracy radius (MaxMind's `location.accuracy_radius`).
    /// Without one, [`crate::enrich::Location::radius_km`] is `None`.
    pub fn has_radius(self) -> bool {
        matches!(self, Layout::TesseraDemo | Layout::MaxMindCity)
    }

    /// Why this layout cannot serve `role`, and where it could go instead.
    pub fn cannot_serve(self, role: Role) -> String {
        let roles: Vec<&str> = [Role::City, Role::Asn, Role::AnonymousIp]
            .into_iter()
            .filter(|r| self.serves(*r))
            .map(Role::key)
            .collect();
        let why = match (self, role) {
            (Layout::IpinfoLite, Role::City) => "has countries and AS numbers but no coordinates",
            (_, Role::City) => "has no coordinates",
            (_, Role::Asn) => "has no AS numbers",
            (_, Role::AnonymousIp) => "has no anonymiser flags",
        };
        let instead = if roles.is_empty() {
            "Tessera reads it for no role".to_owned()
        } else {
            format!("it can serve {}", roles.join(", "))
        };
        format!(
            "{} database {why}, so it cannot serve {}; {instead}",
            self.name(),
            role.key()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_database_types_are_told_apart() {
        let cases = [
            ("Tessera-Demo-Geo", Layout::TesseraDemo),
            ("GeoIP2-City", Layout::MaxMindCity),
            ("GeoLite2-City", Layout::MaxMindCity),
            ("GeoIP2-Precision-Enterprise", Layout::MaxMindCity),
            ("GeoLite2-ASN", Layout::MaxMindAsn),
            ("GeoIP2-ISP", Layout::MaxMindAsn),
            ("GeoIP2-Anonymous-IP", Layout::MaxMindAnonymousIp),
            ("GeoIP-Anonymous-Plus", Layout::MaxMindAnonymousIp),
            ("GeoIP2-IP-Risk", Layout::MaxMindAnonymousIp),
            ("GeoLite2-Country", Layout::MaxMindOther),
            ("GeoIP2-Connection-Type", Layout::MaxMindOther),
            ("DBIP-City-Lite", Layout::DbIpCity),
            ("DBIP-Location (compat=City)", Layout::DbIpCity),
            ("DBIP-ASN-Lite (compat=GeoLite2-ASN)", Layout::DbIpAsn),
            ("DBIP-Country-Lite", Layout::DbIpOther),
            ("city ipv4", Layout::IpLocationDbCity),
            ("city ipv6", Layout::IpLocationDbCity),
            ("country ipv4", Layout::IpLocationDbOther),
            ("ipinfo lite.mmdb", Layout::IpinfoLite),
            ("ipinfo country_asn.mmdb", Layout::IpinfoOther),
        ];
        for (t, want) in cases {
            assert_eq!(Layout::detect(t), Some(want), "{t}");
        }
        for unknown in ["Test", "", "MaxMind DB Decoder Test", "City", "ipv4"] {
            assert_eq!(Layout::detect(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn roles_and_their_refusals() {
        assert!(Layout::TesseraDemo.serves(Role::AnonymousIp));
        assert!(Layout::IpinfoLite.serves(Role::Asn) && !Layout::IpinfoLite.serves(Role::City));
        assert!(!Layout::DbIpCity.has_radius() && Layout::MaxMindCity.has_radius());
        assert_eq!(
            Layout::IpinfoLite.cannot_serve(Role::City),
            "IPinfo Lite database has countries and AS numbers but no coordinates, so it cannot \
             serve geo.city; it can serve geo.asn"
        );
        assert_eq!(
            Layout::MaxMindOther.cannot_serve(Role::City),
            "MaxMind (not City, ASN or Anonymous-IP) database has no coordinates, so it cannot \
             serve geo.city; Tessera reads it for no role"
        );
    }
}
