//! [`Engine`]: the only place the scoring flow is wired.
//!
//! `score`: validate → enrich (geo DB, IP lists) → the request's own evidence → record it in the
//! activity ledger (velocity counters, seen timing vectors, pending evidence) and read the
//! history snapshot, in one store transaction → [`features::extract`] → fail-secure imputation →
//! model → reasons → policy → response. `score` never writes a profile: only
//! [`Engine::record_outcome`] does, from verified outcomes. [`Engine::erase_user`] and
//! [`Engine::expire`] (the `[retention]` windows) only delete.
//!
//! Nothing here touches axum, tokio or clap.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::config::{Backend, Config};
use crate::domain::{
    Limits, OutcomeRecord, ReasonCode, ScoreRequest, ScoreResponse, ShadowScore, TrustScore,
    ValidRequest,
};
use crate::enrich::{Enricher, GeoSources, IpIntel, Lookup};
use crate::error::Error;
use crate::features::{self, FeatureConfig, FeatureRow, Findings, Inputs, N_FEATURES};
use crate::model::explain;
use crate::model::{Artifact, LinearModel};
use crate::policy::{PolicyContext, PolicyTable};
use crate::privacy::{IdKind, Pseudonymizer};
use crate::store::memory::MemoryStore;
use crate::store::redb::RedbStore;
use crate::store::{
    self, LearnConfig, Observation, OutcomeEffect, OutcomeRejection, PendingEvidence, ProfileStore,
    Retention, SubjectKeys,
};

/// The default model, trained by `tessera train` and committed in `models/`.
pub const BUILTIN_MODEL: &str = include_str!("../models/tessera-lr.json");

/// One model's view of a request (see [`Engine::judge`]).
struct Judged {
    trust: TrustScore,
    found: Vec<explain::Found>,
    codes: Vec<ReasonCode>,
    out: crate::policy::PolicyOutcome,
}

/// The parts an engine is built from.
pub struct Parts {
    /// IP enrichment.
    pub enricher: Enricher,
    /// History and activity.
    pub store: Box<dyn ProfileStore>,
    /// Model.
    pub model: LinearModel,
    /// Policy.
    pub policy: PolicyTable,
    /// Pseudonymiser for ids.
    pub pseudonymizer: Pseudonymizer,
    /// Feature tunables.
    pub features: FeatureConfig,
    /// Request bounds.
    pub limits: Limits,
}

/// The scoring engine. Cheap to share (`Arc<Engine>`); every method takes `&self`.
pub struct Engine {
    enricher: Enricher,
    store: Box<dyn ProfileStore>,
    model: RwLock<Arc<LinearModel>>,
    /// A candidate scored beside the active model, never enforced.
    shadow: RwLock<Option<Arc<LinearModel>>>,
    policy: PolicyTable,
    pseudo: Pseudonymizer,
    features: FeatureConfig,
    limits: Limits,
    learn: LearnConfig,
    retention: Retention,
    typing_key: crate::keystroke::digraph::TypingKey,
    warnings: Vec<String>,
    nonce: u64,
    seq: AtomicU64,
}

/// What assessment of one request produced, before the model (used by offline replay).
#[derive(Debug, Clone)]
pub struct Assessment {
    /// Event time, ms.
    pub at_ms: i64,
    /// Features as extracted (before imputation).
    pub row: FeatureRow,
    /// Findings behind the features.
    pub findings: Findings,
    /// The request id (given or generated).
    pub request_id: String,
    /// IP country, when located.
    pub country: Option<String>,
}

impl Engine {
    /// Builds an engine from a checked configuration: opens geo sources, the store, the key,
    /// the model and the policy. Unavailable geo sources are warnings (see [`Engine::warnings`]),
    /// not errors: scoring treats them as `geo_unavailable`.
    pub fn from_config(cfg: &Config) -> Result<Engine, Error> {
        Engine::build(cfg, None)
    }

    /// Like [`Engine::from_config`], with `key` as the pseudonymisation secret instead of the
    /// configured (or, for the memory store, random) one. Offline replay uses a fixed key so
    /// that training is reproducible: where keyed-hash names decide an order (which typing
    /// entries a full profile keeps), it then falls the same way on every run.
    pub fn from_config_with_key(cfg: &Config, key: Pseudonymizer) -> Result<Engine, Error> {
        Engine::build(cfg, Some(key))
    }

    fn build(cfg: &Config, key: Option<Pseudonymizer>) -> Result<Engine, Error> {
        let source = |s: &str| (!s.trim().is_empty()).then(|| s.to_string());
        let sources = GeoSources {
            city: source(&cfg.geo.city),
            asn: source(&cfg.geo.asn),
            anonymous_ip: source(&cfg.geo.anonymous_ip),
        };
        let (enricher, warnings) = Enricher::open(&sources, &cfg.lists.block, &cfg.lists.allow)?;
        let (store, pseudonymizer): (Box<dyn ProfileStore>, Pseudonymizer) = match cfg.store.backend
        {
            Backend::Memory => (
                Box::new(MemoryStore::new()),
                key.unwrap_or_else(Pseudonymizer::random),
            ),
            Backend::Embedded => {
                let store = Box::new(RedbStore::open(&cfg.store.path)?);
                match key {
                    Some(k) => (store, k),
                    None => (store, Pseudonymizer::load_or_create(&cfg.privacy.key_file)?),
                }
            }
        };
        let model = load_model(&cfg.model.path)?;
        let policy = if cfg.policy.path.trim().is_empty() {
            PolicyTable::default()
        } else {
            let text = std::fs::read_to_string(&cfg.policy.path)
                .map_err(|e| crate::policy::PolicyError(format!("{}: {e}", cfg.policy.path)))?;
            PolicyTable::from_toml(&text)
                .map_err(|e| crate::policy::PolicyError(format!("{}: {}", cfg.policy.path, e.0)))?
        };
        let mut engine = Engine::new(Parts {
            enricher,
            store,
            model,
            policy,
            pseudonymizer,
            features: cfg.feature_config(),
            limits: cfg.limits(),
        });
        if !cfg.model.shadow.trim().is_empty() {
            engine.set_shadow(Some(load_model(&cfg.model.shadow)?));
        }
        engine.warnings = warnings;
        engine.retention = cfg.retention();
        engine.learn.pending_ttl_ms = engine.retention.pending_ms;
        Ok(engine)
    }

    /// Builds an engine from explicit parts.
    pub fn new(parts: Parts) -> Engine {
        // Generated request ids: a random per-process prefix and a counter, so ids never repeat
        // across restarts (a repeat would let a new request reach an old one's pending evidence).
        let nonce = {
            use rand::RngCore;
            rand::rngs::OsRng.next_u64()
        };
        Engine {
            enricher: parts.enricher,
            store: parts.store,
            model: RwLock::new(Arc::new(parts.model)),
            shadow: RwLock::new(None),
            policy: parts.policy,
            typing_key: crate::keystroke::digraph::TypingKey::new(
                parts.pseudonymizer.sub_key("typing-entries"),
            ),
            pseudo: parts.pseudonymizer,
            features: parts.features,
            limits: parts.limits,
            learn: LearnConfig::default(),
            retention: Retention::default(),
            warnings: Vec::new(),
            nonce,
            seq: AtomicU64::new(0),
        }
    }

    /// Start-up warnings (unavailable geo sources).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The active model.
    pub fn model(&self) -> Arc<LinearModel> {
        match self.model.read() {
            Ok(m) => Arc::clone(&m),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replaces the active model atomically.
    pub fn set_model(&self, model: LinearModel) {
        let mut slot = match self.model.write() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = Arc::new(model);
    }

    /// The shadow model, when one is set.
    pub fn shadow_model(&self) -> Option<Arc<LinearModel>> {
        match self.shadow.read() {
            Ok(m) => m.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Sets (or, with `None`, removes) the shadow model atomically.
    pub fn set_shadow(&self, model: Option<LinearModel>) {
        let mut slot = match self.shadow.write() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = model.map(Arc::new);
    }

    /// Scores one request at the current time.
    pub fn score(&self, req: &ScoreRequest) -> Result<ScoreResponse, Error> {
        self.score_at(req, now_ms())
    }

    /// Scores one request with `now_ms` as the clock (for replays of recorded traffic).
    pub fn score_at(&self, req: &ScoreRequest, now_ms: i64) -> Result<ScoreResponse, Error> {
        self.score_with_shadow(req, now_ms).map(|(resp, _)| resp)
    }

    /// Scores one request with the active model and, when one is set, the shadow model on the
    /// same features. Only the active model's answer counts; the shadow's is returned for the
    /// caller to log (and traced here, pseudonymously) so candidates can be compared on live
    /// traffic before they are promoted.
    pub fn score_with_shadow(
        &self,
        req: &ScoreRequest,
        now_ms: i64,
    ) -> Result<(ScoreResponse, Option<ShadowScore>), Error> {
        let valid = ValidRequest::check(req, &self.limits, now_ms)?;
        let intel = valid.ip.map(|ip| self.enricher.lookup(ip));
        let a = self.assess_valid(&valid, intel.as_ref());
        let model = self.model();
        let j = self.judge(&model, &a, &valid);
        let shadow = self.shadow_model().map(|m| {
            let sj = self.judge(&m, &a, &valid);
            let s = ShadowScore {
                model_version: m.version().to_string(),
                trust_score: sj.trust,
                decision: sj.out.decision,
            };
            tracing::info!(
                request_id = %a.request_id,
                shadow_model = %s.model_version,
                shadow_trust = s.trust_score.value(),
                shadow_decision = s.decision.as_str(),
                "shadow scored"
            );
            s
        });
        let out = j.out;
        // A session may enrol new factors only when it passed cleanly: low risk, allowed, no
        // floor or policy rule had to step in, and there is verified history to have matched
        // (a session of an account Tessera knows nothing about proves nothing about its owner).
        let allow_factor_enrollment = out.risk == crate::domain::RiskBand::Low
            && out.decision == crate::domain::Decision::Allow
            && out.added.iter().all(|c| *c == ReasonCode::SensitiveAction)
            && !self.policy.floor_applies(&j.codes)
            && !j.codes.contains(&ReasonCode::NoHistory);
        let resp = ScoreResponse {
            trust_score: j.trust,
            confidence: confidence(&a, &valid),
            risk: out.risk,
            decision: out.decision,
            delay_ms: out.delay_ms,
            reasons: explain::finish(j.found, &out.added, &model, &a.row, &a.findings),
            allow_factor_enrollment,
            model_version: model.version().to_string(),
            request_id: a.request_id,
        };
        Ok((resp, shadow))
    }

    /// One model's view of an assessed request: imputation of unavailable signals, logit,
    /// trust score, reason findings and the policy's outcome.
    fn judge(&self, model: &LinearModel, a: &Assessment, valid: &ValidRequest<'_>) -> Judged {
        let (row, imputed) = explain::impute(model, &a.row, &a.findings.unavailable);
        let logit = model.logit(&row);
        let trust =
            TrustScore::from_attack_probability(crate::model::linear::sigmoid(f64::from(logit)));
        let mut found = Vec::with_capacity(8);
        explain::find(model, &a.row, &a.findings, &imputed, &mut found);
        let codes: Vec<ReasonCode> = found.iter().map(|f| f.code).collect();
        let ctx = PolicyContext {
            country: a.country.as_deref(),
            ip: valid.ip,
        };
        let out = self
            .policy
            .decide(trust, valid.channel, valid.action, &codes, &ctx);
        Judged {
            trust,
            found,
            codes,
            out,
        }
    }

    /// Extracts the features of a request and records it in the activity ledger, exactly as
    /// `score_at` does, without a model or policy: the offline replay path of `tessera train`.
    pub fn assess(&self, req: &ScoreRequest, now_ms: i64) -> Result<Assessment, Error> {
        let valid = ValidRequest::check(req, &self.limits, now_ms)?;
        let intel = valid.ip.map(|ip| self.enricher.lookup(ip));
        Ok(self.assess_valid(&valid, intel.as_ref()))
    }

    /// Reads the request's own evidence, records it in the activity ledger while reading the
    /// history snapshot (one store transaction), and extracts the features.
    fn assess_valid(&self, valid: &ValidRequest<'_>, intel: Option<&IpIntel<'_>>) -> Assessment {
        let req = valid.req;
        let keys = SubjectKeys {
            user: self.pseudo.id(IdKind::User, &req.user_id),
            device: req
                .device
                .as_ref()
                .and_then(|d| d.id.as_deref())
                .map(|id| self.pseudo.id(IdKind::Device, id)),
            ip: valid.ip.map(|ip| self.pseudo.ip(ip)),
        };
        let request_id = match &req.request_id {
            Some(id) => id.clone(),
            None => format!(
                "req-{:08x}{:08x}",
                self.nonce,
                self.seq.fetch_add(1, Ordering::Relaxed)
            ),
        };
        let evidence = features::evidence(valid, intel, &self.features, &self.typing_key);
        let pending = PendingEvidence {
            user: keys.user,
            at_ms: valid.at_ms,
            device: keys.device,
            ip: keys.ip,
            fix: evidence.fix.clone(),
            typing: evidence.typing.clone(),
            hour: features::context::utc_hour(valid.at_ms),
            learned: false,
        };
        let obs = Observation {
            keys,
            at_ms: valid.at_ms,
            failed: req.auth.as_ref().is_some_and(|x| x.failed_attempts > 0),
            sketch: evidence.sketch.as_ref(),
            request: self.pseudo.id(IdKind::Request, &request_id),
            generated_id: req.request_id.is_none(),
            pending: &pending,
        };
        let snapshot = match store::record(self.store.as_ref(), &obs, &self.learn) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "profile store unavailable; scoring history as worst case");
                None
            }
        };
        let mut row = [0f32; N_FEATURES];
        let inputs = Inputs {
            req: valid,
            intel,
            snapshot: snapshot.as_ref(),
            evidence: &evidence,
            keys: &keys,
            cfg: &self.features,
        };
        let findings = features::extract(&inputs, &mut row);
        let country = match intel.map(|i| &i.location) {
            Some(Lookup::Found(l)) => l.country.map(str::to_string),
            _ => None,
        };
        Assessment {
            at_ms: valid.at_ms,
            row,
            findings,
            request_id,
            country,
        }
    }

    /// Applies a verified outcome to the profile of the request it names. The only way profiles
    /// change. Errors name the field: an unknown or expired `request_id`, or a `user_id` that is
    /// not the scored request's.
    pub fn record_outcome(&self, rec: &OutcomeRecord) -> Result<OutcomeEffect, Error> {
        let at_ms = crate::domain::validate::parse_timestamp("timestamp", &rec.timestamp)?;
        if at_ms > now_ms().saturating_add(self.limits.max_future_skew_ms) {
            return Err(crate::domain::InputError::invalid("timestamp", "is in the future").into());
        }
        if rec.request_id.is_empty() || rec.request_id.len() > self.limits.max_id_len {
            return Err(
                crate::domain::InputError::invalid("request_id", "must be 1–128 bytes").into(),
            );
        }
        let request = self.pseudo.id(IdKind::Request, &rec.request_id);
        let user = self.pseudo.id(IdKind::User, &rec.user_id);
        match store::apply_outcome(
            self.store.as_ref(),
            request,
            user,
            rec.outcome,
            at_ms,
            &self.learn,
        )? {
            Ok(effect) => Ok(effect),
            Err(OutcomeRejection::UnknownRequest) => Err(crate::domain::InputError::invalid(
                "request_id",
                "no scored request with this id (unknown or expired)",
            )
            .into()),
            Err(OutcomeRejection::BeforeRequest) => Err(crate::domain::InputError::invalid(
                "timestamp",
                "before the scored request it verifies",
            )
            .into()),
            Err(OutcomeRejection::UserMismatch) => Err(crate::domain::InputError::invalid(
                "user_id",
                "does not match the scored request",
            )
            .into()),
        }
    }

    /// Keyed-hash pseudonym of a user id (for logs and the audit trail; never the raw id).
    pub fn user_pseudonym(&self, user_id: &str) -> crate::privacy::Pseudonym {
        self.pseudo.id(IdKind::User, user_id)
    }

    /// What the store holds about `user_id` (data-subject export); `None` when nothing.
    pub fn export_profile(&self, user_id: &str) -> Result<Option<store::ProfileExport>, Error> {
        let user = self.pseudo.id(IdKind::User, user_id);
        Ok(store::export_profile(self.store.as_ref(), &user, now_ms())?)
    }

    /// Erases everything the store holds about `user_id` (see [`store::erase_user`]).
    pub fn erase_user(&self, user_id: &str) -> Result<store::Erasure, Error> {
        let user = self.pseudo.id(IdKind::User, user_id);
        Ok(store::erase_user(self.store.as_ref(), &user)?)
    }

    /// Applies the configured retention windows (`[retention]`) with `now_ms` as the clock:
    /// deletes what has not been touched within its window (see [`store::expire`]).
    pub fn expire(&self, now_ms: i64) -> Result<store::ExpiryStats, Error> {
        Ok(store::expire(self.store.as_ref(), now_ms, &self.retention)?)
    }
}

/// Reads and checks a model artifact: `builtin`, `rules`, or an artifact file.
pub fn load_artifact(path: &str) -> Result<Artifact, Error> {
    Ok(match path {
        "builtin" => Artifact::from_json(BUILTIN_MODEL, "builtin:models/tessera-lr.json")?,
        "rules" => crate::model::rules::artifact(),
        p => Artifact::load(std::path::Path::new(p))?,
    })
}

/// Loads the configured model: `builtin`, `rules`, or an artifact file.
pub fn load_model(path: &str) -> Result<LinearModel, Error> {
    Ok(LinearModel::from_artifact(&load_artifact(path)?))
}

/// How much evidence the score rests on, 0–1: 60 % for the share of the five evidence sources
/// present (typing, device, IP, geo, history store), 40 % for the depth of verified history
/// (saturating at 20 verified events).
fn confidence(a: &Assessment, valid: &ValidRequest<'_>) -> f64 {
    use crate::features::F;
    let u = &a.findings.unavailable;
    let present = [
        a.row[F::TypingAbsent as usize] < 0.5,
        a.row[F::DeviceAbsent as usize] < 0.5,
        valid.ip.is_some(),
        valid.ip.is_some() && !u.geo,
        !u.store,
    ]
    .iter()
    .filter(|p| **p)
    .count() as f32;
    let history = (a.row[F::ContextHistoryLog as usize].exp_m1() / 20.0).min(1.0);
    (f64::from((0.6 * present / 5.0) + 0.4 * history) * 100.0).round() / 100.0
}

/// Wall clock, ms since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
