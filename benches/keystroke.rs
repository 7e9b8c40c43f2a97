//! Verifying one typed sample against a stored template: the best detector
//! (`manhattan-robust-log-recent`) and, for comparison, scaled Manhattan and nearest-neighbour
//! Mahalanobis, each fitted on the first CMU subject's 200 enrolment repetitions. Fitting and
//! the sample are prepared outside `iter`; no randomness.
//!
//! Run: `cargo bench --bench keystroke` (needs `../shared/data/keystroke/`).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

use tessera::keystroke::{Detector, Scratch, data, detector, detectors};

const CMU: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/keystroke/DSL-StrongPasswordData.csv"
);

fn verify(c: &mut Criterion) {
    let d = data::load(std::path::Path::new(CMU)).expect("CMU data (../shared/data/keystroke)");
    let subject = d.subjects.first().expect("a subject");
    let enrol = subject.samples.slice(0..200);
    let sample = subject.samples.row(250).expect("row 250").to_vec();
    let best = detector::best();
    let mut chosen: Vec<Box<dyn Detector>> = vec![Box::new(best)];
    chosen.extend(
        detectors()
            .into_iter()
            .filter(|d| matches!(d.name(), "manhattan-scaled" | "nn-mahalanobis")),
    );
    for det in &chosen {
        let template = det.fit(&enrol).expect("fit");
        let mut scratch = Scratch::new();
        c.bench_function(&format!("keystroke verify {}", det.name()), |b| {
            b.iter(|| template.anomaly(black_box(&sample), &mut scratch))
        });
    }
    let best = detector::best();
    c.bench_function(
        "keystroke fit manhattan-robust-log-recent (200 reps)",
        |b| b.iter(|| best.fit(black_box(&enrol))),
    );
}

/// The engine's free-text verifier: a 40-key chat message (entries named by keyed hash) against
/// a profile enrolled from 30 messages of the same person, as `score()` does it.
fn verify_digraphs(c: &mut Criterion) {
    use rand::SeedableRng;
    use tessera::gen_data::typing::Rhythm;
    use tessera::keystroke::digraph::{DigraphProfile, DigraphSample, TypingKey};
    let key = TypingKey::new([9; 16]);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let person = Rhythm::sample(&mut rng);
    let mut profile = DigraphProfile::default();
    for _ in 0..30 {
        profile.enroll(
            &DigraphSample::from_events(&person.type_message(&mut rng), &key),
            0.1,
        );
    }
    let events = loop {
        let m = person.type_message(&mut rng);
        if m.len() >= 40 {
            break m;
        }
    };
    let sample = DigraphSample::from_events(&events, &key);
    c.bench_function("typing digraphs: sample from 40+ key events", |b| {
        b.iter(|| DigraphSample::from_events(black_box(&events), &key))
    });
    c.bench_function(
        "typing digraphs: verify against a 30-message profile",
        |b| b.iter(|| profile.verify(black_box(&sample))),
    );
}

/// The engine's free-text verifier (issue 13): a 40+ key chat message turned into hold and
/// up-down entries, and scored against a profile enrolled from 30 messages of the same person
/// under the builtin background (factor-prior LLR, r = 8).
fn verify_factor(c: &mut Criterion) {
    use rand::SeedableRng;
    use tessera::gen_data::typing::Rhythm;
    use tessera::keystroke::digraph::TypingKey;
    use tessera::keystroke::verifier::{Background, TypingProfile, TypingSample};
    let key = TypingKey::new([9; 16]);
    let bg = Background::builtin(&key);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let person = Rhythm::sample(&mut rng);
    let mut profile = TypingProfile::default();
    for _ in 0..30 {
        profile.enroll(
            &TypingSample::from_events(&person.type_message(&mut rng), &key),
            &bg,
        );
    }
    let events = loop {
        let m = person.type_message(&mut rng);
        if m.len() >= 40 {
            break m;
        }
    };
    let sample = TypingSample::from_events(&events, &key);
    c.bench_function("typing factor: sample from 40+ key events", |b| {
        b.iter(|| TypingSample::from_events(black_box(&events), &key))
    });
    c.bench_function("typing factor: verify against a 30-message profile", |b| {
        b.iter(|| profile.verify(black_box(&sample), &bg))
    });
    c.bench_function(
        "typing factor: enrol one message (30-message profile)",
        |b| {
            b.iter(|| {
                let mut p = profile.clone();
                p.enroll(black_box(&sample), &bg);
                p
            })
        },
    );
}

criterion_group!(benches, verify, verify_digraphs, verify_factor);
criterion_main!(benches);
