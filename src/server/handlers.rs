//! Request handlers: authenticate, check the scope and rate, read a bounded JSON body, call the
//! engine, audit, answer. Order of checks: key (401), scope (403), rate (429), content type
//! (415), size (413), JSON (400), values (422). No raw user ids or full IPs are logged.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::auth::{self, Caller, Scope};
use super::error::ApiError;
use crate::audit::AuditEvent;
use crate::domain::{Action, Clock, InputError, OutcomeRecord, ScoreRequest, Tenant};
use crate::engine::{Scored, now_ms};

/// The OpenAPI 3 document served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, ApiError> {
    serde_json::to_string(v).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Checks the client address's failed-authentication allowance, the bearer key (scheme in any
/// case; over [`auth::MAX_KEY_BYTES`] refused unhashed), the scope and the key's rate limit. Once
/// the key is known, notes its tenant for the request ([`auth::note_tenant`]).
pub(super) fn authorize(
    st: &AppState,
    headers: &HeaderMap,
    scope: Option<Scope>,
) -> Result<Caller, ApiError> {
    let now = Instant::now();
    let peer = auth::current_peer();
    st.auth_failures
        .check(peer, now)
        .map_err(ApiError::AuthThrottled)?;
    let caller = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(auth::bearer_key)
        .and_then(|key| st.keys.check(key))
        .cloned();
    let Some(caller) = caller else {
        st.auth_failures.failed(peer, now);
        return Err(ApiError::Unauthenticated);
    };
    auth::note_tenant(st.metrics.tenant_slot(&caller.tenant));
    if let Some(scope) = scope
        && !caller.has(scope)
    {
        return Err(ApiError::Forbidden(scope.as_str()));
    }
    st.limiter
        .take(&caller.key_id, now)
        .map_err(ApiError::RateLimited)?;
    Ok(caller)
}

/// Whether the request says its body is JSON (`Content-Type: application/json`, any parameters).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// Reads a JSON body within the size limit, as UTF-8 text.
async fn json_body(st: &AppState, headers: &HeaderMap, body: Body) -> Result<String, ApiError> {
    if !is_json(headers) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let limit = st.settings.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::TooLarge(limit));
    }
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::TooLarge(limit))?;
    String::from_utf8(bytes.to_vec()).map_err(|_| {
        ApiError::Input(InputError::Malformed {
            field: ".".into(),
            problem: "body is not UTF-8".into(),
        })
    })
}

/// Runs blocking work (store transactions, file I/O with fsync) off the async workers; a panic
/// or cancellation of that work is an internal error.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Appends audit events and waits (without blocking a worker) until they are durable.
async fn audit(st: &Arc<AppState>, events: Vec<AuditEvent>) -> Result<(), ApiError> {
    let Some(log) = st.audit.clone() else {
        return Ok(());
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    log.submit(
        events,
        now_ms(),
        Box::new(move |r| {
            let _ = tx.send(r);
        }),
    );
    rx.await
        .map_err(|_| ApiError::Internal("audit writer stopped".into()))?
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// The tenant of the key (checked when the config was loaded).
fn tenant_of(caller: &Caller) -> Result<Tenant, ApiError> {
    Tenant::parse("tenant", &caller.tenant)
        .map_err(|_| ApiError::Internal("a key's tenant name failed its check".into()))
}

/// Waits (without blocking a worker) until every store write made so far, this request's
/// relaxed activity and pending evidence included, is durable.
async fn store_durable(st: &Arc<AppState>) -> Result<(), ApiError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    st.engine.on_store_durable(Box::new(move |r| {
        let _ = tx.send(r);
    }));
    rx.await
        .map_err(|_| ApiError::Internal("store log writer stopped".into()))?
        .map_err(|e| ApiError::Internal(e.to_string()))
}

fn score_event(
    st: &AppState,
    tenant: &Tenant,
    req: &ScoreRequest,
    scored: &Scored,
    key: &str,
) -> AuditEvent {
    let (resp, shadow) = (&scored.response, &scored.shadow);
    // Checked when the request was scored; canonical text, or as `server.audit_ip` says.
    let ip = req
        .network
        .as_ref()
        .and_then(|n| n.ip.as_deref())
        .and_then(|ip| ip.trim().parse().ok())
        .and_then(|ip| st.settings.audit_ip.apply(ip));
    let device = req.device.as_ref().and_then(|d| d.id.as_deref());
    AuditEvent {
        shadow_model_version: shadow.as_ref().map(|s| s.model_version.clone()),
        shadow_trust_score: shadow.as_ref().map(|s| s.trust_score.value()),
        shadow_decision: shadow.as_ref().map(|s| s.decision.as_str().into()),
        method: "score".into(),
        request_id: Some(resp.request_id.clone()),
        user: Some(st.engine.user_pseudonym_in(tenant, &req.user_id).to_hex()),
        device: device.map(|id| st.engine.device_pseudonym_in(tenant, id).to_hex()),
        ip,
        country: scored.country.clone(),
        asn: scored.asn,
        channel: Some(req.channel.as_str().into()),
        // `login` when absent, as validation reads it.
        action: Some(req.action.unwrap_or(Action::Login).as_str().into()),
        decision: Some(resp.decision.as_str().into()),
        trust_score: Some(resp.trust_score.value()),
        reasons: resp
            .reasons
            .iter()
            .map(|r| r.code.as_str().to_string())
            .collect(),
        model_version: Some(resp.model_version.clone()),
        key_id: Some(key.to_string()),
        tenant: Some(tenant.as_str().to_string()),
        replayed: scored.replayed,
        biometric_consent: Some(scored.typing_consent.0.as_str().into()),
        biometric_consent_required: scored.typing_consent.1,
        ..AuditEvent::default()
    }
}

/// The answer as sent: the engine's JSON (made once, kept for retries), or serialised here when
/// the engine kept none.
fn answer_json(scored: Scored) -> Result<String, ApiError> {
    if scored.json.is_empty() {
        to_json(&scored.response)
    } else {
        Ok(scored.json)
    }
}

/// Scores one request of `tenant` at the server's receive time.
fn score_one(
    st: &AppState,
    tenant: &Tenant,
    key_id: &str,
    req: &ScoreRequest,
) -> Result<Scored, crate::Error> {
    let scored = st
        .engine
        .score_request(tenant, key_id, req, Clock::Live(now_ms()))?;
    let resp = &scored.response;
    if let Some(s) = &scored.shadow {
        let agrees = s.decision == resp.decision;
        st.metrics
            .shadow(tenant.as_str(), s.decision.as_str(), agrees);
    }
    tracing::Span::current().record("request_id", resp.request_id.as_str());
    if !scored.replayed {
        let action = req.action_or_default();
        st.metrics
            .decision(tenant.as_str(), req.channel, action, resp);
    }
    tracing::debug!(
        request_id = %resp.request_id,
        user = %st.engine.user_pseudonym_in(tenant, &req.user_id).to_hex(),
        ip = %req.network.as_ref().and_then(|n| n.ip.as_deref()).and_then(|ip| ip.parse().ok())
            .map(crate::privacy::truncate_ip).unwrap_or_default(),
        decision = resp.decision.as_str(),
        replayed = scored.replayed,
        "scored"
    );
    Ok(scored)
}

/// `POST /v1/score`.
pub async fn score(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let caller = authorize(&st, &headers, Some(Scope::Score))?;
    let tenant = tenant_of(&caller)?;
    let text = json_body(&st, &headers, body).await?;
    let req = ScoreRequest::from_json(&text).map_err(ApiError::Input)?;
    let scored = score_one(&st, &tenant, &caller.key_id, &req)?;
    let event = score_event(&st, &tenant, &req, &scored, &caller.key_id);
    let (audited, stored) = tokio::join!(audit(&st, vec![event]), store_durable(&st));
    audited.and(stored)?;
    Ok(json_response(StatusCode::OK, answer_json(scored)?))
}

/// `POST /v1/score/batch`: a JSON array of requests; each answer is a response or an error.
pub async fn score_batch(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let caller = authorize(&st, &headers, Some(Scope::Score))?;
    let tenant = tenant_of(&caller)?;
    let text = json_body(&st, &headers, body).await?;
    let reqs: Vec<ScoreRequest> =
        crate::domain::error::parse_json(&text).map_err(ApiError::Input)?;
    if reqs.len() > st.settings.max_batch {
        return Err(ApiError::Input(InputError::invalid(
            ".",
            format!(
                "batch of {} exceeds {} requests",
                reqs.len(),
                st.settings.max_batch
            ),
        )));
    }
    // One token per scored item: the request took one, the other items take theirs (or none).
    if let Some(extra) = reqs.len().checked_sub(1).filter(|n| *n > 0) {
        let burst = st.limiter.burst();
        let extra = u32::try_from(extra)
            .ok()
            .filter(|n| *n < burst)
            .ok_or_else(|| {
                ApiError::Input(InputError::invalid(
                    ".",
                    format!("batch exceeds this key's rate burst of {burst} requests"),
                ))
            })?;
        st.limiter
            .take_n(&caller.key_id, extra, Instant::now())
            .map_err(ApiError::RateLimited)?;
    }
    let mut results = Vec::with_capacity(reqs.len());
    let mut events = Vec::with_capacity(reqs.len());
    for (i, req) in reqs.iter().enumerate() {
        match score_one(&st, &tenant, &caller.key_id, req) {
            Ok(scored) => {
                events.push(score_event(&st, &tenant, req, &scored, &caller.key_id));
                results.push(answer_json(scored)?);
            }
            Err(e @ (crate::Error::Input(_) | crate::Error::Conflict(_))) => {
                let (code, input) = match e {
                    crate::Error::Conflict(c) => ("conflict", c),
                    crate::Error::Input(i) => ("invalid", i),
                    _ => unreachable!("matched above"),
                };
                results.push(
                    serde_json::json!({"error": {
                        "code": code, "field": format!("[{i}].{}", input.field()),
                        "message": input.to_string()
                    }})
                    .to_string(),
                )
            }
            Err(e) => return Err(e.into()),
        }
    }
    let (audited, stored) = tokio::join!(audit(&st, events), store_durable(&st));
    audited.and(stored)?;
    // Each answer is already JSON (a scored answer as sent, kept for retries).
    Ok(json_response(
        StatusCode::OK,
        format!("{{\"results\":[{}]}}", results.join(",")),
    ))
}

/// Appends one audit record after a change recorded first then failed: same method, request
/// and user, `status: failed`. Best effort: the log that refused the first may refuse this too.
async fn audit_failure(st: &Arc<AppState>, mut event: AuditEvent) {
    event.status = Some("failed".into());
    if let Err(e) = audit(st, vec![event]).await {
        tracing::error!(error = ?e, "could not audit a failed change");
    }
}

/// `POST /v1/outcomes`: applies a verified outcome of the key's tenant.
///
/// Order: the outcome is checked (unknown request, wrong user or receipt → 4xx, nothing
/// written); then its audit record, then its label line are made durable; only then is the
/// profile changed (durably) and the answer sent. A failure of either log leaves the profile
/// untouched; a failure after the audit record is followed by a `status: failed` record. A replay of an
/// outcome already applied answers as the first did, is audited as `replayed` and adds no
/// label line.
pub async fn outcomes(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let caller = authorize(&st, &headers, Some(Scope::Outcomes))?;
    let tenant = tenant_of(&caller)?;
    let text = json_body(&st, &headers, body).await?;
    let rec = OutcomeRecord::from_json(&text).map_err(ApiError::Input)?;
    // From here on the steps run in their own task: the request deadline may drop this
    // handler, but never between the audit record and the change it announces.
    tokio::spawn(apply_outcome(st, caller.key_id, tenant, rec))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// The checked, audited, labelled, applied sequence of [`outcomes`].
async fn apply_outcome(
    st: Arc<AppState>,
    key_id: String,
    tenant: Tenant,
    rec: OutcomeRecord,
) -> Result<Response, ApiError> {
    let received = now_ms();
    let clock = Clock::Live(received);
    let (st2, rec2, t2) = (Arc::clone(&st), rec.clone(), tenant.clone());
    let planned = blocking(move || st2.engine.check_outcome(&t2, &rec2, clock)).await??;
    let user = st.engine.user_pseudonym_in(&tenant, &rec.user_id).to_hex();
    let event = AuditEvent {
        method: "outcome".into(),
        request_id: Some(rec.request_id.clone()),
        user: Some(user.clone()),
        outcome: Some(rec.outcome.as_str().into()),
        key_id: Some(key_id),
        tenant: Some(tenant.as_str().to_string()),
        replayed: planned.replayed,
        ..AuditEvent::default()
    };
    let answer = |effect: crate::store::OutcomeEffect| {
        json_response(
            StatusCode::OK,
            serde_json::json!({"request_id": rec.request_id, "effect": effect.as_str()})
                .to_string(),
        )
    };
    if planned.replayed {
        // Answered as the first was, once that first application is durable.
        let (audited, stored) = tokio::join!(audit(&st, vec![event]), store_durable(&st));
        audited.and(stored)?;
        return Ok(answer(planned.effect));
    }
    // The label carries the time the outcome took effect (the receive time): the client's
    // claim is not what training should order labels by.
    let at = chrono::DateTime::from_timestamp_millis(received)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .ok_or_else(|| ApiError::Internal("clock out of range".into()))?;
    let label = crate::domain::LabelRecord::new(&rec.request_id, &user, rec.outcome, &at, received)
        .in_tenant(&tenant)
        .to_line();
    audit(&st, vec![event.clone()]).await?;
    let st3 = Arc::clone(&st);
    if let Err(e) = blocking(move || st3.label(&label))
        .await
        .and_then(|r| r.map_err(|e| ApiError::Internal(format!("label log: {e}"))))
    {
        audit_failure(&st, event).await;
        return Err(e);
    }
    let (st4, t4) = (Arc::clone(&st), tenant.clone());
    let rec4 = rec.clone();
    match blocking(move || st4.engine.apply_outcome(&t4, &rec4, clock)).await? {
        Ok(applied) => {
            st.metrics.outcome(tenant.as_str(), rec.outcome);
            Ok(answer(applied.effect))
        }
        Err(e) => {
            audit_failure(&st, event).await;
            Err(e.into())
        }
    }
}

/// `GET /v1/model`.
pub async fn model(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&st, &headers, None)?;
    let internal = |e: serde_json::Error| ApiError::Internal(e.to_string());
    let mut info = serde_json::to_value(st.model_info()).map_err(internal)?;
    info["sources"] = serde_json::to_value(st.engine.source_report()).map_err(internal)?;
    Ok(json_response(StatusCode::OK, info.to_string()))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReloadBody {
    #[serde(default)]
    path: Option<String>,
    /// Shadow model to set (`""` removes it). Alone, only the shadow changes.
    #[serde(default)]
    shadow: Option<String>,
}

/// `POST /v1/admin/reload`: `{"path": FILE}` and/or `{"shadow": FILE}` (names inside
/// `[model] dir`, or `builtin`, `rules`); an empty body, however framed, reloads the configured
/// model. Every reload also reads the `[reputation]` list files again, first: a list that fails
/// refuses the whole reload (`lists_refused`; old lists and model keep serving); a model
/// refused after the lists were swapped does not undo them. Every attempt past authentication is
/// audited (`outcome` `ok` or `refused`, the refusal code in `reasons`, the entries per list in
/// `list_entries`) before the answer goes out.
pub async fn reload(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let caller = authorize(&st, &headers, Some(Scope::Admin))?;
    // The active model serves every tenant without its own: only the operator's tenant
    // (`default`) may swap it.
    if caller.tenant != Tenant::DEFAULT {
        return Err(ApiError::Forbidden("admin of the default tenant"));
    }
    let mut lists = None;
    let result = reload_attempt(&st, &headers, body, &mut lists).await;
    let mut event = AuditEvent {
        method: "reload".into(),
        key_id: Some(caller.key_id),
        tenant: Some(caller.tenant.clone()),
        ..AuditEvent::default()
    };
    if let Some(counts) = &lists {
        event.list_entries = counts
            .totals()
            .into_iter()
            .map(|(k, n)| (k.to_string(), n as u64))
            .collect();
    }
    match &result {
        Ok((version, shadow)) => {
            event.outcome = Some("ok".into());
            event.model_version = Some(version.clone());
            event.shadow_model_version = shadow.clone();
        }
        Err((code, _)) => {
            event.outcome = Some("refused".into());
            event.reasons = vec![(*code).to_string()];
        }
    }
    audit(&st, vec![event]).await?;
    let (version, shadow) = result.map_err(|(_, e)| e)?;
    let mut answer = serde_json::json!({"model_version": version, "shadow_model_version": shadow});
    if let Some(counts) = lists.filter(|c| !c.files.is_empty()) {
        let files: Vec<_> = counts
            .files
            .iter()
            .map(|f| serde_json::json!({"key": f.key, "file": f.file, "entries": f.entries}))
            .collect();
        answer["reputation_lists"] = serde_json::Value::Array(files);
    }
    Ok(json_response(StatusCode::OK, answer.to_string()))
}

/// Reads the reload body (whatever its framing) and runs the reload off the async workers.
/// A refusal carries its audit code.
async fn reload_attempt(
    st: &Arc<AppState>,
    headers: &HeaderMap,
    body: Body,
    lists: &mut Option<crate::enrich::ListCounts>,
) -> Result<(String, Option<String>), (&'static str, ApiError)> {
    let limit = st.settings.max_body_bytes;
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ("body_too_large", ApiError::TooLarge(limit)))?;
    let req = if bytes.iter().all(u8::is_ascii_whitespace) {
        ReloadBody::default()
    } else {
        if !is_json(headers) {
            return Err(("unsupported_media_type", ApiError::UnsupportedMediaType));
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            let e = InputError::Malformed {
                field: ".".into(),
                problem: "body is not UTF-8".into(),
            };
            ("malformed_body", ApiError::Input(e))
        })?;
        if !text.trim_start().starts_with('{') {
            let e = InputError::Malformed {
                field: ".".into(),
                problem: "expected a JSON object".into(),
            };
            return Err(("malformed_body", ApiError::Input(e)));
        }
        crate::domain::error::parse_json::<ReloadBody>(text)
            .map_err(|e| ("malformed_body", ApiError::Input(e)))?
    };
    // The lists first: a bad list file refuses the reload before anything changed.
    let st2 = Arc::clone(st);
    let counts = blocking(move || st2.engine.reload_reputation())
        .await
        .map_err(|e| ("internal", e))?
        .map_err(|e| {
            let key = match &e {
                crate::enrich::EnrichError::ReputationList { key, .. } => key.clone(),
                _ => "reputation".to_string(),
            };
            tracing::warn!(error = %e, "reload: reputation lists refused; the old lists keep serving");
            let problem = e.to_string();
            ("lists_refused", ApiError::ListsRefused { key, problem })
        })?;
    if !counts.files.is_empty() {
        tracing::warn!(entries = ?counts.totals(), "reload: reputation lists reloaded");
    }
    *lists = Some(counts);
    let st2 = Arc::clone(st);
    let refused = |field: &'static str| {
        move |r: super::artifacts::Refusal| {
            let e = match r.code {
                "not_found" | "outside_model_dir" => {
                    ApiError::NotFound(format!("{field}: {}", r.problem))
                }
                _ => ApiError::ModelRefused {
                    field,
                    problem: r.problem,
                },
            };
            (r.code, e)
        }
    };
    blocking(move || {
        if req.path.is_some() || req.shadow.is_none() {
            st2.reload(req.path.as_deref()).map_err(refused("path"))?;
        }
        if let Some(s) = &req.shadow {
            st2.reload_shadow(Some(s)).map_err(refused("shadow"))?;
        }
        let info = st2.model_info();
        Ok((info.model_version, info.shadow.map(|s| s.model_version)))
    })
    .await
    .map_err(|e| ("internal", e))?
}

fn check_user_id(id: &str) -> Result<(), ApiError> {
    if id.is_empty() || id.chars().count() > 128 {
        return Err(ApiError::Input(InputError::invalid(
            "user_id",
            "must be 1–128 characters",
        )));
    }
    Ok(())
}

/// An admin operation on one user of the key's tenant: checks the key and the id, audits it
/// as `method` under the user's keyed hash (durably, *before* acting, so nothing is exported or
/// erased unaudited), runs `op` off the async workers; a failure of `op` is followed by a
/// `status: failed` record. Returns `op`'s result and that hash.
async fn user_admin<T: Send + 'static>(
    st: &Arc<AppState>,
    headers: &HeaderMap,
    id: Result<Path<String>, PathRejection>,
    method: &str,
    op: impl FnOnce(&crate::Engine, &Tenant, &str) -> Result<T, crate::Error> + Send + 'static,
) -> Result<(T, String), ApiError> {
    let caller = authorize(st, headers, Some(Scope::Admin))?;
    let tenant = tenant_of(&caller)?;
    let Path(id) = id.map_err(|_| {
        ApiError::Input(InputError::Malformed {
            field: "user_id".into(),
            problem: "the path segment is not valid percent-encoded UTF-8".into(),
        })
    })?;
    check_user_id(&id)?;
    let user = st.engine.user_pseudonym_in(&tenant, &id).to_hex();
    let event = AuditEvent {
        method: method.into(),
        user: Some(user.clone()),
        key_id: Some(caller.key_id),
        tenant: Some(tenant.as_str().to_string()),
        ..AuditEvent::default()
    };
    // Audit, act and (on failure) audit the failure in a task of their own, so the request
    // deadline cannot stop the sequence between the record and the act.
    let st = Arc::clone(st);
    let out = tokio::spawn(async move {
        audit(&st, vec![event.clone()]).await?;
        let st2 = Arc::clone(&st);
        match blocking(move || op(&st2.engine, &tenant, &id)).await? {
            Ok(out) => Ok(out),
            Err(e) => {
                audit_failure(&st, event).await;
                Err(ApiError::from(e))
            }
        }
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok((out, user))
}

/// `GET /v1/users/{id}/profile`: what Tessera holds about a user (admin).
pub async fn export_profile(
    State(st): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (export, user) = user_admin(&st, &headers, id, "export", |e, t, id| {
        e.export_profile_in(t, id)
    })
    .await?;
    let export = export.ok_or_else(|| ApiError::NotFound("no data held for this user".into()))?;
    Ok(json_response(
        StatusCode::OK,
        serde_json::json!({"user": user, "profile": export}).to_string(),
    ))
}

/// `DELETE /v1/users/{id}`: erases everything held about a user (admin): `erased` says whether
/// anything was held, `removed` counts what went (see [`crate::store::erase_user`]).
pub async fn erase_user(
    State(st): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (erased, _) = user_admin(&st, &headers, id, "erase", |e, t, id| {
        e.erase_user_in(t, id)
    })
    .await?;
    Ok(json_response(
        StatusCode::OK,
        serde_json::json!({"erased": erased.any(), "removed": erased}).to_string(),
    ))
}

/// `GET /v1/audit/head` (admin): records durably in the audit log and the last one's hash, to be
/// kept elsewhere as an anchor (`tessera audit verify FILE --anchor RECORDS:HASH`).
pub async fn audit_head(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = authorize(&st, &headers, Some(Scope::Admin))?;
    // One chain holds every tenant's records: its head is the operator's (default tenant).
    if caller.tenant != Tenant::DEFAULT {
        return Err(ApiError::Forbidden("admin of the default tenant"));
    }
    let log = st
        .audit
        .as_ref()
        .ok_or_else(|| ApiError::NotFound("the audit log is disabled".into()))?;
    Ok(json_response(StatusCode::OK, to_json(&log.head())?))
}

/// `GET /healthz`: the process answers.
pub async fn healthz() -> Response {
    json_response(StatusCode::OK, r#"{"status":"ok"}"#.to_string())
}

/// `GET /readyz`: a model is loaded and the audit log, label log and store accept writes; lists
/// start-up warnings (unavailable geo sources). 503 with `failing` (`source`, `problem`) while
/// any of them refuses writes.
pub async fn readyz(State(st): State<Arc<AppState>>) -> Response {
    let checks = [
        ("audit_log", st.audit.as_ref().map(|l| l.health())),
        ("label_log", st.labels.as_ref().map(|l| l.health())),
        ("store", Some(st.engine.store_health())),
    ];
    let sources = st.engine.source_report();
    let mut failing: Vec<_> = checks
        .into_iter()
        .filter_map(|(source, health)| match health {
            Some(Err(problem)) => Some(serde_json::json!({"source": source, "problem": problem})),
            _ => None,
        })
        .collect();
    // A configured evidence source that fails (a missing or corrupt geo database) costs every
    // request friction: not ready, so the orchestrator and the operator see it. The store is
    // already checked above.
    for (source, problem) in &sources.failed {
        if *source != crate::domain::Source::Store {
            failing.push(serde_json::json!({"source": source.as_str(), "problem": problem}));
        }
    }
    let mut body = serde_json::json!({
        "status": "ready",
        "model_version": st.model_info().model_version,
        "sources": sources,
        "warnings": st.engine.warnings(),
    });
    if failing.is_empty() {
        return json_response(StatusCode::OK, body.to_string());
    }
    body["status"] = "not_ready".into();
    body["failing"] = failing.into();
    json_response(StatusCode::SERVICE_UNAVAILABLE, body.to_string())
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(st): State<Arc<AppState>>) -> Response {
    let text = st.metrics.render(&st.model_info().model_version);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        text,
    )
        .into_response()
}

/// `GET /openapi.json`.
pub async fn openapi() -> Response {
    json_response(StatusCode::OK, OPENAPI.to_string())
}
