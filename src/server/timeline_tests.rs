//! Known answers of the hour ring, on an injected clock: counts stay for an hour and then roll
//! off, tenants (their latency too) are counted apart, percentiles read the fixed latency
//! buckets.

use super::*;

/// 2026-01-10T09:00:00Z, ms (a bucket boundary).
const T0: i64 = 1_768_035_600_000;
const MIN: i64 = 60_000;

fn timeline() -> Timeline {
    Timeline::new(TenantIndex::new(["acme", "globex"]))
}

fn decide(tl: &Timeline, at: i64, tenant: &str, channel: Channel, d: Decision) {
    let t = tl.tenants().index(tenant);
    tl.decision(at, t, channel, d, 85, [ReasonCode::NewDevice].into_iter());
}

#[test]
fn tenant_slots_are_sorted_with_default_and_one_shared_slot() {
    let idx = TenantIndex::new(["globex", "acme", "acme"]);
    assert_eq!(idx.slots(), 4);
    assert_eq!(
        (0..4).map(|i| idx.name(i)).collect::<Vec<_>>(),
        ["acme", "default", "globex", "_other"]
    );
    assert_eq!(idx.index("globex"), 2);
    assert_eq!(idx.index("initech"), 3);
    assert_eq!(idx.find("initech"), None);
}

#[test]
fn counts_stay_for_an_hour_and_then_roll_off() {
    let tl = timeline();
    decide(&tl, T0, "acme", Channel::WebWidget, Decision::Allow);
    decide(
        &tl,
        T0 + 5_000,
        "acme",
        Channel::WebWidget,
        Decision::StepUpOtp,
    );
    decide(&tl, T0 + 59 * MIN, "acme", Channel::Sms, Decision::Allow);
    let at = |now: i64| tl.hour(now, None).totals.decisions_total();
    assert_eq!(at(T0), 2);
    assert_eq!(at(T0 + 59 * MIN), 3);
    // The bucket of T0 is 366 buckets old at T0 + 61 min: only the later count is left.
    assert_eq!(at(T0 + 61 * MIN), 1);
    let h = tl.hour(T0 + 61 * MIN, None);
    assert_eq!(h.totals.channel_total(Channel::Sms), 1);
    assert_eq!(h.totals.channel_total(Channel::WebWidget), 0);
    // The last second of the hour still holds T0's bucket; the next one does not.
    assert_eq!(at(T0 + 60 * MIN - 1), 3);
    assert_eq!(at(T0 + 60 * MIN), 1);
    assert_eq!(at(T0 + 2 * 60 * MIN), 0);
}

#[test]
fn a_reused_bucket_is_emptied_first() {
    let tl = timeline();
    decide(&tl, T0, "acme", Channel::WebWidget, Decision::Deny);
    // Same ring position an hour later.
    decide(&tl, T0 + 60 * MIN, "acme", Channel::InApp, Decision::Allow);
    let h = tl.hour(T0 + 60 * MIN, None);
    assert_eq!(h.totals.decisions_total(), 1);
    assert_eq!(h.totals.decisions[Channel::InApp.index()][0], 1);
    assert_eq!(h.totals.decisions[Channel::WebWidget.index()][3], 0);
}

#[test]
fn buckets_are_placed_in_time_order_with_their_counts() {
    let tl = timeline();
    decide(&tl, T0, "acme", Channel::Whatsapp, Decision::Allow);
    decide(
        &tl,
        T0 + 10 * MIN + 3_000,
        "globex",
        Channel::Whatsapp,
        Decision::Deny,
    );
    let now = T0 + 30 * MIN;
    let h = tl.hour(now, None);
    assert_eq!(h.per_bucket.len(), BUCKETS);
    // The newest bucket starts at `now`; the first 359 buckets earlier.
    assert_eq!(h.first_ms, now - 359 * BUCKET_MS);
    let k0 = ((T0 - h.first_ms) / BUCKET_MS) as usize;
    let k1 = ((T0 + 10 * MIN - h.first_ms) / BUCKET_MS) as usize;
    let w = Channel::Whatsapp.index();
    assert_eq!(h.per_bucket[k0][w], [1, 0, 0, 0]);
    assert_eq!(h.per_bucket[k1][w], [0, 0, 0, 1]);
    let sum: u64 = h.per_bucket.iter().flatten().flatten().sum();
    assert_eq!(sum, 2);
}

#[test]
fn a_tenant_sees_only_its_own_counts() {
    let tl = timeline();
    decide(&tl, T0, "acme", Channel::WebWidget, Decision::Allow);
    decide(&tl, T0, "globex", Channel::WebWidget, Decision::Allow);
    decide(&tl, T0, "globex", Channel::Sms, Decision::Allow);
    tl.shadow(T0, tl.tenants().index("globex"), false);
    tl.outcome(T0, tl.tenants().index("acme"), OutcomeKind::ConfirmedFraud);
    let ms = Duration::from_millis;
    tl.latency(T0, Some(tl.tenants().index("acme")), ms(4));
    tl.latency(T0, Some(tl.tenants().index("globex")), ms(4));
    tl.latency(T0, Some(tl.tenants().index("globex")), ms(40));
    tl.latency(T0, None, ms(400));
    let acme = tl.hour(T0, Some("acme"));
    assert_eq!(acme.totals.decisions_total(), 1);
    assert_eq!(acme.totals.shadow, [0, 0]);
    assert_eq!(
        acme.totals.outcomes[outcome_index(OutcomeKind::ConfirmedFraud)],
        1
    );
    assert_eq!(acme.by_tenant, [("acme".to_string(), 1)]);
    let globex = tl.hour(T0, Some("globex"));
    assert_eq!(globex.totals.decisions_total(), 2);
    assert_eq!(globex.totals.shadow, [0, 1]);
    assert_eq!(
        globex.totals.reasons[reason_index(ReasonCode::NewDevice)],
        2
    );
    assert_eq!(globex.totals.trust[8], 2);
    // Latency too: each tenant's own requests; the operator's view adds the unattributed one.
    assert_eq!(acme.latency_count(), 1);
    assert_eq!(acme.latency_quantile_ms(1.0), Some(5.0));
    assert_eq!(globex.latency_count(), 2);
    assert_eq!(globex.latency_quantile_ms(1.0), Some(50.0));
    let all = tl.hour(T0, None);
    assert_eq!(all.totals.decisions_total(), 3);
    assert_eq!(all.latency_count(), 4);
    assert_eq!(all.latency_quantile_ms(1.0), Some(500.0));
    assert_eq!(
        all.by_tenant,
        [
            ("acme".to_string(), 1),
            ("default".to_string(), 0),
            ("globex".to_string(), 2)
        ]
    );
    // A tenant not counted apart sees nothing of the others.
    assert_eq!(tl.hour(T0, Some("initech")).totals.decisions_total(), 0);
    assert_eq!(tl.hour(T0, Some("initech")).latency_count(), 0);
    // An unlisted tenant's counts land in the shared slot, shown to the operator only.
    decide(&tl, T0, "initech", Channel::Sms, Decision::Allow);
    assert_eq!(
        tl.hour(T0, None).by_tenant.last(),
        Some(&("_other".to_string(), 1))
    );
}

#[test]
fn percentiles_are_the_bounds_of_the_buckets_holding_their_rank() {
    let tl = timeline();
    assert_eq!(tl.hour(T0, None).latency_quantile_ms(0.5), None);
    // 90 requests of 0.8 ms (≤ 1 ms), 8 of 4 ms (≤ 5 ms), 2 of 9 s (beyond the last bound).
    for (n, us) in [(90, 800), (8, 4_000), (2, 9_000_000)] {
        for _ in 0..n {
            tl.latency(T0, None, Duration::from_micros(us));
        }
    }
    let h = tl.hour(T0, None);
    assert_eq!(h.latency_count(), 100);
    assert_eq!(h.latency_quantile_ms(0.5), Some(1.0));
    assert_eq!(h.latency_quantile_ms(0.9), Some(1.0));
    assert_eq!(h.latency_quantile_ms(0.95), Some(5.0));
    assert_eq!(h.latency_quantile_ms(0.98), Some(5.0));
    assert_eq!(h.latency_quantile_ms(0.99), Some(f64::INFINITY));
}

#[test]
fn trust_bins_are_tens_with_100_in_the_last() {
    assert_eq!([0, 9, 10, 55, 99, 100].map(trust_bin), [0, 0, 1, 5, 9, 9]);
}
