//! Known answers of the free-text protocol: metrics on hand-made scores, the seeded draw, and a
//! small synthetic population run end to end through the current verifier.

use super::*;
use crate::keystroke::free_data::FreeUser;

#[test]
fn eer_and_fnmr_of_a_hand_made_score_set() {
    // Accepting distances ≤ 0.35 rejects 0.4 (1 of 4 genuine) and accepts 0.35 (1 of 4
    // impostors): the rates cross at 25 %.
    let g = [0.1, 0.2, 0.3, 0.4];
    let i = [0.35, 0.5, 0.6, 0.7];
    assert!((equal_error_rate(&g, &i).expect("eer") - 0.25).abs() < 1e-12);
    // Perfectly separated: 0; fully inverted: 1.
    assert_eq!(equal_error_rate(&[0.1, 0.2], &[0.3, 0.4]), Some(0.0));
    assert_eq!(equal_error_rate(&[0.3, 0.4], &[0.1, 0.2]), Some(1.0));
    // 100 impostors 1..=100: 1 % FMR accepts distances ≤ 1, rejecting 2 and 3 of 4 genuine.
    let imp: Vec<f64> = (1..=100).map(f64::from).collect();
    assert_eq!(fnmr_at_fmr(&[0.5, 1.0, 2.0, 3.0], &imp, 0.01), Some(0.5));
    // Under 100 impostors, 1 % accepts nothing.
    assert_eq!(fnmr_at_fmr(&[0.5, 1.0], &imp[..50], 0.01), Some(1.0));
    assert_eq!(fnmr_at_fmr(&[], &imp, 0.01), None);
}

#[test]
fn the_impostor_draw_is_deterministic_and_stays_in_the_fold() {
    let a = Protocol::new(646, FOLDS, IMPOSTORS, SEED);
    assert_eq!(a, Protocol::new(646, FOLDS, IMPOSTORS, SEED));
    assert_ne!(a, Protocol::new(646, FOLDS, IMPOSTORS, SEED + 1));
    for k in 0..FOLDS {
        let n = a.fold_users(k).len();
        assert!(n == 161 || n == 162, "fold {k}: {n}");
    }
    for (u, imp) in a.impostors.iter().enumerate() {
        assert_eq!(imp.len(), IMPOSTORS);
        assert!(imp.windows(2).all(|w| w[0] < w[1]), "sorted and distinct");
        assert!(imp.iter().all(|&v| v != u && a.fold[v] == a.fold[u]));
    }
    // A fold smaller than the draw gives every other member.
    let small = Protocol::new(9, 3, IMPOSTORS, SEED);
    assert!(small.impostors.iter().all(|i| i.len() == 2));
}

/// A typist: a fixed per-key hold and per-pair gap (ms), plus small jitter.
fn person(id: u64, speed: f64) -> FreeUser {
    let text = "the quick brown fox jumps over the lazy dog and then some";
    let mut jitter = rand_chacha::ChaCha8Rng::seed_from_u64(id);
    let sentences = (0..15)
        .map(|_| {
            let mut down = 0.0;
            text.chars()
                .enumerate()
                .map(|(i, c)| {
                    let j: f64 = rand::Rng::gen_range(&mut jitter, -5.0..5.0);
                    let base = speed * (60.0 + 11.0 * ((c as u32 as f64 * speed) % 7.0));
                    if i > 0 {
                        down += base * 1.5 + j;
                    }
                    KeyEvent {
                        key: Some(c.to_string()),
                        down_ms: down,
                        up_ms: down + base + j,
                    }
                })
                .collect()
        })
        .collect();
    FreeUser { id, sentences }
}

#[test]
fn distinct_synthetic_typists_are_told_apart() {
    let data = FreeText {
        users: (0..8).map(|u| person(u, 1.0 + 0.15 * u as f64)).collect(),
    };
    let report = evaluate(&data, false, |_| {
        Ok::<_, ()>(DigraphVerifier {
            key: TypingKey::new([3; 16]),
            min_weight: 0.1,
        })
    })
    .expect("evaluate");
    assert_eq!(report.subjects, 8);
    let e1 = &report.results[0];
    // One enrolled sample: no entry is seen twice, so the current verifier refuses all.
    assert_eq!((e1.enrol, e1.insufficient_share), (1, 1.0));
    assert_eq!(e1.eer_global, None);
    let e5 = &report.results[2];
    assert_eq!((e5.enrol, e5.insufficient_share), (5, 0.0));
    assert_eq!(e5.eer_global, Some(0.0));
    assert_eq!(e5.eer_mean, Some(0.0));
    assert_eq!(e5.by_length[2].keys, "50+");
    assert_eq!(e5.by_length[2].eer_global, Some(0.0));
    assert_eq!(e5.by_length[0].eer_global, None);
}
