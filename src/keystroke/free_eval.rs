//! The free-text verification protocol of issue 13 (TypeNet's and the KVC's, on the Aalto
//! development split): per user, enrol on the first E sentences (E = 1, 2, 5, 10), query with the
//! last [`GENUINE_QUERIES`] sentences, and with the last [`GENUINE_QUERIES`] sentences of
//! [`IMPOSTORS`] other users drawn with a fixed seed from the user's own fold ([`Protocol`]).
//! Users are split into [`FOLDS`] folds; a verifier that learns from data (a population
//! background) is fitted on the other folds' users when cross-validating, so it never sees the
//! evaluated user nor that user's impostors.
//!
//! It runs the engine's own verifier through [`FreeTextVerifier`]: the adapters here call the same
//! sample, enrol and verify code that `score` and `record_outcome` call. Offline path only (rayon
//! over users); no store, no I/O.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use serde::Serialize;

use super::digraph::{DigraphProfile, DigraphSample, TypingKey, Verdict};
use super::free_data::FreeText;
use super::metrics::equal_error_rate;
use super::verifier::{self, Background, TypingProfile, TypingSample};
use crate::domain::KeyEvent;

/// Enrolment sizes (sentences) reported.
pub const ENROL_SIZES: [usize; 4] = [1, 2, 5, 10];
/// Genuine queries per user: the user's last sentences.
pub const GENUINE_QUERIES: usize = 5;
/// Impostor users per user, each contributing their last [`GENUINE_QUERIES`] sentences.
pub const IMPOSTORS: usize = 100;
/// Folds by user.
pub const FOLDS: usize = 4;
/// Seed of the fold split and the impostor draw.
pub const SEED: u64 = 13;
/// Query-length bands (key events, inclusive lower, exclusive upper) of the EER by length.
pub const LENGTH_BANDS: [(&str, usize, usize); 3] = [
    ("20-34", 20, 35),
    ("35-49", 35, 50),
    ("50+", 50, usize::MAX),
];

/// A free-text verifier as the protocol drives it.
pub trait FreeTextVerifier: Sync {
    /// One message's comparable form.
    type Sample: Send + Sync;
    /// A user's enrolled profile.
    type Profile;
    /// The sample of one message's key events.
    fn sample(&self, events: &[KeyEvent]) -> Self::Sample;
    /// A profile enrolled from these samples, in order.
    fn enrol(&self, samples: &[&Self::Sample]) -> Self::Profile;
    /// Distance of a sample from a profile (lower = more like the user); `None` when the
    /// verifier refuses to judge (insufficient).
    fn score(&self, profile: &Self::Profile, sample: &Self::Sample) -> Option<f64>;
}

/// The current engine's verifier ([`DigraphProfile`]) with the store's enrolment weight.
pub struct DigraphVerifier {
    /// Entry names.
    pub key: TypingKey,
    /// Smallest EWMA weight (the store's `template_min_weight`).
    pub min_weight: f32,
}

impl FreeTextVerifier for DigraphVerifier {
    type Sample = DigraphSample;
    type Profile = DigraphProfile;
    fn sample(&self, events: &[KeyEvent]) -> DigraphSample {
        DigraphSample::from_events(events, &self.key)
    }
    fn enrol(&self, samples: &[&DigraphSample]) -> DigraphProfile {
        let mut p = DigraphProfile::default();
        for s in samples {
            p.enroll(s, self.min_weight);
        }
        p
    }
    fn score(&self, p: &DigraphProfile, s: &DigraphSample) -> Option<f64> {
        match p.verify(s) {
            Verdict::Distance { distance, .. } => Some(f64::from(distance)),
            Verdict::Insufficient { .. } => None,
        }
    }
}

/// The engine's free-text verifier ([`TypingProfile`] against a population [`Background`]).
pub struct FactorVerifier {
    /// Entry names.
    pub key: TypingKey,
    /// Population background, under `key`'s names.
    pub background: Background,
}

impl FreeTextVerifier for FactorVerifier {
    type Sample = TypingSample;
    type Profile = TypingProfile;
    fn sample(&self, events: &[KeyEvent]) -> TypingSample {
        TypingSample::from_events(events, &self.key)
    }
    fn enrol(&self, samples: &[&TypingSample]) -> TypingProfile {
        let mut p = TypingProfile::default();
        for s in samples {
            p.enroll(s, &self.background);
        }
        p
    }
    fn score(&self, p: &TypingProfile, s: &TypingSample) -> Option<f64> {
        match p.verify(s, &self.background) {
            verifier::Verdict::Score { distance, .. } => Some(f64::from(distance)),
            verifier::Verdict::Insufficient { .. } => None,
        }
    }
}

/// Folds and impostor draws of one data set.
#[derive(Debug, Clone, PartialEq)]
pub struct Protocol {
    /// Fold of each user (index into the data's users).
    pub fold: Vec<usize>,
    /// Impostor users of each user, ascending, from the same fold.
    pub impostors: Vec<Vec<usize>>,
}

impl Protocol {
    /// Random folds (a seeded permutation dealt round-robin) and, per user in order, up to
    /// `n_impostors` distinct other users of the same fold.
    pub fn new(n_users: usize, folds: usize, n_impostors: usize, seed: u64) -> Protocol {
        let folds = folds.max(1);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut perm: Vec<usize> = (0..n_users).collect();
        perm.shuffle(&mut rng);
        let mut fold = vec![0; n_users];
        for (j, &u) in perm.iter().enumerate() {
            fold[u] = j % folds;
        }
        let impostors = (0..n_users)
            .map(|u| {
                let pool: Vec<usize> = (0..n_users)
                    .filter(|&v| v != u && fold[v] == fold[u])
                    .collect();
                let k = n_impostors.min(pool.len());
                let mut pick: Vec<usize> = rand::seq::index::sample(&mut rng, pool.len(), k)
                    .into_iter()
                    .map(|i| pool[i])
                    .collect();
                pick.sort_unstable();
                pick
            })
            .collect();
        Protocol { fold, impostors }
    }

    /// Users of fold `k`, ascending.
    pub fn fold_users(&self, k: usize) -> Vec<usize> {
        (0..self.fold.len())
            .filter(|&u| self.fold[u] == k)
            .collect()
    }
}

/// Figures of one enrolment size. Rates are fractions (0–1); `None` when nothing was scored.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EnrolResult {
    /// Enrolment sentences.
    pub enrol: usize,
    /// Mean over users of the per-user EER.
    pub eer_mean: Option<f64>,
    /// EER with one threshold for everyone.
    pub eer_global: Option<f64>,
    /// Global false non-match rate at the threshold where the false match rate is ≤ 1 %.
    pub fnmr_at_fmr_1pct: Option<f64>,
    /// Share of queries (genuine and impostor) the verifier refused to judge.
    pub insufficient_share: f64,
    /// Global EER by query length.
    pub by_length: Vec<LengthResult>,
}

/// Global EER over the queries of one length band.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LengthResult {
    /// Key events of the query, e.g. `20-34`.
    pub keys: &'static str,
    /// EER over those queries.
    pub eer_global: Option<f64>,
}

/// The whole evaluation.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FreeEvalReport {
    /// Users evaluated.
    pub subjects: usize,
    /// One entry per enrolment size.
    pub results: Vec<EnrolResult>,
}

/// One query's distance (`None`: insufficient) and its length in key events.
type Scored = (Option<f64>, usize);

/// Scores of one user at one enrolment size.
#[derive(Debug, Default)]
struct UserScores {
    genuine: Vec<Scored>,
    impostor: Vec<Scored>,
}

fn last(sentences: &[Vec<KeyEvent>], n: usize) -> std::ops::Range<usize> {
    sentences.len().saturating_sub(n)..sentences.len()
}

/// Scores of `users` (indices into `data.users`) at each of `sizes` with one verifier: one
/// entry per size, one `UserScores` per user that has enough sentences for that size.
fn score_users<V: FreeTextVerifier>(
    data: &FreeText,
    proto: &Protocol,
    users: &[usize],
    verifier: &V,
    sizes: &[usize],
) -> Vec<Vec<UserScores>> {
    let samples: Vec<Vec<V::Sample>> = data
        .users
        .par_iter()
        .map(|u| u.sentences.iter().map(|s| verifier.sample(s)).collect())
        .collect();
    let per_user: Vec<Vec<Option<UserScores>>> = users
        .par_iter()
        .map(|&u| {
            let sents = &data.users[u].sentences;
            let queries = last(sents, GENUINE_QUERIES);
            let mut imp: Vec<(&V::Sample, usize)> = Vec::new();
            for &v in &proto.impostors[u] {
                let other = &data.users[v].sentences;
                for q in last(other, GENUINE_QUERIES) {
                    imp.push((&samples[v][q], other[q].len()));
                }
            }
            sizes
                .iter()
                .map(|&e| {
                    if e == 0 || e > queries.start {
                        return None;
                    }
                    let enrol: Vec<&V::Sample> = samples[u][..e].iter().collect();
                    let p = verifier.enrol(&enrol);
                    Some(UserScores {
                        genuine: queries
                            .clone()
                            .map(|q| (verifier.score(&p, &samples[u][q]), sents[q].len()))
                            .collect(),
                        impostor: imp
                            .iter()
                            .map(|&(s, keys)| (verifier.score(&p, s), keys))
                            .collect(),
                    })
                })
                .collect()
        })
        .collect();
    let mut out: Vec<Vec<UserScores>> = sizes.iter().map(|_| Vec::new()).collect();
    for user in per_user {
        for (size, s) in out.iter_mut().zip(user) {
            size.extend(s);
        }
    }
    out
}

/// Runs the protocol. With `cross_validate`, `make` is called once per fold with the users of
/// the other folds (to fit on) and the fold's users are evaluated with the verifier it returns;
/// otherwise `make` is called once with no users and every user is evaluated.
pub fn evaluate<V, F, E>(
    data: &FreeText,
    cross_validate: bool,
    mut make: F,
) -> Result<FreeEvalReport, E>
where
    V: FreeTextVerifier,
    F: FnMut(&[usize]) -> Result<V, E>,
{
    let proto = Protocol::new(data.users.len(), FOLDS, IMPOSTORS, SEED);
    let mut scores: Vec<Vec<UserScores>> = ENROL_SIZES.iter().map(|_| Vec::new()).collect();
    let mut add = |s: Vec<Vec<UserScores>>| {
        for (all, part) in scores.iter_mut().zip(s) {
            all.extend(part);
        }
    };
    if cross_validate {
        for k in 0..FOLDS {
            let train: Vec<usize> = (0..data.users.len())
                .filter(|&u| proto.fold[u] != k)
                .collect();
            let verifier = make(&train)?;
            add(score_users(
                data,
                &proto,
                &proto.fold_users(k),
                &verifier,
                &ENROL_SIZES,
            ));
        }
    } else {
        let verifier = make(&[])?;
        let all: Vec<usize> = (0..data.users.len()).collect();
        add(score_users(data, &proto, &all, &verifier, &ENROL_SIZES));
    }
    let subjects = scores.iter().map(Vec::len).max().unwrap_or(0);
    Ok(FreeEvalReport {
        subjects,
        results: ENROL_SIZES
            .iter()
            .zip(&scores)
            .map(|(&e, s)| summarise(e, s))
            .collect(),
    })
}

fn scored(q: &[Scored], band: (usize, usize)) -> Vec<f64> {
    q.iter()
        .filter(|(_, k)| *k >= band.0 && *k < band.1)
        .filter_map(|(d, _)| *d)
        .collect()
}

fn summarise(enrol: usize, users: &[UserScores]) -> EnrolResult {
    let all = (0, usize::MAX);
    let per_user: Vec<f64> = users
        .iter()
        .filter_map(|u| equal_error_rate(&scored(&u.genuine, all), &scored(&u.impostor, all)))
        .collect();
    let pool = |band: (usize, usize)| {
        let g: Vec<f64> = users
            .iter()
            .flat_map(|u| scored(&u.genuine, band))
            .collect();
        let i: Vec<f64> = users
            .iter()
            .flat_map(|u| scored(&u.impostor, band))
            .collect();
        (g, i)
    };
    let (g, i) = pool(all);
    let total: usize = users
        .iter()
        .map(|u| u.genuine.len() + u.impostor.len())
        .sum();
    let refused: usize = users
        .iter()
        .flat_map(|u| u.genuine.iter().chain(&u.impostor))
        .filter(|(d, _)| d.is_none())
        .count();
    EnrolResult {
        enrol,
        eer_mean: (!per_user.is_empty())
            .then(|| per_user.iter().sum::<f64>() / per_user.len() as f64),
        eer_global: equal_error_rate(&g, &i),
        fnmr_at_fmr_1pct: fnmr_at_fmr(&g, &i, 0.01),
        insufficient_share: if total == 0 {
            0.0
        } else {
            refused as f64 / total as f64
        },
        by_length: LENGTH_BANDS
            .iter()
            .map(|&(keys, lo, hi)| {
                let (g, i) = pool((lo, hi));
                LengthResult {
                    keys,
                    eer_global: equal_error_rate(&g, &i),
                }
            })
            .collect(),
    }
}

/// Share of genuine distances rejected at the largest threshold that accepts (distance ≤
/// threshold) at most `fmr` of the impostors: the ⌊fmr · n⌋-th lowest impostor distance, or
/// nothing accepted when that is 0. `None` when either list is empty.
pub fn fnmr_at_fmr(genuine: &[f64], impostor: &[f64], fmr: f64) -> Option<f64> {
    if genuine.is_empty() || impostor.is_empty() {
        return None;
    }
    let mut imp = impostor.to_vec();
    imp.sort_unstable_by(f64::total_cmp);
    let k = (fmr * imp.len() as f64).floor() as usize;
    let threshold = match k.checked_sub(1) {
        Some(j) => imp[j.min(imp.len() - 1)],
        None => f64::NEG_INFINITY,
    };
    let rejected = genuine.iter().filter(|&&d| d > threshold).count();
    Some(rejected as f64 / genuine.len() as f64)
}

#[cfg(test)]
#[path = "free_eval_tests.rs"]
mod tests;
