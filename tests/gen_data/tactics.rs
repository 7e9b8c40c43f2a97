//! Known answers about the subtle attack tactics and the genuine noise of `gen_data`: what each
//! tactic may and may not leave (low-and-slow stays under velocity thresholds, warm-ups start
//! harmless, local takeovers come from the victim's city, human-paced bots type like people),
//! that no attacker passes a challenge without the victim's SIM, and that the genuine noise the
//! model must live with (corporate VPNs, cleared cookies, roaming, autofill, failures) exists
//! and is labelled genuine.

use std::collections::{BTreeMap, HashMap, HashSet};

use tessera::domain::{OutcomeKind, OutcomeRecord, ScoreRequest, Sensitivity};
use tessera::gen_data::attacks::subtle::{LOW_SLOW_IP_REST_MS, LOW_SLOW_IP_USES};
use tessera::gen_data::typing::interval_std_ms;
use tessera::gen_data::world::CITIES;
use tessera::gen_data::{LogRow, RowKind, Scenario};

use super::{HOUR_MS, mid, scores};

fn request(r: &LogRow) -> ScoreRequest {
    ScoreRequest::from_json(&r.payload).expect("score payload")
}

/// Second octet of an address in a city range (`31.i.x.y`, `37.i.x.y`), with its first octet.
fn octets(ip: &str) -> (u8, u8) {
    let mut it = ip.split('.').map(|o| o.parse::<u8>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

/// Each user's home city: the city of the broadband range most of their genuine events use.
fn homes() -> HashMap<&'static str, u8> {
    let mut counts: HashMap<&str, BTreeMap<u8, usize>> = HashMap::new();
    for r in scores().filter(|r| r.scenario == Scenario::Genuine) {
        let Some(ip) = r.ip.as_deref() else { continue };
        if let (31, city) = octets(ip) {
            *counts
                .entry(&r.user_id)
                .or_default()
                .entry(city)
                .or_default() += 1;
        }
    }
    counts
        .into_iter()
        .filter_map(|(u, c)| {
            c.into_iter()
                .max_by_key(|(_, n)| *n)
                .map(|(city, _)| (u, city))
        })
        .collect()
}

#[test]
fn low_and_slow_never_makes_two_attempts_from_one_address_within_an_hour() {
    let mut by_ip: HashMap<&str, Vec<i64>> = HashMap::new();
    let mut per_user_day: HashMap<(&str, i64), usize> = HashMap::new();
    for r in scores().filter(|r| r.scenario == Scenario::LowAndSlow) {
        by_ip
            .entry(r.ip.as_deref().expect("web request has an ip"))
            .or_default()
            .push(r.ts_ms);
        *per_user_day
            .entry((&r.user_id, r.ts_ms / (24 * HOUR_MS)))
            .or_default() += 1;
        let req = request(r);
        let dev = req.device.expect("a browser");
        assert_ne!(dev.webdriver, Some(true));
        assert!(!dev.user_agent.unwrap_or_default().contains("Headless"));
    }
    assert!(by_ip.len() >= 10, "{} addresses", by_ip.len());
    for (ip, mut times) in by_ip {
        times.sort_unstable();
        assert!(
            times.len() <= LOW_SLOW_IP_USES,
            "{ip}: {} attempts",
            times.len()
        );
        for w in times.windows(2) {
            assert!(
                w[1] - w[0] >= LOW_SLOW_IP_REST_MS,
                "{ip}: attempts {} ms apart",
                w[1] - w[0]
            );
            assert!(w[1] - w[0] >= HOUR_MS);
        }
    }
    assert!(per_user_day.values().all(|n| *n <= 2), "{per_user_day:?}");
}

#[test]
fn warm_up_attackers_start_with_harmless_requests_and_strike_last() {
    let mut campaigns: BTreeMap<(String, String), Vec<(i64, Sensitivity)>> = BTreeMap::new();
    for r in scores().filter(|r| r.scenario == Scenario::WarmUp) {
        let req = request(r);
        let device = req.device.and_then(|d| d.id).expect("a device id");
        let action = req.action.expect("an action");
        campaigns
            .entry((r.user_id.clone(), device))
            .or_default()
            .push((r.ts_ms, action.sensitivity()));
    }
    assert!(campaigns.len() >= 3, "{} campaigns", campaigns.len());
    let mut struck = 0;
    for (key, mut steps) in campaigns {
        steps.sort_unstable();
        assert_eq!(
            steps[0].1,
            Sensitivity::Low,
            "{key:?} opens with {:?}",
            steps[0].1
        );
        let (last, before) = steps.split_last().expect("non-empty");
        assert!(
            before.iter().all(|s| s.1 == Sensitivity::Low),
            "{key:?}: {steps:?}"
        );
        if last.1 == Sensitivity::High {
            struck += 1;
        }
    }
    assert!(struck >= 1);
}

#[test]
fn local_takeovers_come_from_the_victims_city_with_the_victims_locale() {
    let homes = homes();
    let mut n = 0;
    for r in scores().filter(|r| r.scenario == Scenario::LocalTakeover) {
        let Some(&home) = homes.get(r.user_id.as_str()) else {
            continue;
        };
        let (first, city) = octets(r.ip.as_deref().expect("an ip"));
        assert!(
            matches!(first, 31 | 37) && city == home,
            "{:?} for home {home}",
            r.ip
        );
        let tz = request(r)
            .device
            .and_then(|d| d.timezone)
            .expect("a time zone");
        assert_eq!(tz, CITIES[usize::from(home)].time_zone);
        n += 1;
    }
    assert!(n >= 5, "{n} local takeovers");
}

#[test]
fn residential_proxies_use_the_proxy_network_or_the_victims_own_city() {
    let homes = homes();
    let (mut flagged, mut plain) = (0, 0);
    for r in scores().filter(|r| r.scenario == Scenario::ResidentialProxy) {
        let ip = r.ip.as_deref().expect("an ip");
        match octets(ip) {
            (49, 0) => flagged += 1,
            (31, city) => {
                if let Some(&home) = homes.get(r.user_id.as_str()) {
                    assert_eq!(city, home, "{ip}");
                }
                plain += 1;
            }
            other => panic!("residential proxy from {other:?}"),
        }
    }
    assert!(
        flagged >= 2 && plain >= 2,
        "flagged {flagged}, plain {plain}"
    );
}

#[test]
fn human_paced_bots_type_and_look_like_people() {
    let mut n = 0;
    for r in scores().filter(|r| r.scenario == Scenario::HumanPacedBot) {
        let req = request(r);
        let dev = req.device.expect("a browser");
        assert_eq!(dev.webdriver, None);
        assert!(!dev.user_agent.unwrap_or_default().contains("Headless"));
        let keys = req.typing.expect("typed").events;
        let gaps: Vec<f64> = keys
            .windows(2)
            .map(|w| w[1].down_ms - w[0].down_ms)
            .collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let cv = interval_std_ms(&keys) / mean;
        assert!(cv > 0.08, "interval CV {cv}");
        assert!((60.0..2_000.0).contains(&mean), "mean interval {mean} ms");
        n += 1;
    }
    assert!(n >= 10, "{n} human-paced bot requests");
}

#[test]
fn only_a_sim_swap_passes_a_challenge_and_it_uses_the_phone_channels() {
    let scenario: HashMap<&str, Scenario> = scores()
        .map(|r| (r.request_id.as_str(), r.scenario))
        .collect();
    let mut passed_by: BTreeMap<&str, usize> = BTreeMap::new();
    for r in mid()
        .iter()
        .filter(|r| r.kind == RowKind::Outcome && r.is_attack)
    {
        let rec = OutcomeRecord::from_json(&r.payload).expect("outcome");
        if matches!(
            rec.outcome,
            OutcomeKind::OtpPassed | OutcomeKind::KbaPassed | OutcomeKind::ConfirmedSafe
        ) {
            *passed_by
                .entry(scenario[r.request_id.as_str()].as_str())
                .or_default() += 1;
        }
    }
    assert_eq!(
        passed_by.keys().copied().collect::<Vec<_>>(),
        ["sim_swap"],
        "{passed_by:?}"
    );
    let mut reported = 0;
    for r in scores().filter(|r| r.scenario == Scenario::SimSwap) {
        assert!(
            matches!(r.channel.as_deref(), Some("sms" | "whatsapp")),
            "{:?}",
            r.channel
        );
        let req = request(r);
        assert_eq!(req.action.map(|a| a.sensitivity()), Some(Sensitivity::High));
        if let Some(at) = req.network.and_then(|n| n.sim_changed_at) {
            let changed = chrono::DateTime::parse_from_rfc3339(&at).expect("rfc3339");
            let age_ms = r.ts_ms - changed.timestamp_millis();
            assert!(
                (HOUR_MS..=72 * HOUR_MS + 2 * 900_000).contains(&age_ms),
                "{age_ms}"
            );
            reported += 1;
        }
    }
    assert!(reported >= 1);
}

#[test]
fn corporate_vpn_users_always_come_from_their_employers_egress_and_are_genuine() {
    let mut users_per_egress: HashMap<&str, HashSet<&str>> = HashMap::new();
    let corporate: HashSet<&str> = scores()
        .filter(|r| r.scenario == Scenario::GenuineCorporateVpn)
        .map(|r| r.user_id.as_str())
        .collect();
    assert!(corporate.len() >= 5, "{} corporate users", corporate.len());
    for r in scores().filter(|r| corporate.contains(r.user_id.as_str()) && !r.is_attack) {
        let Some(ip) = r.ip.as_deref() else { continue };
        assert!(
            ip.starts_with("45.") || ip.starts_with("46."),
            "{} from {ip}",
            r.scenario.as_str()
        );
        users_per_egress.entry(ip).or_default().insert(&r.user_id);
    }
    for r in scores().filter(|r| r.scenario == Scenario::GenuineCorporateVpn) {
        assert!(!r.is_attack);
    }
    assert!(
        users_per_egress.values().any(|u| u.len() >= 2),
        "no shared egress"
    );
}

#[test]
fn genuine_noise_exists_and_is_labelled_genuine() {
    let (mut cleared_cookies, mut roaming, mut failed, mut untyped_web, mut new_customers) =
        (0, 0, 0, 0, 0);
    let mut seen_device: HashMap<&str, HashSet<String>> = HashMap::new();
    let homes = homes();
    let first_seen: HashMap<&str, i64> = scores().fold(HashMap::new(), |mut m, r| {
        m.entry(r.user_id.as_str()).or_insert(r.ts_ms);
        m
    });
    let start = mid().first().map_or(0, |r| r.ts_ms);
    new_customers += first_seen
        .values()
        .filter(|t| **t > start + 10 * 24 * HOUR_MS)
        .count();
    for r in scores().filter(|r| !r.is_attack) {
        let req = request(r);
        if req.auth.as_ref().is_some_and(|a| a.failed_attempts > 0) {
            failed += 1;
        }
        if r.channel.as_deref() == Some("web_widget") && req.typing.is_none() {
            untyped_web += 1;
        }
        let Some(dev) = req.device else { continue };
        let Some(id) = dev.id else { continue };
        let known = seen_device.entry(&r.user_id).or_default();
        if r.scenario == Scenario::GenuineNewDevice
            && dev
                .platform
                .as_deref()
                .is_some_and(|p| !matches!(p, "iOS" | "Android"))
            && !known.contains(&id)
        {
            cleared_cookies += 1;
        }
        known.insert(id);
        // Home-routed roaming: the phone's clock is abroad, its address at the home carrier.
        if let (Scenario::GenuineTravel, Some(ip), Some(&home)) =
            (r.scenario, r.ip.as_deref(), homes.get(r.user_id.as_str()))
            && octets(ip) == (37, home)
            && dev.timezone.as_deref() != Some(CITIES[usize::from(home)].time_zone)
        {
            roaming += 1;
        }
    }
    assert!(cleared_cookies >= 5, "{cleared_cookies} fresh desktop ids");
    assert!(roaming >= 1, "{roaming} roaming events");
    assert!(failed >= 50, "{failed} genuine failed attempts");
    assert!(untyped_web >= 50, "{untyped_web} untyped web events");
    assert!(
        new_customers >= 5,
        "{new_customers} customers who joined late"
    );
}
