//! Known answers of the typing verifier: the extraction rule, the offset special case, the
//! prior-only score, the Woodbury term against a brute-force Gaussian density, eviction, the
//! stored blob and the background file's checks.

use ndarray::Array2;

use super::background::{Constants, Provenance, SCHEMA, Stats, VERSION};
use super::*;
use crate::keystroke::linalg::{cholesky, forward_substitute};

fn ev(key: Option<&str>, down_ms: f64, up_ms: f64) -> KeyEvent {
    KeyEvent {
        key: key.map(str::to_string),
        down_ms,
        up_ms,
    }
}

fn stats(mu: f32, tau2: f32, sig2: f32, a: [f32; RANK]) -> Stats {
    Stats { mu, tau2, sig2, a }
}

fn file(hold: Vec<(String, Stats)>, ud: Vec<(String, String, Stats)>) -> BackgroundFile {
    let mut a0 = [0.0; RANK];
    a0[0] = 0.1;
    let mut a1 = [0.0; RANK];
    a1[1] = 0.4;
    BackgroundFile {
        schema: SCHEMA.into(),
        version: VERSION,
        constants: Constants::current(),
        provenance: Provenance::default(),
        defaults: [stats(1.0, 0.03, 0.02, a0), stats(1.5, 0.3, 0.3, a1)],
        hold,
        ud,
    }
}

#[test]
fn entries_are_holds_and_up_down_flights_of_named_keys() {
    let key = TypingKey::new([4; 16]);
    // a: 0–100, b: 80–150 (overlap: up-down −20 ms), nameless, c: 400–460, d: 2100–2180 (DD
    // 1700 ms from c: no pair).
    let events = [
        ev(Some("a"), 0.0, 100.0),
        ev(Some("b"), 80.0, 150.0),
        ev(None, 200.0, 260.0),
        ev(Some("c"), 400.0, 460.0),
        ev(Some("d"), 2100.0, 2180.0),
    ];
    let mut seen = Vec::new();
    for_each_entry(&events, |k, i, j, x| seen.push((k, i, j, x)));
    let l = |ms: f64| log_timing(ms / 1000.0);
    let want = vec![
        (EntryKind::Hold, 0, 0, l(100.0)),
        (EntryKind::Hold, 1, 1, l(70.0)),
        (EntryKind::UpDown, 0, 1, l(-20.0)),
        (EntryKind::Hold, 3, 3, l(60.0)),
        (EntryKind::Hold, 4, 4, l(80.0)),
    ];
    assert_eq!(seen, want);
    assert!(l(-20.0) < 0.0);
    let s = TypingSample::from_events(&events, &key);
    assert_eq!((s.len(), s.keys()), (5, 5));
    let hold_a = entry_name(EntryKind::Hold, key.key_image("a"), 0);
    let ab = entry_name(EntryKind::UpDown, key.key_image("a"), key.key_image("b"));
    assert_eq!(EntryKind::of(hold_a), EntryKind::Hold);
    assert_eq!(EntryKind::of(ab), EntryKind::UpDown);
    assert!(
        s.entries()
            .iter()
            .any(|e| e.0 == ab && (f64::from(e.1) - l(-20.0)).abs() < 1e-6)
    );
    // Stored and read back unchanged.
    let back: TypingSample =
        postcard::from_bytes(&postcard::to_stdvec(&s).expect("encode")).expect("decode");
    assert_eq!(back, s);
    // Repeated entries are averaged per message.
    let twice = [ev(Some("a"), 0.0, 100.0), ev(Some("a"), 300.0, 500.0)];
    let s = TypingSample::from_events(&twice, &key);
    let x = s
        .entries()
        .iter()
        .find(|e| e.0 == hold_a)
        .expect("hold a")
        .1;
    assert!((f64::from(x) - (l(100.0) + l(200.0)) / 2.0).abs() < 1e-6);
}

/// A background with `n` hold entries `k0..`, mu 1.0, and type-axis loadings √sb2 (the r = 2
/// offset model).
fn offset_background(n: usize, sb2: f32) -> (BackgroundFile, TypingKey) {
    let mut a = [0.0; RANK];
    a[0] = sb2.sqrt();
    let hold = (0..n)
        .map(|i| {
            (
                format!("k{i}"),
                stats(0.85 + 0.01 * (i % 5) as f32, 0.01, 0.02, a),
            )
        })
        .collect();
    (file(hold, vec![]), TypingKey::new([5; 16]))
}

fn message(key: &TypingKey, n: usize, hold_ms: impl Fn(usize) -> f64) -> TypingSample {
    // Keys 2 s apart: holds only.
    let events: Vec<KeyEvent> = (0..n)
        .map(|i| {
            let d = 2000.0 * i as f64;
            ev(Some(&format!("k{i}")), d, d + hold_ms(i))
        })
        .collect();
    TypingSample::from_events(&events, key)
}

#[test]
fn fixed_type_loadings_give_the_per_type_offset() {
    let sb2 = 0.02f32;
    let (f, key) = offset_background(12, sb2);
    let bg = Background::new(&f, &key);
    let mut p = TypingProfile::default();
    let s = message(&key, 12, |i| 80.0 + 3.0 * i as f64);
    p.enroll(&s, &bg);
    // b = Σ w (x − mu) / (Σ w + 1/sb2), w = 1 / (tau2 + sig2 / n), n = 1.
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for &(name, x) in s.entries() {
        let (st, listed) = bg.get(name);
        assert!(listed);
        let w = 1.0 / (f64::from(st.tau2) + f64::from(st.sig2));
        num += w * (f64::from(x) - f64::from(st.mu));
        den += w;
    }
    let b = num / (den + 1.0 / f64::from(sb2));
    let y = p.stored_style();
    assert!(
        (f64::from(y[0]) * f64::from(sb2).sqrt() - b).abs() < 1e-5,
        "{y:?} {b}"
    );
    assert!(y[1..].iter().all(|v| v.abs() < 1e-6));
}

#[test]
fn an_empty_profile_scores_on_the_prior_alone() {
    let (f, key) = offset_background(12, 0.02);
    let bg = Background::new(&f, &key);
    let s = message(&key, 12, |i| 90.0 + i as f64);
    let p = TypingProfile::default();
    let Verdict::Score {
        distance,
        entries,
        known,
        confidence,
    } = p.verify(&s, &bg)
    else {
        panic!("scored")
    };
    assert_eq!((entries, known, confidence), (12, 12, 0.0));
    // y = 0, n = 0: genuine predictive N(mu, tau2 + sig2), the same as the population before
    // its factors, so LLR = −(Woodbury term) with the same clipping.
    let (mut ll, mut s_acc, mut m_acc) = (0.0, 0.0, 1.0);
    for &(name, x) in s.entries() {
        let (st, _) = bg.get(name);
        let v = f64::from(st.tau2) + f64::from(st.sig2);
        let lim = 3.0 * v.sqrt();
        let d = (f64::from(x) - f64::from(st.mu)).clamp(-lim, lim);
        let z = (d / v.sqrt()).clamp(-3.0, 3.0);
        ll += (-0.5 * z * z - 0.5 * v.ln()) - (-0.5 * d * d / v - 0.5 * v.ln());
        let a = f64::from(st.a[0]);
        s_acc += d * a / v;
        m_acc += a * a / v;
    }
    let llr = ll - (0.5 * s_acc * s_acc / m_acc - 0.5 * m_acc.ln());
    let want = -llr / 12f64.sqrt();
    assert!(
        (f64::from(distance) - want).abs() < 1e-4,
        "{distance} vs {want}"
    );
    // Too few known entries is no judgement.
    let short = message(&key, 9, |_| 90.0);
    assert_eq!(p.verify(&short, &bg), Verdict::Insufficient { known: 9 });
}

#[test]
fn woodbury_term_equals_the_brute_force_marginal_density() {
    // H0 without clipping: log N(x; mu, diag(v0) + A Aᵀ) = Σ ll0 + ½ Sᵀ(I+M)⁻¹S − ½ ln det(I+M)
    // (up to the same −½ ln 2π per entry, omitted on both sides).
    let key = TypingKey::new([6; 16]);
    let hold: Vec<(String, Stats)> = (0..10)
        .map(|i| {
            let a: [f32; RANK] = std::array::from_fn(|k| 0.05 * ((i * 3 + k * 5) % 7) as f32 - 0.1);
            (format!("k{i}"), stats(1.5, 0.04 + 0.01 * i as f32, 0.03, a))
        })
        .collect();
    let f = file(hold.clone(), vec![]);
    let bg = Background::new(&f, &key);
    let s = message(&key, 10, |i| 100.0 + 5.0 * i as f64);
    let p = TypingProfile::default();
    let Verdict::Score { distance, .. } = p.verify(&s, &bg) else {
        panic!()
    };
    // ll1 with y = 0, n = 0 is Σ log N(x; mu, v0); D = −(ll1 − ll0) / √10.
    let n = s.len();
    let mut cov = Array2::<f64>::zeros((n, n));
    let mut dev = vec![0.0; n];
    let mut ll1 = 0.0;
    for (i, &(name, x)) in s.entries().iter().enumerate() {
        let (st, _) = bg.get(name);
        let v0 = f64::from(st.tau2) + f64::from(st.sig2);
        dev[i] = f64::from(x) - f64::from(st.mu);
        assert!(
            dev[i].abs() < 3.0 * v0.sqrt(),
            "no clipping in this example"
        );
        ll1 += -0.5 * dev[i] * dev[i] / v0 - 0.5 * v0.ln();
        for (j, &(other, _)) in s.entries().iter().enumerate() {
            let (so, _) = bg.get(other);
            let dot: f64 =
                st.a.iter()
                    .zip(&so.a)
                    .map(|(p, q)| f64::from(*p) * f64::from(*q))
                    .sum();
            cov[[i, j]] = dot + if i == j { v0 } else { 0.0 };
        }
    }
    let l = cholesky(&cov).expect("positive definite");
    let log_det: f64 = (0..n).map(|i| 2.0 * l[[i, i]].ln()).sum();
    forward_substitute(&l, &mut dev);
    let quad: f64 = dev.iter().map(|v| v * v).sum();
    let ll0 = -0.5 * quad - 0.5 * log_det;
    let want = -(ll1 - ll0) / (n as f64).sqrt();
    assert!(
        (f64::from(distance) - want).abs() < 1e-4,
        "{distance} vs {want}"
    );
}

#[test]
fn the_usual_rhythm_matches_and_another_does_not() {
    let (f, key) = offset_background(40, 0.02);
    let bg = Background::new(&f, &key);
    let mut p = TypingProfile::default();
    for k in 0..5 {
        p.enroll(
            &message(&key, 40, |i| 70.0 + 2.0 * (i % 5) as f64 + k as f64),
            &bg,
        );
    }
    let score = |s: &TypingSample| match p.verify(s, &bg) {
        Verdict::Score { distance, .. } => distance,
        v => panic!("{v:?}"),
    };
    let mine = score(&message(&key, 40, |i| 72.0 + 2.0 * (i % 5) as f64));
    let other = score(&message(&key, 40, |i| 140.0 - 3.0 * (i % 7) as f64));
    assert!(mine < MATCH_BELOW, "{mine}");
    assert!(other > 2.0, "{other}");
    assert!((p.confidence() - 200.0 / 300.0).abs() < 1e-6);
}

#[test]
fn eviction_keeps_the_new_sample_and_the_frequent_and_recent() {
    let (f, key) = offset_background(0, 0.02);
    let bg = Background::new(&f, &key);
    let msg = |lo: usize, hi: usize| {
        let events: Vec<KeyEvent> = (lo..hi)
            .map(|i| {
                ev(
                    Some(&format!("k{i}")),
                    2000.0 * i as f64,
                    2000.0 * i as f64 + 90.0,
                )
            })
            .collect();
        TypingSample::from_events(&events, &key)
    };
    let mut p = TypingProfile::default();
    // Keys 0..200 three times (n = 3), then 200..300 once (n = 1): 300 > CAP.
    for _ in 0..3 {
        p.enroll(&msg(0, 200), &bg);
    }
    p.enroll(&msg(200, 300), &bg);
    assert_eq!(p.len(), CAP);
    let stats = p.entry_stats();
    // Every entry of the new sample is kept; 44 of the older ones went.
    assert_eq!(stats.iter().filter(|e| e.3 == 4).count(), 100);
    assert_eq!(stats.iter().filter(|e| e.3 == 3).count(), 156);
    // Now 50 fresh keys: the oldest entries, seen once at sample 4, outlast... no: decayed
    // counts are 3·0.5^(2/20) ≈ 2.8 for the three-times entries and 1·0.5^(1/20) ≈ 0.97 for
    // the once-seen: the once-seen go first.
    p.enroll(&msg(300, 350), &bg);
    let stats = p.entry_stats();
    assert_eq!(p.len(), CAP);
    assert_eq!(stats.iter().filter(|e| e.3 == 5).count(), 50);
    assert_eq!(stats.iter().filter(|e| e.3 == 4).count(), 50);
    assert_eq!(stats.iter().filter(|e| e.3 == 3).count(), 156);
    // A sample alone over the cap keeps CAP of its entries.
    let mut q = TypingProfile::default();
    q.enroll(&msg(0, 300), &bg);
    assert_eq!(q.len(), CAP);
    // The fading count stops at NMAX.
    let mut r = TypingProfile::default();
    for _ in 0..25 {
        r.enroll(&msg(0, 3), &bg);
    }
    assert!(r.entry_stats().iter().all(|e| e.1 == NMAX));
    // Stored and read back unchanged; a foreign layout byte is refused.
    let bytes = postcard::to_stdvec(&p).expect("encode");
    let back: TypingProfile = postcard::from_bytes(&bytes).expect("decode");
    assert_eq!(back, p);
    let mut foreign = bytes.clone();
    // The blob's first byte, after postcard's length prefix.
    let at = bytes.len() - (1 + 12 + 4 * RANK + 16 * p.len());
    assert_eq!(foreign[at], 1);
    foreign[at] = 9;
    assert!(postcard::from_bytes::<TypingProfile>(&foreign).is_err());
}

#[test]
fn a_background_file_of_another_schema_or_constants_is_refused() {
    let good = file(
        vec![("KeyA".into(), stats(1.0, 0.02, 0.02, [0.0; RANK]))],
        vec![],
    );
    let text = good.to_json();
    assert_eq!(BackgroundFile::parse(&text).expect("valid"), good);
    let e = BackgroundFile::parse(&text.replacen("\"version\": 1", "\"version\": 2", 1))
        .expect_err("version");
    assert!(e.to_string().contains("version 2"), "{e}");
    let mut other = good.clone();
    other.constants.rank = 4;
    let e = BackgroundFile::parse(&other.to_json()).expect_err("constants");
    assert!(matches!(e, BackgroundError::Constants { .. }), "{e}");
    let mut bad = good.clone();
    bad.hold[0].1.tau2 = -1.0;
    let e = BackgroundFile::parse(&bad.to_json()).expect_err("variance");
    assert_eq!(
        e.to_string(),
        "typing background: hold[0]: not a finite value (or a variance ≤ 0)"
    );
    // Names are hashed with the deployment's key at load.
    let a = Background::new(&good, &TypingKey::new([1; 16]));
    let hold_a = entry_name(
        EntryKind::Hold,
        TypingKey::new([1; 16]).key_image("KeyA"),
        0,
    );
    assert!(a.get(hold_a).1);
    let b = Background::new(&good, &TypingKey::new([2; 16]));
    assert!(!b.get(hold_a).1);
}
