//! Detector tests on synthetic subjects whose answers are computed by hand.

use super::detector::{
    Euclidean, Manhattan, OutlierCount, RobustManhattan, ScaledManhattan, log_timing,
};
use super::mahalanobis::{
    Mahalanobis, NearestNeighbourMahalanobis, NearestNeighbourMahalanobisManhattan,
};
use super::{Detector, KeystrokeError, Samples, Scratch, Template, detector, detectors};

fn samples(rows: &[&[f64]]) -> Samples {
    let mut s = Samples::new(rows[0].len());
    for r in rows {
        assert!(s.push(r));
    }
    s
}

fn score(d: &dyn Detector, enrol: &Samples, x: &[f64]) -> f64 {
    let t = d.fit(enrol).expect("fit");
    t.score(x, &mut Scratch::new()).expect("score")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn distances_to_the_mean_by_hand() {
    // Mean (2, 12); mean absolute deviation (1, 2).
    let e = samples(&[&[1.0, 10.0], &[3.0, 14.0]]);
    assert!(close(score(&ScaledManhattan, &e, &[2.0, 12.0]), 0.0));
    assert!(close(score(&ScaledManhattan, &e, &[4.0, 12.0]), 2.0));
    assert!(close(score(&ScaledManhattan, &e, &[4.0, 9.0]), 2.0 + 1.5));
    assert!(close(score(&Manhattan, &e, &[5.0, 12.0]), 3.0));
    assert!(close(score(&Euclidean, &e, &[5.0, 8.0]), 9.0 + 16.0));
}

#[test]
fn outlier_count_counts_features_beyond_1_96_sd() {
    // Mean (1, 1, 1); sample SD √2 ≈ 1.414 each: |z| > 1.96 means |x − 1| > 2.772.
    let e = samples(&[&[0.0, 0.0, 0.0], &[2.0, 2.0, 2.0]]);
    assert!(close(score(&OutlierCount, &e, &[1.0, 1.0, 1.0]), 0.0));
    assert!(close(score(&OutlierCount, &e, &[4.0, 3.5, -2.0]), 2.0));
}

#[test]
fn mahalanobis_family_by_hand() {
    // Mean 0, covariance diag(2/3, 2/3).
    let e = samples(&[&[1.0, 0.0], &[-1.0, 0.0], &[0.0, 1.0], &[0.0, -1.0]]);
    assert!(close(score(&Mahalanobis, &e, &[1.0, 1.0]), 3.0));
    assert!(close(score(&Mahalanobis, &e, &[0.0, 0.0]), 0.0));
    // Nearest enrolment sample to (1, 1) is (1, 0) or (0, 1): whitened gap (0, √1.5).
    assert!(close(
        score(&NearestNeighbourMahalanobis, &e, &[1.0, 0.0]),
        0.0
    ));
    assert!(close(
        score(&NearestNeighbourMahalanobis, &e, &[1.0, 1.0]),
        1.5
    ));
    let nnmm = NearestNeighbourMahalanobisManhattan;
    assert!(close(score(&nnmm, &e, &[0.0, -1.0]), 0.0));
    assert!(close(score(&nnmm, &e, &[1.0, 1.0]), 1.5f64.sqrt()));
    // L1 is not rotation invariant: (2, 2) is √1.5·(1 + 2) from (1, 0).
    assert!(close(score(&nnmm, &e, &[2.0, 2.0]), 1.5f64.sqrt() * 3.0));
}

#[test]
fn robust_manhattan_uses_median_and_mad() {
    // Median 2, |deviations| (1, 0, 8): MAD 1. The outlier 10 moves neither.
    let e = samples(&[&[1.0], &[2.0], &[10.0]]);
    let plain = RobustManhattan { log_timings: false };
    assert!(close(score(&plain, &e, &[5.0]), 3.0));
    // On log timings: centre log_timing(2), MAD = min over |log_timing(x) − centre|.
    let log = RobustManhattan { log_timings: true };
    let c = log_timing(2.0);
    let mut devs = [
        (log_timing(1.0) - c).abs(),
        0.0,
        (log_timing(10.0) - c).abs(),
    ];
    devs.sort_by(f64::total_cmp);
    let want = (log_timing(5.0) - c).abs() / devs[1];
    assert!(close(score(&log, &e, &[5.0]), want));
    // log_timing is odd and ln(1 + |x| / 50 ms).
    assert!(close(log_timing(0.05), 2f64.ln()));
    assert!(close(log_timing(-0.05), -(2f64.ln())));
}

#[test]
fn zero_mad_falls_back_to_the_mean_deviation() {
    // Three of four equal (a coarse timer): MAD 0, mean |x − median| = 4 / 4 = 1.
    let e = samples(&[&[2.0], &[2.0], &[2.0], &[6.0]]);
    let plain = RobustManhattan { log_timings: false };
    assert!(close(score(&plain, &e, &[5.0]), 3.0));
}

#[test]
fn recent_window_fits_on_the_latest_samples_only() {
    // 50 old repetitions at 100 s, then 100 recent ones alternating 1 and 3: median 2 (mean
    // of 1 and 3), MAD 1.
    let mut e = Samples::new(1);
    for _ in 0..50 {
        e.push(&[100.0]);
    }
    for i in 0..detector::RECENT_WINDOW {
        e.push(&[if i % 2 == 0 { 1.0 } else { 3.0 }]);
    }
    let recent = detector::Recent::new("r", Box::new(RobustManhattan { log_timings: false }));
    assert!(close(score(&recent, &e, &[2.0]), 0.0));
    assert!(close(score(&recent, &e, &[6.0]), 4.0));
}

#[test]
fn every_detector_scores_a_typical_sample_below_a_foreign_one() {
    // Subject: 40 reps around (0.1, 0.2, 0.1) with a fixed ±10 ms pattern; stranger 0.1 s off.
    let mut e = Samples::new(3);
    for i in 0..40 {
        let j = [(i % 5) as f64, (i % 3) as f64, (i % 7) as f64];
        e.push(&[0.1 + 0.005 * j[0], 0.2 + 0.005 * j[1], 0.1 + 0.003 * j[2]]);
    }
    let typical = [0.11, 0.205, 0.109];
    let foreign = [0.2, 0.3, 0.2];
    let mut scratch = Scratch::new();
    for d in detectors() {
        let t: Box<dyn Template> = d.fit(&e).expect("fit");
        let a = t.score(&typical, &mut scratch).expect("typical");
        let b = t.score(&foreign, &mut scratch).expect("foreign");
        assert!(a < b, "{}: typical {a} !< foreign {b}", d.name());
    }
}

#[test]
fn wrong_length_and_too_few_samples_are_errors() {
    let e = samples(&[&[1.0, 2.0], &[2.0, 3.0]]);
    let t = ScaledManhattan.fit(&e).expect("fit");
    let err = t.score(&[1.0], &mut Scratch::new()).expect_err("short");
    assert_eq!(err.to_string(), "sample has 1 timings, template expects 2");
    let one = samples(&[&[1.0, 2.0]]);
    let err = Mahalanobis.fit(&one).expect_err("one sample");
    assert!(matches!(
        err,
        KeystrokeError::EnrolmentTooSmall {
            needed: 2,
            got: 1,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "mahalanobis: needs at least 2 enrolment samples, got 1"
    );
}
