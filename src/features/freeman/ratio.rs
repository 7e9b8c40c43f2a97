//! The smoothed likelihood ratio of one attribute level (Freeman et al., NDSS 2016, §III): how
//! much more likely the population (standing in for an attacker, who does not know the user)
//! is to show this value than the user is, given the parent value both share.
//!
//! With the user's decayed counts `c_v` (this value) and `c_p` (its parent; the user's total at
//! the root) and the tenant's `C_v`, `C_p` over verified events:
//!
//! - population share `q = max(C_v, 1) / (C_p + 1)`: the frequency, with one pseudo-event kept
//!   for a value not seen yet (so a value the population never verified has `1 / (C_p + 1)`,
//!   and nothing known at all gives `q = 1`);
//! - user share `p = (c_v + α·q) / (c_p + α)`: the user's frequency smoothed toward the
//!   population by `α` = [`ALPHA`] pseudo-events (additive smoothing with the population as the
//!   prior, so a user with no history is the population, `p = q`);
//! - ratio `q / p`, reported as its natural log.
//!
//! Backing off is in the nesting: a level is conditioned on its parent, so for a value whose
//! parent the user never used (`c_p = 0`) the ratio is 1 and the surprise is charged once, at
//! the first level the user does not know. A value unseen under a known parent gets
//! `q / p = (c_p + α) / α` whatever its population share. The levels of one attribute add up
//! to the log ratio of the whole chain (country, then AS within it, …), so the attributes do
//! not count the same surprise twice.

/// Strength of the smoothing toward the population, in pseudo-events.
pub const ALPHA: f64 = 1.0;

/// Population share of a value given its parent (see the module doc).
pub fn population_share(value: f64, parent: f64) -> f64 {
    let parent = parent.max(0.0);
    let value = value.clamp(0.0, parent);
    value.max(1.0).min(parent + 1.0) / (parent + 1.0)
}

/// The user's smoothed share of a value given its parent, toward population share `q`.
pub fn user_share(value: f64, parent: f64, q: f64) -> f64 {
    let parent = parent.max(0.0);
    let value = value.clamp(0.0, parent);
    (value + ALPHA * q) / (parent + ALPHA)
}

/// `ln(q / p)` for one level: positive when the value is more typical of the population than
/// of this user, negative when it is the user's own, 0 without history.
pub fn level_llr(user_value: f64, user_parent: f64, pop_value: f64, pop_parent: f64) -> f64 {
    let q = population_share(pop_value, pop_parent);
    (q / user_share(user_value, user_parent, q)).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nine_logins_from_france_and_one_from_germany() {
        // The tenant verified 100 events: FR 60, DE 30, JP 10 (the user's ten included).
        let (n_user, n_pop) = (10.0, 100.0);
        let fr = level_llr(9.0, n_user, 60.0, n_pop);
        let de = level_llr(1.0, n_user, 30.0, n_pop);
        let jp = level_llr(0.0, n_user, 10.0, n_pop);
        // FR: q = 60/101, p = (9 + 60/101)/11, q/p = 660/969.
        assert!((fr - (660.0f64 / 969.0).ln()).abs() < 1e-12);
        assert!((fr - -0.384_024_8).abs() < 1e-6, "{fr}");
        // DE, seen once in ten by the user but three in ten by everyone: 330/131.
        assert!((de - (330.0f64 / 131.0).ln()).abs() < 1e-12);
        assert!((de - 0.923_895_3).abs() < 1e-6, "{de}");
        // JP, never seen by the user: (10 + 1)/1 = 11, whatever its population share.
        assert!((jp - 11f64.ln()).abs() < 1e-12);
        assert!((level_llr(0.0, n_user, 0.0, n_pop) - 11f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn no_history_is_the_population_and_an_unknown_parent_charges_nothing() {
        for (v, p) in [(0.0, 0.0), (5.0, 100.0), (100.0, 100.0)] {
            assert!(level_llr(0.0, 0.0, v, p).abs() < 1e-12, "no user history");
        }
        // Nothing known anywhere: ratio 1.
        assert!(level_llr(0.0, 0.0, 0.0, 0.0).abs() < 1e-12);
        // A user who always logs in from a value only they use: strong evidence for them.
        let own = level_llr(50.0, 50.0, 50.0, 10_000.0);
        assert!((own - (50.0f64 / 10_001.0 * 51.0 / (50.0 + 50.0 / 10_001.0)).ln()).abs() < 1e-12);
        assert!(own < -5.0, "{own}");
        // Counts out of order (decay, eviction) are clamped, never a NaN or a share above 1.
        let odd = level_llr(7.0, 3.0, 9.0, 2.0);
        assert!(odd.is_finite() && population_share(9.0, 2.0) <= 1.0);
    }
}
