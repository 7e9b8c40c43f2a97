//! The dataset's own geo answers as a MaxMind-format database, so its country and ASN reach the
//! replay through the real enrichment path (`enrich::Enricher`, the `geo.asn` role) rather than
//! around it.
//!
//! The file gives each login's country and ASN (and region and city) but no coordinates, and the
//! engine's City role needs coordinates (a City record without them is "not found"). So the
//! database is written in IPinfo Lite's layout — country and ASN, no coordinates, an ASN source
//! only — and serves `geo.asn`; `geo.city` stays unconfigured: absent by design. Region and city
//! have no place in that layout and are not served. No coordinate is invented: the writer's CSV
//! has latitude and longitude columns, but this layout drops them (`geodb::layout`), so the `0`
//! written there never reaches the file.
//!
//! One address may appear with several answers (the publishers assigned the placeholder
//! 10.0.0.0/8 addresses where their synthesis had conflicts): the most frequent answer wins, ties
//! to the one seen first, and the number of such addresses is reported. Private addresses get
//! the dataset's answer like any other; the engine treats them like any address. This module
//! never reads files and never touches coordinates.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use crate::geodb::{self, BuildOptions, GeoDbError, Layout};

/// A country and ASN as the dataset gives them for one login.
type Answer = (Option<String>, Option<u32>);

/// Every distinct address of a file with the answers given for it, counted.
#[derive(Debug, Default, Clone)]
pub struct IpAnswers {
    /// Per address: (answer, logins) in order of first appearance.
    seen: HashMap<IpAddr, Vec<(Answer, u64)>>,
}

impl IpAnswers {
    /// Counts one login from `ip` answered with `country` and `asn`.
    pub fn add(&mut self, ip: IpAddr, country: Option<&str>, asn: Option<u32>) {
        let answers = self.seen.entry(ip).or_default();
        match answers
            .iter_mut()
            .find(|((c, a), _)| c.as_deref() == country && *a == asn)
        {
            Some((_, n)) => *n += 1,
            None => answers.push(((country.map(str::to_owned), asn), 1)),
        }
    }

    /// Distinct addresses.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// True when no address was counted.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Addresses given more than one answer.
    pub fn conflicting(&self) -> usize {
        self.seen.values().filter(|v| v.len() > 1).count()
    }

    /// The answer served for `ip`: the most frequent, ties to the first seen.
    pub fn answer(&self, ip: IpAddr) -> Option<(Option<&str>, Option<u32>)> {
        let answers = self.seen.get(&ip)?;
        let mut best: Option<&(Answer, u64)> = None;
        for a in answers {
            if best.is_none_or(|b| a.1 > b.1) {
                best = Some(a);
            }
        }
        best.map(|((c, a), _)| (c.as_deref(), *a))
    }

    /// The rows of `tessera geodb build`'s CSV (header included), one host network per address
    /// with an answer, sorted by address.
    pub fn geodb_csv(&self) -> String {
        let mut ips: Vec<IpAddr> = self.seen.keys().copied().collect();
        ips.sort_unstable();
        let mut out = String::with_capacity(64 * ips.len() + 200);
        out.push_str("# the RBA dataset's country and ASN per address; no coordinates (the ");
        out.push_str("ipinfo-lite layout drops the latitude and longitude columns)\n");
        out.push_str(geodb::HEADER);
        out.push('\n');
        for ip in ips {
            let Some((country, asn)) = self.answer(ip) else {
                continue;
            };
            if country.is_none() && asn.is_none() {
                continue;
            }
            let bits = if ip.is_ipv4() { 32 } else { 128 };
            let asn = asn.map(|n| n.to_string()).unwrap_or_default();
            let country = country.unwrap_or("");
            // network,country,city,latitude,longitude,radius,time_zone,asn,as_org,5 flags
            let _ = writeln!(out, "{ip}/{bits},{country},,0,0,0,,{asn},,0,0,0,0,0");
        }
        out
    }

    /// The database image (IPinfo Lite layout, both address families, `build_epoch` as given
    /// for reproducible bytes); `None` when no address has an answer.
    pub fn database(&self, build_epoch: u64) -> Result<Option<Vec<u8>>, GeoDbError> {
        let opts = BuildOptions {
            layout: Layout::IpinfoLite,
            ip_version: None,
            build_epoch,
        };
        match geodb::build(&self.geodb_csv(), &opts) {
            Ok((bytes, _)) => Ok(Some(bytes)),
            Err(GeoDbError::NoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_frequent_answer_wins_and_ties_go_to_the_first() {
        let ip: IpAddr = "10.0.0.47".parse().expect("ip");
        let mut a = IpAnswers::default();
        a.add(ip, Some("US"), Some(398_986));
        a.add(ip, Some("NO"), Some(29_695));
        assert_eq!(a.answer(ip), Some((Some("US"), Some(398_986))));
        a.add(ip, Some("NO"), Some(29_695));
        assert_eq!(a.answer(ip), Some((Some("NO"), Some(29_695))));
        assert_eq!((a.len(), a.conflicting()), (1, 1));
    }

    #[test]
    fn csv_rows_are_host_networks_without_coordinates_in_the_layout() {
        let mut a = IpAnswers::default();
        a.add(
            "194.87.207.6".parse().expect("ip"),
            Some("AU"),
            Some(60_117),
        );
        a.add("2001:db8::1".parse().expect("ip"), None, Some(64_500));
        a.add("192.0.2.1".parse().expect("ip"), None, None);
        let csv = a.geodb_csv();
        assert!(csv.contains("\n194.87.207.6/32,AU,,0,0,0,,60117,,0,0,0,0,0\n"));
        assert!(csv.contains("\n2001:db8::1/128,,,0,0,0,,64500,,0,0,0,0,0\n"));
        assert!(!csv.contains("192.0.2.1"), "no answer, no row");
        assert!(a.database(0).expect("builds").is_some());
        assert_eq!(IpAnswers::default().database(0).expect("empty"), None);
    }
}
