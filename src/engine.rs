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
pub use crate::domain::Clock;
use crate::domain::{
    Absence, InputError, Limits, ReasonCode, ScoreRequest, ScoreResponse, ShadowScore, Source,
    Sources, Tenant, TrustScore, ValidRequest,
};
use crate::enrich::{EnrichError, Enricher, GeoSources, ListCounts, Lookup, ReputationLists};
use crate::error::Error;
use crate::features::{self, FeatureConfig, FeatureRow, Findings, Inputs, N_FEATURES};
use crate::model::explain;
use crate::model::{Artifact, Model};
use crate::policy::{PolicyContext, PolicyTable};
use crate::privacy::{IdKind, Pseudonymizer};
use crate::store::memory::MemoryStore;
use crate::store::redb::RedbStore;
use crate::store::{
    self, LearnConfig, Observation, PendingEvidence, ProfileSnapshot, ProfileStore, Recorded,
    Retention, SubjectKeys,
};

mod answers;
mod outcome;
mod tenants;

pub use answers::DEFAULT_ANSWERS;
pub use tenants::TenantParts;

/// The default model, trained by `tessera train` and committed in `models/`.
pub const BUILTIN_MODEL: &str = include_str!("../models/default/model.json");

/// One model's view of a request (see [`Engine::judge`]).
/// What [`Engine::judge_codes`] keeps of a judgement.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// The active model's decision.
    pub decision: crate::domain::Decision,
    /// Its trust score.
    pub trust: TrustScore,
    /// The response's reason codes, in its order.
    pub reasons: Vec<ReasonCode>,
    /// The active model's version.
    pub model_version: String,
    /// The shadow model's decision and trust score, when one is set.
    pub shadow: Option<(crate::domain::Decision, TrustScore)>,
}

struct Judged {
    trust: TrustScore,
    /// The row's log-odds terms, what imputing each missing source added, and the scored logit.
    split: explain::Split,
    found: Vec<explain::Found>,
    codes: Vec<ReasonCode>,
    out: crate::policy::PolicyOutcome,
}

/// The deployment's evidence sources, as [`Engine::source_report`] finds them.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SourceReport {
    /// Configured and answering.
    pub in_use: Sources,
    /// Not configured: absent by design, scored without (neutral values), no reason code.
    pub not_configured: Sources,
    /// Configured but failing, with why: every request costs at least OTP and the source's
    /// reason code until it is fixed.
    #[serde(serialize_with = "failed_sources")]
    pub failed: Vec<(Source, String)>,
}

fn failed_sources<S: serde::Serializer>(
    failed: &[(Source, String)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = serializer.serialize_seq(Some(failed.len()))?;
    for (source, problem) in failed {
        seq.serialize_element(&serde_json::json!({"source": source.as_str(), "problem": problem}))?;
    }
    seq.end()
}

/// The parts an engine is built from.
pub struct Parts {
    /// IP enrichment.
    pub enricher: Enricher,
    /// History and activity.
    pub store: Box<dyn ProfileStore>,
    /// Model.
    pub model: Model,
    /// Policy.
    pub policy: PolicyTable,
    /// Pseudonymiser for ids.
    pub pseudonymizer: Pseudonymizer,
    /// Feature tunables.
    pub features: FeatureConfig,
    /// Request bounds.
    pub limits: Limits,
}

/// What recording a request in the activity ledger gave (see `Engine::record_and_extract`).
enum Ledger {
    /// Counted; the features against the snapshot read in the same transaction.
    Fresh(Assessment),
    /// The store failed: the features with history unavailable (scored as worst case).
    Unrecorded(Assessment),
    /// An identical retry of a recorded request: nothing counted.
    Retry,
    /// The id is bound to another request: nothing written.
    Conflict,
}

/// A prepared request recorded in the activity ledger by [`Engine::record_assessment`], its
/// features not yet extracted ([`Engine::extract_assessment`]). Owns its history snapshot
/// (boxed: it travels from the ledger to the extraction), so a replay may record requests in
/// time order on one thread and extract their features on others.
pub struct RecordedRequest {
    snapshot: Option<Box<ProfileSnapshot>>,
}

/// What a request carries on its own, read before its history is touched (see
/// [`Engine::prepare_assessment`]): enrichment, the subjects' pseudonyms, its evidence. Holds no
/// borrow of the request, so offline replay can prepare a batch on one thread and finish it, in
/// time order, on another.
pub struct PreparedRequest<'e> {
    checked: Checked,
    intel: Option<crate::enrich::IpIntel<'e>>,
    request_id: String,
    request: crate::privacy::Pseudonym,
    keys: SubjectKeys,
    evidence: features::Evidence,
    pending: PendingEvidence,
}

impl PreparedRequest<'_> {
    /// The client IP as checked (absent when the request carried none).
    pub fn ip(&self) -> Option<std::net::IpAddr> {
        self.checked.ip
    }

    /// The IP's AS number, when the ASN database knows the address.
    pub fn asn(&self) -> Option<u32> {
        match self.intel.as_ref().map(|i| &i.asn) {
            Some(Lookup::Found(a)) => Some(a.number),
            _ => None,
        }
    }
}

/// What checking a request found besides the request itself ([`ValidRequest`] without the
/// borrow).
#[derive(Debug, Clone, Copy)]
struct Checked {
    at_ms: i64,
    clock_skew_ms: Option<i64>,
    action: crate::domain::Action,
    channel: crate::domain::Channel,
    ip: Option<std::net::IpAddr>,
    sim_change_age_ms: Option<i64>,
}

impl Checked {
    fn of(v: &ValidRequest<'_>) -> Checked {
        Checked {
            at_ms: v.at_ms,
            clock_skew_ms: v.clock_skew_ms,
            action: v.action,
            channel: v.channel,
            ip: v.ip,
            sim_change_age_ms: v.sim_change_age_ms,
        }
    }

    /// The checked request again, for `req` (the request that was checked).
    fn bind(self, req: &ScoreRequest) -> ValidRequest<'_> {
        ValidRequest {
            req,
            at_ms: self.at_ms,
            clock_skew_ms: self.clock_skew_ms,
            action: self.action,
            channel: self.channel,
            ip: self.ip,
            sim_change_age_ms: self.sim_change_age_ms,
        }
    }
}

/// One scored request, as answered.
#[derive(Debug, Clone)]
pub struct Scored {
    /// The answer.
    pub response: ScoreResponse,
    /// The shadow model's view, when one is set (never for a retry).
    pub shadow: Option<ShadowScore>,
    /// The answer as sent, JSON, when the engine keeps answers for retries (see
    /// [`Engine::keep_answers`]); empty otherwise.
    pub json: String,
    /// An identical retry of an earlier request: this is the first answer, and nothing was
    /// counted again.
    pub replayed: bool,
    /// The request IP's country (ISO 3166-1 alpha-2, e.g. `FR`), when the City database
    /// located it: for the audit record, never part of the answer.
    pub country: Option<String>,
    /// The request's consent to behavioural biometrics, and whether its tenant requires it:
    /// for the audit record.
    pub typing_consent: (crate::domain::BiometricConsent, bool),
    /// The request IP's AS number, when the ASN database knows it: for the audit record,
    /// never part of the answer.
    pub asn: Option<u32>,
}

/// The scoring engine. Cheap to share (`Arc<Engine>`); every method takes `&self`.
pub struct Engine {
    enricher: Enricher,
    store: Box<dyn ProfileStore>,
    model: RwLock<Arc<Model>>,
    /// A candidate scored beside the active model, never enforced.
    shadow: RwLock<Option<Arc<Model>>>,
    policy: PolicyTable,
    pseudo: Pseudonymizer,
    features: FeatureConfig,
    limits: Limits,
    learn: LearnConfig,
    retention: Retention,
    typing_key: crate::keystroke::digraph::TypingKey,
    /// The typing verifier's builtin background under `typing_key`'s entry names (also in
    /// `learn.typing`, for enrolment).
    typing_background: Arc<crate::keystroke::verifier::Background>,
    /// Whether typing needs the request's consent (`[typing] require_consent`), unless the
    /// tenant says otherwise.
    typing_require_consent: bool,
    warnings: Vec<String>,
    nonce: u64,
    receipt_key: [u8; 32],
    receipts: AtomicU64,
    answers: answers::Answers,
    tenants: tenants::Tenants,
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
    /// Builds an engine from a configuration, which it checks first ([`Config::check`]): opens
    /// geo sources, reads the `[reputation]` lists (logging their counts), opens the store, the
    /// key, the model and the policy. Unavailable geo sources are warnings (see
    /// [`Engine::warnings`]), not errors: scoring treats them as `geo_unavailable`; a bad list
    /// file is an error naming its key, file and line.
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

    /// The engine of offline replay (training, backtests): [`Engine::from_config_with_key`]
    /// with [`Engine::replay_key`] and an empty memory store that updates records in place
    /// ([`MemoryStore::in_place`]; `cfg`'s store is not opened). A failed write stops that
    /// store, and with it the replay.
    pub fn for_replay(cfg: &Config) -> Result<Engine, Error> {
        let mut memory = cfg.clone();
        memory.store.backend = Backend::Memory;
        let mut engine = Engine::build(&memory, Some(Engine::replay_key()))?;
        engine.store = Box::new(MemoryStore::in_place());
        Ok(engine)
    }

    /// The pseudonymisation key of offline replay: fixed, because the replay's store is
    /// discarded and a fixed key makes replays reproducible.
    pub fn replay_key() -> Pseudonymizer {
        Pseudonymizer::new(*blake3::hash(b"tessera train replay").as_bytes())
    }

    fn build(cfg: &Config, key: Option<Pseudonymizer>) -> Result<Engine, Error> {
        cfg.check().map_err(crate::config::ConfigError::from)?;
        let sources = GeoSources {
            city: cfg.geo.city.paths(),
            asn: cfg.geo.asn.paths(),
            anonymous_ip: cfg.geo.anonymous_ip.paths(),
            carrier_asns: cfg.geo.carrier_asns.clone(),
        };
        let (enricher, warnings) = Enricher::open(&sources, &cfg.lists.block, &cfg.lists.allow)?;
        let (lists, counts) = ReputationLists::load(&cfg.reputation)?;
        log_list_counts(&counts, "loaded");
        let enricher = enricher.with_reputation_lists(lists);
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
        let model = load_model(&crate::model::active::resolve(
            &cfg.model.path,
            &cfg.model.dir,
        )?)?;
        let policy = if cfg.policy.path.trim().is_empty() {
            PolicyTable::default()
        } else {
            load_policy(&cfg.policy.path)?
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
            let shadow = crate::model::active::resolve(&cfg.model.shadow, &cfg.model.dir)?;
            engine.set_shadow(Some(load_model(&shadow)?));
        }
        engine.warnings = warnings;
        engine.typing_require_consent = cfg.typing.require_consent;
        engine.tenants = tenants::Tenants::from_config(cfg)?;
        engine.retention = cfg.retention();
        engine.learn.pending_ttl_ms = engine.retention.pending_ms;
        Ok(engine)
    }

    /// Builds an engine from explicit parts.
    pub fn new(parts: Parts) -> Engine {
        // A random per-process value in every receipt, so receipts never repeat across restarts.
        let nonce = {
            use rand::RngCore;
            rand::rngs::OsRng.next_u64()
        };
        let typing_key = crate::keystroke::digraph::TypingKey::new(
            parts.pseudonymizer.sub_key("typing-entries"),
        );
        // Built once: the embedded file's key names hashed with the deployment's typing key.
        let typing_background =
            Arc::new(crate::keystroke::verifier::Background::builtin(&typing_key));
        Engine {
            receipt_key: parts.pseudonymizer.secret("receipts"),
            receipts: AtomicU64::new(0),
            answers: answers::Answers::new(0),
            tenants: tenants::Tenants::default(),
            enricher: parts.enricher,
            store: parts.store,
            model: RwLock::new(Arc::new(parts.model)),
            shadow: RwLock::new(None),
            policy: parts.policy,
            typing_key,
            learn: LearnConfig {
                typing: Some(Arc::clone(&typing_background)),
                ..LearnConfig::default()
            },
            typing_background,
            typing_require_consent: false,
            pseudo: parts.pseudonymizer,
            features: parts.features,
            limits: parts.limits,
            retention: Retention::default(),
            warnings: Vec::new(),
            nonce,
        }
    }

    /// Keeps the first answer to each of the last `n` caller-chosen request ids, so that an
    /// identical retry is answered as the first request was (the service keeps
    /// [`answers::DEFAULT_ANSWERS`]); with 0 (the library's default) a retry is a conflict.
    pub fn keep_answers(&mut self, n: usize) {
        self.answers = answers::Answers::new(n);
    }

    /// Gives `tenant` its own policy and/or model (what `[tenants.NAME]` does in the config).
    pub fn set_tenant(&mut self, tenant: &Tenant, parts: TenantParts) {
        self.tenants.set(tenant, parts);
    }

    /// Start-up warnings (unavailable geo sources).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The active model.
    pub fn model(&self) -> Arc<Model> {
        match self.model.read() {
            Ok(m) => Arc::clone(&m),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replaces the active model atomically.
    pub fn set_model(&self, model: Model) {
        let mut slot = match self.model.write() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = Arc::new(model);
    }

    /// The shadow model, when one is set.
    pub fn shadow_model(&self) -> Option<Arc<Model>> {
        match self.shadow.read() {
            Ok(m) => m.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Sets (or, with `None`, removes) the shadow model atomically.
    pub fn set_shadow(&self, model: Option<Model>) {
        let mut slot = match self.shadow.write() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = model.map(Arc::new);
    }

    /// Reads the `[reputation]` list files again and swaps them in at once (SIGHUP, the admin
    /// reload); logs the entries per file. On any error the old lists keep serving and the error
    /// (naming key, file and line) is returned for the caller to report. Blocking (file I/O).
    pub fn reload_reputation(&self) -> Result<ListCounts, EnrichError> {
        let counts = self.enricher.reputation_lists().reload()?;
        log_list_counts(&counts, "reloaded");
        Ok(counts)
    }

    /// Scores one request of the default tenant, received now (see [`Clock::Live`]).
    pub fn score(&self, req: &ScoreRequest) -> Result<ScoreResponse, Error> {
        self.score_request(&Tenant::default(), "", req, Clock::Live(now_ms()))
            .map(|s| s.response)
    }

    /// Scores one request of the default tenant in offline replay: history runs on the
    /// request's own timestamp, `now_ms` only refuses timestamps from the future (see
    /// [`Clock::Replay`]).
    pub fn score_at(&self, req: &ScoreRequest, now_ms: i64) -> Result<ScoreResponse, Error> {
        self.score_request(&Tenant::default(), "", req, Clock::Replay(now_ms))
            .map(|s| s.response)
    }

    /// Scores one request of `tenant` under `clock` with the tenant's model and, when one is
    /// set, the shadow model on the same features (only the active model's answer counts; the
    /// shadow's is returned for the caller to log and traced here, pseudonymously).
    ///
    /// A request id binds the evidence to the tenant, the id and the whole request (user,
    /// device, network, typing, action … everything but the timestamp) as sent by `caller` (an
    /// API key id; `""` in-process): an identical retry by the same caller answers as the first
    /// did (`replayed`, nothing counted again); any other request under an id already used is
    /// an [`Error::Conflict`] naming `request_id`.
    pub fn score_request(
        &self,
        tenant: &Tenant,
        caller: &str,
        req: &ScoreRequest,
        clock: Clock,
    ) -> Result<Scored, Error> {
        let valid = ValidRequest::check_at(req, &self.limits, clock)?;
        let pseudo = self.pseudo.for_tenant(tenant);
        let generated = req.request_id.is_none();
        let request_id = match &req.request_id {
            Some(id) => id.clone(),
            None => self.generated_id(),
        };
        let request = pseudo.id(IdKind::Request, &request_id);
        let receipt = self.receipt(&request);
        let consent = crate::domain::BiometricConsent::of(req);
        let required = self.typing_consent_required(tenant);
        let mut read = self.read_request(
            &pseudo,
            &valid,
            request_id,
            request,
            typing_allowed(consent, required),
        );
        read.pending.receipt = receipt;
        read.pending.digest = request_digest(caller, req);
        let intel = read.intel.as_ref();
        let country = intel
            .and_then(|i| i.location.found())
            .and_then(|l| l.country)
            .map(str::to_string);
        let asn = intel.and_then(|i| i.asn.found()).map(|a| a.number);
        let ledger = self.record_and_extract(&valid, &read);
        let (a, recorded) = match ledger {
            Ledger::Fresh(a) => (a, true),
            Ledger::Unrecorded(a) => (a, false),
            Ledger::Retry => {
                return self.retry(&request).map(|first| Scored {
                    country,
                    asn,
                    typing_consent: (consent, required),
                    ..first
                });
            }
            Ledger::Conflict => return Err(id_conflict()),
        };
        let (response, shadow) = self.answer(tenant, &a, &valid, &receipt);
        // The answer as sent is only needed to answer retries (the service keeps them).
        let json = if self.answers.enabled() {
            serde_json::to_string(&response).unwrap_or_default()
        } else {
            String::new()
        };
        if recorded && !generated && self.answers.enabled() {
            self.answers.keep(request, &json);
        }
        Ok(Scored {
            response,
            shadow,
            json,
            replayed: false,
            country,
            asn,
            typing_consent: (consent, required),
        })
    }

    /// Whether `tenant`'s typing needs the request's consent: its `typing_require_consent`,
    /// else `[typing] require_consent`.
    pub fn typing_consent_required(&self, tenant: &Tenant) -> bool {
        self.tenants
            .typing_require_consent(tenant)
            .unwrap_or(self.typing_require_consent)
    }

    /// The first answer to `request`, for an identical retry; a conflict when it is no longer
    /// held.
    fn retry(&self, request: &crate::privacy::Pseudonym) -> Result<Scored, Error> {
        let Some(first) = self.answers.get(request) else {
            return Err(Error::Conflict(InputError::invalid(
                "request_id",
                "already scored, and its first answer is no longer held (answers are kept \
                 for retries while memory allows, not across restarts); use a new id",
            )));
        };
        let response: ScoreResponse = serde_json::from_str(&first)
            .map_err(|e| Error::Store(store::StoreError::Backend(e.to_string())))?;
        Ok(Scored {
            response,
            shadow: None,
            json: first,
            replayed: true,
            country: None,
            asn: None,
            typing_consent: Default::default(),
        })
    }

    /// What scoring and offline assessment share, first half: what the request carries on its
    /// own — IP enrichment, the subjects' pseudonyms, the evidence it would teach — read without
    /// the store. Pure: offline replay runs it for many requests in parallel ahead of the ledger
    /// ([`Engine::prepare_assessment`]).
    fn read_request<'e>(
        &'e self,
        pseudo: &Pseudonymizer,
        valid: &ValidRequest<'_>,
        request_id: String,
        request: crate::privacy::Pseudonym,
        typing_allowed: bool,
    ) -> PreparedRequest<'e> {
        let intel = valid.ip.map(|ip| self.enricher.lookup(ip));
        let keys = subject_keys(pseudo, valid);
        let attr_key =
            features::freeman::AttrKey::new(pseudo.sub_key(features::freeman::AttrKey::PURPOSE));
        let evidence = features::evidence(
            valid,
            intel.as_ref(),
            &self.features,
            &self.typing_key,
            typing_allowed,
            &attr_key,
        );
        let pending = pending_evidence(valid, &keys, &evidence);
        PreparedRequest {
            checked: Checked::of(valid),
            intel,
            request_id,
            request,
            keys,
            evidence,
            pending,
        }
    }

    /// Second half: records the request in the activity ledger while reading the history
    /// snapshot (one store transaction), and extracts the features against that snapshot.
    /// Requests must come here in time order; `read` is `valid`'s [`Engine::read_request`].
    fn record_and_extract(&self, valid: &ValidRequest<'_>, read: &PreparedRequest<'_>) -> Ledger {
        match self.record_prepared(valid, read) {
            Some(Recorded::Fresh(snapshot)) => {
                Ledger::Fresh(self.extract_prepared(valid, read, Some(&snapshot)))
            }
            None => Ledger::Unrecorded(self.extract_prepared(valid, read, None)),
            Some(Recorded::Retry) => Ledger::Retry,
            Some(Recorded::Conflict) => Ledger::Conflict,
        }
    }

    /// Records the request `read` was prepared from in the activity ledger: the history
    /// snapshot its features are extracted against, read in the same transaction. `None` when
    /// the store failed (logged): nothing counted, history unavailable.
    fn record_prepared(
        &self,
        valid: &ValidRequest<'_>,
        read: &PreparedRequest<'_>,
    ) -> Option<Recorded> {
        let obs = Observation {
            keys: read.keys,
            at_ms: valid.at_ms,
            failed: failed(valid),
            sketch: read.evidence.sketch.as_ref(),
            request: read.request,
            generated_id: valid.req.request_id.is_none(),
            pending: &read.pending,
        };
        match store::record(self.store.as_ref(), &obs, &self.learn) {
            Ok(recorded) => Some(recorded),
            Err(e) => {
                tracing::warn!(error = %e, "profile store unavailable; scoring history as worst case");
                None
            }
        }
    }

    /// The features of the request `read` was prepared from against `snapshot`, its history
    /// as recorded (`None`: the store failed, history scored as worst case).
    fn extract_prepared(
        &self,
        valid: &ValidRequest<'_>,
        read: &PreparedRequest<'_>,
        snapshot: Option<&ProfileSnapshot>,
    ) -> Assessment {
        let inputs = Inputs {
            req: valid,
            intel: read.intel.as_ref(),
            snapshot,
            evidence: &read.evidence,
            keys: &read.keys,
            cfg: &self.features,
            background: &self.typing_background,
        };
        self.extract(&inputs, &read.request_id)
    }

    /// A fresh request id: 128 bits from the thread's CSPRNG (rand's `ThreadRng`, ChaCha
    /// reseeded from the OS), so no answer reveals the next id: a caller who could predict it
    /// could send an identical request under it first.
    fn generated_id(&self) -> String {
        use rand::Rng;
        let mut rng = rand::thread_rng();
        format!("req-{:016x}{:016x}", rng.r#gen::<u64>(), rng.r#gen::<u64>())
    }

    /// An unguessable receipt for one answer: a keyed hash (secret derived from the
    /// pseudonymisation key) of the request's pseudonym, this process's random nonce and a
    /// counter, so no two answers share one and no caller can compute another's.
    fn receipt(&self, request: &crate::privacy::Pseudonym) -> [u8; 16] {
        let mut h = blake3::Hasher::new_keyed(&self.receipt_key);
        h.update(&request.0);
        h.update(&self.nonce.to_le_bytes());
        h.update(&self.receipts.fetch_add(1, Ordering::Relaxed).to_le_bytes());
        let mut out = [0u8; 16];
        out.copy_from_slice(&h.finalize().as_bytes()[..16]);
        out
    }

    /// Judges an assessed request with the tenant's model (and the shadow model) and builds
    /// the answer.
    fn answer(
        &self,
        tenant: &Tenant,
        a: &Assessment,
        valid: &ValidRequest<'_>,
        receipt: &[u8; 16],
    ) -> (ScoreResponse, Option<ShadowScore>) {
        let model = self.tenants.model(tenant).unwrap_or_else(|| self.model());
        let policy = self.tenants.policy(tenant).unwrap_or(&self.policy);
        // How much evidence the request carries: the assessment's, whichever model judges.
        let confidence = confidence(a);
        let j = self.judge(&model, policy, a, valid, confidence, true);
        let shadow = self.shadow_model().map(|m| {
            let sj = self.judge(&m, policy, a, valid, confidence, false);
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
            && !policy.floor_applies(&j.codes)
            && !j.codes.contains(&ReasonCode::NoHistory);
        let mut reasons = explain::finish(j.found, &out.added, &j.split, &a.row, &a.findings);
        if let Some(skew_ms) = valid.clock_skew_ms {
            reasons.push(crate::domain::Reason {
                code: ReasonCode::ClockSkew,
                contribution: 0.0,
                message: ReasonCode::ClockSkew.message().into(),
                detail: serde_json::json!({"claimed_minus_received_s": skew_ms / 1000}),
            });
        }
        let resp = ScoreResponse {
            trust_score: j.trust,
            confidence,
            sources: sources_used(a),
            risk: out.risk,
            decision: out.decision,
            delay_ms: out.delay_ms,
            reasons,
            allow_factor_enrollment,
            model_version: model.version().to_string(),
            request_id: a.request_id.clone(),
            receipt: crate::privacy::Pseudonym(*receipt).to_hex(),
        };
        (resp, shadow)
    }

    /// One model's view of an assessed request: imputation of unavailable signals, logit,
    /// trust score, reason findings (with their analyst detail when `details`) and the
    /// policy's outcome.
    fn judge(
        &self,
        model: &Model,
        policy: &PolicyTable,
        a: &Assessment,
        valid: &ValidRequest<'_>,
        confidence: f64,
        details: bool,
    ) -> Judged {
        let split = explain::Split::new(model, &a.row, &a.findings.unavailable);
        let trust = TrustScore::from_attack_probability(crate::model::runtime::sigmoid(f64::from(
            split.logit(),
        )));
        let mut found = Vec::with_capacity(8);
        if details {
            explain::find(&split, &a.row, &a.findings, &mut found);
        } else {
            explain::find_codes(&split, &a.row, &a.findings, &mut found);
        }
        let codes: Vec<ReasonCode> = found.iter().map(|f| f.code).collect();
        let ctx = PolicyContext {
            country: a.country.as_deref(),
            ip: valid.ip,
            confidence,
            sim_change_age_ms: valid.sim_change_age_ms,
        };
        let out = policy.decide(trust, valid.channel, valid.action, &codes, &ctx);
        Judged {
            trust,
            split,
            found,
            codes,
            out,
        }
    }

    /// Extracts the features of a request of the default tenant and records it in the activity
    /// ledger, exactly as scoring does, without a model or policy: the offline replay path of
    /// `tessera train` (event time, see [`Clock::Replay`]). A request id seen before is an
    /// [`Error::Conflict`] (the live service would not have counted it again).
    ///
    /// The same as [`Engine::prepare_assessment`] then [`Engine::finish_assessment`].
    pub fn assess(&self, req: &ScoreRequest, now_ms: i64) -> Result<Assessment, Error> {
        let prepared = self.prepare_assessment(req, now_ms)?;
        self.finish_assessment(req, &prepared)
    }

    /// The first half of [`Engine::assess`]: checks `req` and reads what it carries on its
    /// own (enrichment, pseudonyms, evidence) without touching the store. Pure, so a replay may
    /// prepare many requests at once, on any thread and ahead of time, as long as it finishes
    /// them in time order.
    pub fn prepare_assessment(
        &self,
        req: &ScoreRequest,
        now_ms: i64,
    ) -> Result<PreparedRequest<'_>, Error> {
        let valid = ValidRequest::check_at(req, &self.limits, Clock::Replay(now_ms))?;
        let request_id = match &req.request_id {
            Some(id) => id.clone(),
            None => self.generated_id(),
        };
        let request = self.pseudo.id(IdKind::Request, &request_id);
        let allowed = typing_allowed(
            crate::domain::BiometricConsent::of(req),
            self.typing_consent_required(&Tenant::default()),
        );
        Ok(self.read_request(&self.pseudo, &valid, request_id, request, allowed))
    }

    /// The second half of [`Engine::assess`]: records the request `prepared` was read from
    /// (`req`, the same request) in the ledger and extracts its features against its history.
    /// An error naming `request_id` when `req` is not the prepared request.
    pub fn finish_assessment(
        &self,
        req: &ScoreRequest,
        prepared: &PreparedRequest<'_>,
    ) -> Result<Assessment, Error> {
        let recorded = self.record_assessment(req, prepared)?;
        Ok(self.extract_assessment(req, prepared, &recorded))
    }

    /// The ledger half of [`Engine::finish_assessment`]: records the request `prepared` was
    /// read from (`req`, the same request) and keeps the history snapshot read with it. Calls
    /// must come in time order; the extraction ([`Engine::extract_assessment`]) may come later
    /// and on any thread. An error naming `request_id` when `req` is not the prepared request;
    /// [`Error::Conflict`] for an id seen before.
    pub fn record_assessment(
        &self,
        req: &ScoreRequest,
        prepared: &PreparedRequest<'_>,
    ) -> Result<RecordedRequest, Error> {
        let same = match &req.request_id {
            Some(id) => *id == prepared.request_id,
            None => prepared.keys.user == self.pseudo.id(IdKind::User, &req.user_id),
        };
        if !same {
            return Err(Error::Input(InputError::invalid(
                "request_id",
                "is not the request this assessment was prepared from",
            )));
        }
        match self.record_prepared(&prepared.checked.bind(req), prepared) {
            Some(Recorded::Fresh(s)) => Ok(RecordedRequest {
                snapshot: Some(Box::new(s)),
            }),
            None => Ok(RecordedRequest { snapshot: None }),
            Some(Recorded::Retry | Recorded::Conflict) => Err(id_conflict()),
        }
    }

    /// The feature half of [`Engine::finish_assessment`]: the features of `req` (the request
    /// `prepared` was read from and `recorded` recorded) against the history recorded with it.
    /// Pure: reads neither the store nor the clock.
    pub fn extract_assessment(
        &self,
        req: &ScoreRequest,
        prepared: &PreparedRequest<'_>,
        recorded: &RecordedRequest,
    ) -> Assessment {
        let valid = prepared.checked.bind(req);
        self.extract_prepared(&valid, prepared, recorded.snapshot.as_deref())
    }

    /// What [`Engine::score`] answers for a request of the default tenant assessed offline
    /// (`req`, the request `prepared` was read from; `a`, its assessment): the active model's
    /// trust score, decision and reasons, and the shadow model's view when one is set. Pure:
    /// reads neither the store nor the clock, so an offline re-scoring (`tessera report
    /// --model`) judges many assessments in parallel once the replay has extracted them in
    /// time order.
    pub fn judge_assessment(
        &self,
        req: &ScoreRequest,
        prepared: &PreparedRequest<'_>,
        a: &Assessment,
    ) -> (ScoreResponse, Option<ShadowScore>) {
        let valid = prepared.checked.bind(req);
        let receipt = self.receipt(&prepared.request);
        self.answer(&Tenant::default(), a, &valid, &receipt)
    }

    /// [`Engine::judge_assessment`] without the response's text: the decision, trust score and
    /// reason codes (in the response's order) of the active model, and the shadow model's
    /// decision and trust. The same judgement, field for field, without building reason
    /// messages, analyst detail or a receipt: what an offline re-scoring keeps of each request.
    pub fn judge_codes(
        &self,
        req: &ScoreRequest,
        prepared: &PreparedRequest<'_>,
        a: &Assessment,
    ) -> Judgement {
        let valid = prepared.checked.bind(req);
        let tenant = Tenant::default();
        let model = self.tenants.model(&tenant).unwrap_or_else(|| self.model());
        let policy = self.tenants.policy(&tenant).unwrap_or(&self.policy);
        let confidence = confidence(a);
        let j = self.judge(&model, policy, a, &valid, confidence, false);
        let shadow = self.shadow_model().map(|m| {
            let sj = self.judge(&m, policy, a, &valid, confidence, false);
            (sj.out.decision, sj.trust)
        });
        let mut reasons =
            explain::finish_codes(&j.found, &j.out.added, &j.split, &a.row, &a.findings);
        if valid.clock_skew_ms.is_some() {
            reasons.push(ReasonCode::ClockSkew);
        }
        Judgement {
            decision: j.out.decision,
            trust: j.trust,
            reasons,
            model_version: model.version().to_string(),
            shadow,
        }
    }

    /// Extracts the features of a validated request against its history snapshot.
    fn extract(&self, inputs: &Inputs<'_>, request_id: &str) -> Assessment {
        let mut row = [0f32; N_FEATURES];
        let findings = features::extract(inputs, &mut row);
        let country = match inputs.intel.map(|i| &i.location) {
            Some(Lookup::Found(l)) => l.country.map(str::to_string),
            _ => None,
        };
        Assessment {
            at_ms: inputs.req.at_ms,
            row,
            findings,
            request_id: request_id.to_string(),
            country,
        }
    }

    /// Applies the configured retention windows (`[retention]`) with `now_ms` as the clock:
    /// deletes what has not been touched within its window (see [`store::expire`]).
    pub fn expire(&self, now_ms: i64) -> Result<store::ExpiryStats, Error> {
        Ok(store::expire(self.store.as_ref(), now_ms, &self.retention)?)
    }

    /// Deletes the pending evidence older than the pending window at `now_ms`, and nothing
    /// else ([`store::expire_pending`]): for an offline replay, whose decisions it leaves as
    /// they are, to run in memory bounded by that window.
    pub fn expire_pending(&self, now_ms: i64) -> Result<store::ExpiryStats, Error> {
        Ok(store::expire_pending(
            self.store.as_ref(),
            now_ms,
            &self.retention,
        )?)
    }

    /// `Err` naming the problem while the store refuses writes (see [`ProfileStore::health`]).
    pub fn store_health(&self) -> Result<(), String> {
        self.store.health()
    }

    /// The deployment's evidence sources: in use, absent by design (not configured), or
    /// configured and failing (with why). The client sources (IP, device id) are per request
    /// and not reported here.
    pub fn source_report(&self) -> SourceReport {
        use crate::enrich::SourceState;
        let status = self.enricher.status();
        let mut report = SourceReport::default();
        for source in Source::ALL.into_iter().filter(|s| s.is_deployment()) {
            let state = match source {
                Source::Geo => status.city,
                // The Anonymous-IP database, or the free `[reputation]` lists instead.
                Source::Reputation
                    if status.anonymous_ip != SourceState::Failed
                        && self.enricher.reputation_lists().is_configured() =>
                {
                    SourceState::Loaded
                }
                Source::Reputation => status.anonymous_ip,
                Source::Store => match self.store.health() {
                    Ok(()) => SourceState::Loaded,
                    Err(problem) => {
                        report.failed.push((source, problem));
                        continue;
                    }
                },
                Source::Ip | Source::Device => continue,
            };
            match state {
                SourceState::Loaded => report.in_use = report.in_use.with(source),
                SourceState::NotConfigured => {
                    report.not_configured = report.not_configured.with(source)
                }
                SourceState::Failed => report.failed.push((
                    source,
                    "configured but could not be opened (see warnings); scored with neutral \
                     values, its reason code and at least step_up_otp"
                        .to_string(),
                )),
            }
        }
        report
    }

    /// Calls `done` once every store write made before this call (the relaxed activity of
    /// `score` included) is on stable storage, or with the failure; never blocks (see
    /// [`ProfileStore::on_durable`]).
    pub fn on_store_durable(&self, done: store::DurableDone) {
        self.store.on_durable(done);
    }
}

/// Reads and checks a model artifact: `builtin`, `rules`, or an artifact file (`active` is
/// resolved against `[model] dir` first, by [`crate::model::active::resolve`]).
pub fn load_artifact(path: &str) -> Result<Artifact, Error> {
    Ok(match path {
        "builtin" => Artifact::from_json(BUILTIN_MODEL, "builtin:models/default/model.json")?,
        "rules" => crate::model::rules::artifact(),
        p => Artifact::load(std::path::Path::new(p))?,
    })
}

/// The pseudonyms of a request's subjects under one tenant's key.
fn subject_keys(pseudo: &Pseudonymizer, valid: &ValidRequest<'_>) -> SubjectKeys {
    SubjectKeys {
        user: pseudo.id(IdKind::User, &valid.req.user_id),
        device: valid
            .req
            .device
            .as_ref()
            .and_then(|d| d.id.as_deref())
            .map(|id| pseudo.id(IdKind::Device, id)),
        ip: valid.ip.map(|ip| pseudo.ip(ip)),
    }
}

/// The evidence a verified outcome of this request would teach.
fn pending_evidence(
    valid: &ValidRequest<'_>,
    keys: &SubjectKeys,
    evidence: &features::Evidence,
) -> PendingEvidence {
    PendingEvidence {
        user: keys.user,
        at_ms: valid.at_ms,
        device: keys.device,
        ip: keys.ip,
        fix: evidence.fix.clone(),
        typing: evidence.typing.clone(),
        hour: features::context::utc_hour(valid.at_ms),
        attributes: evidence.attributes,
        ..PendingEvidence::default()
    }
}

/// What a retry must repeat: a hash of the caller and of every field of the request but its
/// timestamp (a broker may restamp a retry). Typing timings are hashed as bits, not printed.
/// Written into a per-thread buffer and hashed once (many small hasher updates cost more).
fn request_digest(caller: &str, req: &ScoreRequest) -> [u8; 16] {
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with_borrow_mut(|buf| {
        buf.clear();
        buf.extend_from_slice(caller.as_bytes());
        fn text(buf: &mut Vec<u8>, v: Option<&str>) {
            match v {
                Some(t) => {
                    buf.push(1);
                    buf.extend_from_slice(t.as_bytes());
                }
                None => buf.push(2),
            }
            buf.push(0);
        }
        text(buf, req.request_id.as_deref());
        text(buf, Some(&req.user_id));
        text(buf, req.session_id.as_deref());
        text(buf, Some(req.channel.as_str()));
        text(buf, req.action.map(|a| a.as_str()));
        text(buf, req.network.as_ref().and_then(|n| n.ip.as_deref()));
        text(
            buf,
            req.network
                .as_ref()
                .and_then(|n| n.sim_changed_at.as_deref()),
        );
        match &req.device {
            Some(d) => {
                text(buf, Some("device"));
                text(buf, d.id.as_deref());
                text(buf, d.user_agent.as_deref());
                text(buf, d.platform.as_deref());
                text(buf, d.timezone.as_deref());
                for l in &d.languages {
                    text(buf, Some(l));
                }
                text(buf, d.screen.as_deref());
                text(buf, d.webdriver.map(|w| if w { "true" } else { "false" }));
            }
            None => text(buf, None),
        }
        match &req.auth {
            Some(a) => {
                text(buf, Some("auth"));
                buf.extend_from_slice(&a.failed_attempts.to_le_bytes());
                for m in &a.passed_methods {
                    text(buf, Some(m));
                }
            }
            None => text(buf, None),
        }
        buf.extend_from_slice(&req.schema.to_le_bytes());
        buf.push(match req.consent.map(|c| c.behavioral_biometrics) {
            None => 0,
            Some(None) => 1,
            Some(Some(false)) => 2,
            Some(Some(true)) => 3,
        });
        for ev in req.typing.iter().flat_map(|t| &t.events) {
            buf.extend_from_slice(&ev.down_ms.to_bits().to_le_bytes());
            buf.extend_from_slice(&ev.up_ms.to_bits().to_le_bytes());
            buf.extend_from_slice(ev.key.as_deref().unwrap_or("\u{0}").as_bytes());
            buf.push(0);
        }
        let mut out = [0u8; 16];
        out.copy_from_slice(&blake3::hash(buf).as_bytes()[..16]);
        out
    })
}

/// Whether a request's typing may be compared and kept: consent given, or not required.
fn typing_allowed(consent: crate::domain::BiometricConsent, required: bool) -> bool {
    !required || consent == crate::domain::BiometricConsent::Given
}

/// The session already had failed attempts.
fn failed(valid: &ValidRequest<'_>) -> bool {
    valid
        .req
        .auth
        .as_ref()
        .is_some_and(|x| x.failed_attempts > 0)
}

/// A request id already bound to other evidence.
fn id_conflict() -> Error {
    Error::Conflict(InputError::invalid(
        "request_id",
        "already used for another request (another user, device or network, or offline \
         replay); request ids must be unique",
    ))
}

/// Reads and checks a policy file; the error names the file.
fn load_policy(path: &str) -> Result<PolicyTable, crate::policy::PolicyError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| crate::policy::PolicyError(format!("{path}: {e}")))?;
    PolicyTable::from_toml(&text)
        .map_err(|e| crate::policy::PolicyError(format!("{path}: {}", e.0)))
}

/// Loads the configured model: `builtin`, `rules`, or an artifact file.
pub fn load_model(path: &str) -> Result<Model, Error> {
    Ok(Model::from_artifact(&load_artifact(path)?))
}

/// How much evidence the score rests on, 0–1: 60 % for the share of the evidence the
/// deployment and channel can provide that this request did (typing, device, and the IP, geo,
/// reputation and store sources; a source absent by design is left out of the count, so a
/// deployment without a geo database is not penalised on every request), 40 % for the depth of
/// verified history (saturating at 20 verified events).
fn confidence(a: &Assessment) -> f64 {
    use crate::features::F;
    let u = &a.findings.unavailable;
    let mut expected = 1.0f32; // typing
    let mut present = f32::from(u8::from(a.row[F::TypingAbsent as usize] < 0.5));
    for source in Source::ALL {
        let missing = match source {
            Source::Device => a.row[F::DeviceAbsent as usize] >= 0.5,
            Source::Ip => a.row[F::NetworkIpAbsent as usize] >= 0.5,
            Source::Geo | Source::Reputation | Source::Store => u.get(source).is_some(),
        };
        if u.get(source) == Some(Absence::ByDesign) {
            continue;
        }
        expected += 1.0;
        present += f32::from(u8::from(!missing));
    }
    let history = (a.row[F::ContextHistoryLog as usize].exp_m1() / 20.0).min(1.0);
    (f64::from((0.6 * present / expected) + 0.4 * history) * 100.0).round() / 100.0
}

/// The sources this request's score rests on: every source not missing for it (the IP and the
/// device id only when the request carried them).
fn sources_used(a: &Assessment) -> Sources {
    use crate::features::F;
    let u = &a.findings.unavailable;
    Source::ALL
        .into_iter()
        .filter(|s| u.get(*s).is_none())
        .filter(|s| match s {
            Source::Ip => a.row[F::NetworkIpAbsent as usize] < 0.5,
            Source::Device => a.row[F::DeviceAbsent as usize] < 0.5,
            Source::Geo | Source::Reputation | Source::Store => true,
        })
        .fold(Sources::NONE, Sources::with)
}

/// Logs the entries read from each `[reputation]` file (names and counts only).
fn log_list_counts(counts: &ListCounts, what: &str) {
    for f in &counts.files {
        tracing::info!(list = %f.key, file = %f.file, entries = f.entries, "reputation list {what}");
    }
}

/// Wall clock, ms since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
