//! Per-tenant scoring parts: the policy and model a tenant's requests are judged with, and
//! whether its typing needs consent, when the config gives it its own (`[tenants.NAME]`). Every other tenant, and the default one, uses the
//! engine's `[policy]` and `[model]`. Tenants' *data* needs nothing here: it is kept apart by
//! keying every pseudonym per tenant ([`crate::privacy::Pseudonymizer::for_tenant`]).

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::Config;
use crate::domain::Tenant;
use crate::error::Error;
use crate::model::Model;
use crate::policy::{PolicyError, PolicyTable};

/// What one tenant scores with instead of the defaults.
#[derive(Debug, Default)]
pub struct TenantParts {
    /// Its policy, if it has its own.
    pub policy: Option<PolicyTable>,
    /// Its model, if it has its own.
    pub model: Option<Arc<Model>>,
    /// Whether its typing needs the request's consent, if it differs from the engine's.
    pub typing_require_consent: Option<bool>,
}

/// Tenants with their own parts, by name.
#[derive(Debug, Default)]
pub(crate) struct Tenants(HashMap<String, TenantParts>);

impl Tenants {
    /// Loads every `[tenants.NAME]` policy and model; an error names the tenant's key.
    pub(crate) fn from_config(cfg: &Config) -> Result<Tenants, Error> {
        let mut out = HashMap::new();
        for (name, t) in &cfg.tenants {
            let policy = if t.policy.trim().is_empty() {
                None
            } else {
                Some(
                    super::load_policy(&t.policy)
                        .map_err(|e| PolicyError(format!("tenants.{name}.policy: {}", e.0)))?,
                )
            };
            let model = if t.model.trim().is_empty() {
                None
            } else {
                let path = crate::model::active::resolve(&t.model, &cfg.model.dir)?;
                Some(Arc::new(super::load_model(&path)?))
            };
            out.insert(
                name.clone(),
                TenantParts {
                    policy,
                    model,
                    typing_require_consent: t.typing_require_consent,
                },
            );
        }
        Ok(Tenants(out))
    }

    /// Sets one tenant's parts (for embedding Tessera as a library).
    pub(crate) fn set(&mut self, tenant: &Tenant, parts: TenantParts) {
        self.0.insert(tenant.as_str().to_string(), parts);
    }

    /// The tenant's own policy, if any.
    pub(crate) fn policy(&self, tenant: &Tenant) -> Option<&PolicyTable> {
        if tenant.is_default() {
            return None;
        }
        self.0.get(tenant.as_str()).and_then(|t| t.policy.as_ref())
    }

    /// The tenant's own consent requirement for typing, if any.
    pub(crate) fn typing_require_consent(&self, tenant: &Tenant) -> Option<bool> {
        self.0
            .get(tenant.as_str())
            .and_then(|t| t.typing_require_consent)
    }

    /// The tenant's own model, if any.
    pub(crate) fn model(&self, tenant: &Tenant) -> Option<Arc<Model>> {
        if tenant.is_default() {
            return None;
        }
        self.0.get(tenant.as_str()).and_then(|t| t.model.clone())
    }
}
