//! The engine's write paths other than scoring: verified outcomes (the only way profiles
//! learn), and the admin operations on one user (export, erasure), each inside one tenant.
//!
//! An outcome is bound to the answer it verifies: it names the request id and user of a scored
//! request of the same tenant and, live, echoes that answer's receipt; it takes effect once per
//! (request, outcome kind), and a replay answers as the first did and changes nothing. Live,
//! the outcome's time is the server's receive time (its `timestamp` is only recorded), so it
//! cannot be back-dated into an old request's window.

use super::{Engine, now_ms};
use crate::domain::{Clock, InputError, OutcomeRecord, Tenant};
use crate::error::Error;
use crate::privacy::IdKind;
use crate::store::{self, Applied, OutcomeEffect, OutcomeInput, OutcomeRejection};

/// [`store::check_outcome`] or [`store::apply_outcome`].
type StoreOutcomeOp = fn(
    &dyn store::ProfileStore,
    &OutcomeInput,
    &store::LearnConfig,
) -> Result<Result<Applied, OutcomeRejection>, store::StoreError>;

impl Engine {
    /// Applies a verified outcome of the default tenant in offline replay (its own timestamp is
    /// its time; a receipt is checked when present). The only way profiles change.
    pub fn record_outcome(&self, rec: &OutcomeRecord) -> Result<OutcomeEffect, Error> {
        let input = self.prepare_outcome(rec)?;
        self.finish_outcome(&input)
    }

    /// The first half of [`Engine::record_outcome`]: checks the outcome's fields and
    /// pseudonymises its ids, without the store. Pure, so a replay may prepare many outcomes
    /// at once, ahead of time, as long as it finishes them in time order.
    pub fn prepare_outcome(&self, rec: &OutcomeRecord) -> Result<OutcomeInput, Error> {
        self.outcome_input(&Tenant::default(), rec, Clock::Replay(now_ms()))
    }

    /// The second half of [`Engine::record_outcome`]: applies a prepared outcome to the store.
    pub fn finish_outcome(&self, input: &OutcomeInput) -> Result<OutcomeEffect, Error> {
        refusal(store::apply_outcome(
            self.store.as_ref(),
            input,
            &self.learn,
        )?)
        .map(|a| a.effect)
    }

    /// What applying `rec` would do now, without changing anything: the refusal it would get,
    /// or its effect and whether it is a replay. The server checks first, writes the audit
    /// record and label line, then applies (which checks again).
    pub fn check_outcome(
        &self,
        tenant: &Tenant,
        rec: &OutcomeRecord,
        clock: Clock,
    ) -> Result<Applied, Error> {
        self.outcome_with(tenant, rec, clock, store::check_outcome)
    }

    /// Applies a verified outcome of `tenant` to the request it names (see the module doc).
    /// Errors name the field: an unknown or expired `request_id` ([`Error::NotFound`]), a
    /// `user_id` that is not the scored request's or a receipt that is not its answer's
    /// ([`Error::Conflict`]), a missing or malformed `receipt` ([`Error::Input`]).
    pub fn apply_outcome(
        &self,
        tenant: &Tenant,
        rec: &OutcomeRecord,
        clock: Clock,
    ) -> Result<Applied, Error> {
        self.outcome_with(tenant, rec, clock, store::apply_outcome)
    }

    /// Checks `rec`, runs `op` (check or apply) on the store, names the field of a refusal.
    fn outcome_with(
        &self,
        tenant: &Tenant,
        rec: &OutcomeRecord,
        clock: Clock,
        op: StoreOutcomeOp,
    ) -> Result<Applied, Error> {
        let input = self.outcome_input(tenant, rec, clock)?;
        refusal(op(self.store.as_ref(), &input, &self.learn)?)
    }

    /// Checks an outcome's fields and pseudonymises its ids under the tenant's key.
    fn outcome_input(
        &self,
        tenant: &Tenant,
        rec: &OutcomeRecord,
        clock: Clock,
    ) -> Result<OutcomeInput, Error> {
        let at_ms = match clock {
            Clock::Replay(now) => {
                let claimed_ms =
                    crate::domain::validate::parse_timestamp("timestamp", &rec.timestamp)?;
                if claimed_ms > now.saturating_add(self.limits.max_future_skew_ms) {
                    return Err(InputError::invalid("timestamp", "is in the future").into());
                }
                claimed_ms
            }
            Clock::Live(received) => {
                // Only recorded: the outcome happens at the receive time.
                crate::domain::validate::parse_rfc3339("timestamp", &rec.timestamp)?;
                received
            }
        };
        let max = self.limits.max_id_len;
        for (field, id) in [("request_id", &rec.request_id), ("user_id", &rec.user_id)] {
            if id.is_empty() || id.chars().count() > max {
                return Err(
                    InputError::invalid(field, format!("must be 1–{max} characters")).into(),
                );
            }
        }
        let receipt = match (&rec.receipt, clock) {
            (Some(r), _) => Some(parse_receipt(r)?),
            (None, Clock::Live(_)) => {
                return Err(InputError::invalid(
                    "receipt",
                    "required: echo the `receipt` of the score answer this outcome verifies",
                )
                .into());
            }
            (None, Clock::Replay(_)) => None,
        };
        let pseudo = self.pseudo.for_tenant(tenant);
        Ok(OutcomeInput {
            request: pseudo.id(IdKind::Request, &rec.request_id),
            user: pseudo.id(IdKind::User, &rec.user_id),
            outcome: rec.outcome,
            at_ms,
            receipt,
        })
    }

    /// Keyed-hash pseudonym of a default-tenant user id (for logs and the audit trail).
    pub fn user_pseudonym(&self, user_id: &str) -> crate::privacy::Pseudonym {
        self.user_pseudonym_in(&Tenant::default(), user_id)
    }

    /// Keyed-hash pseudonym of a user id of `tenant` (for logs and the audit trail; never the
    /// raw id).
    pub fn user_pseudonym_in(&self, tenant: &Tenant, user_id: &str) -> crate::privacy::Pseudonym {
        self.pseudo.for_tenant(tenant).id(IdKind::User, user_id)
    }

    /// Keyed-hash pseudonym of a device id of `tenant` (for the audit trail; never the raw
    /// id): the same one the store keys the device's activity by.
    pub fn device_pseudonym_in(
        &self,
        tenant: &Tenant,
        device_id: &str,
    ) -> crate::privacy::Pseudonym {
        self.pseudo.for_tenant(tenant).id(IdKind::Device, device_id)
    }

    /// What the store holds about a default-tenant `user_id` (data-subject export).
    pub fn export_profile(&self, user_id: &str) -> Result<Option<store::ProfileExport>, Error> {
        self.export_profile_in(&Tenant::default(), user_id)
    }

    /// What the store holds about `user_id` of `tenant`; `None` when nothing. Another
    /// tenant's user of the same id is another person and is never reached.
    pub fn export_profile_in(
        &self,
        tenant: &Tenant,
        user_id: &str,
    ) -> Result<Option<store::ProfileExport>, Error> {
        let user = self.user_pseudonym_in(tenant, user_id);
        Ok(store::export_profile(self.store.as_ref(), &user, now_ms())?)
    }

    /// Erases everything the store holds about a default-tenant `user_id`.
    pub fn erase_user(&self, user_id: &str) -> Result<store::Erasure, Error> {
        self.erase_user_in(&Tenant::default(), user_id)
    }

    /// Erases everything the store holds about `user_id` of `tenant` (see
    /// [`store::erase_user`]); other tenants' users of the same id are untouched.
    pub fn erase_user_in(&self, tenant: &Tenant, user_id: &str) -> Result<store::Erasure, Error> {
        let user = self.user_pseudonym_in(tenant, user_id);
        Ok(store::erase_user(self.store.as_ref(), &user)?)
    }
}

/// 32 hex digits → 16 bytes.
fn parse_receipt(text: &str) -> Result<[u8; 16], Error> {
    let bad = || InputError::invalid("receipt", "must be 32 hex digits");
    if text.len() != 32 {
        return Err(bad().into());
    }
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        let pair = text.get(2 * i..2 * i + 2).ok_or_else(bad)?;
        *b = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// Turns a store refusal into the error that names its field.
fn refusal(r: Result<Applied, OutcomeRejection>) -> Result<Applied, Error> {
    r.map_err(|why| match why {
        OutcomeRejection::UnknownRequest => Error::NotFound(InputError::invalid(
            "request_id",
            "no scored request with this id (unknown or expired)",
        )),
        OutcomeRejection::BeforeRequest => {
            InputError::invalid("timestamp", "before the scored request it verifies").into()
        }
        OutcomeRejection::UserMismatch => Error::Conflict(InputError::invalid(
            "user_id",
            "does not match the scored request",
        )),
        OutcomeRejection::ReceiptMismatch => Error::Conflict(InputError::invalid(
            "receipt",
            "is not the receipt of the answer to this request",
        )),
    })
}
