//! `tessera serve`: the HTTP scoring service on embedded defaults (built-in model and demo geo
//! data, redb store and audit log under `tessera-data/`). Prints where it listens and, when no
//! key is configured and `TESSERA_API_KEY` is unset, the dev key (generated on first start and kept
//! in `dev-api-key` beside the store, mode 0600).
//! A background thread applies the `[retention]` windows at start-up and every
//! `sweep_interval_s`, logging counts and appending one `retention` record per sweep to the
//! audit log (through the server's own writer), whether or not it deleted anything: at the
//! default hour that is 24 records a day (1,440 at the shortest interval, 60 s), next to one
//! record per scored request.
//! SIGINT and SIGTERM shut down gracefully: stop accepting, finish in-flight requests, close the
//! store (final checkpoint) and the logs, exit 0.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use tessera::Engine;
use tessera::audit::AuditLog;
use tessera::server::{AppState, auth, serve, tls};

use super::{CliError, load_config};

/// Arguments of `tessera serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration file (TOML).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Listen address (default: `[server] listen`, 127.0.0.1:8480).
    #[arg(long)]
    listen: Option<String>,
    /// Print a `[[server.keys]]` hash for KEY and exit.
    #[arg(long, value_name = "KEY")]
    hash_key: Option<String>,
}

/// The development key kept beside the store (created with mode 0600 on first start), so that
/// scripts and the README's curl example can read it: `$(cat tessera-data/dev-api-key)`.
fn dev_key(path: &Path) -> Result<String, CliError> {
    if let Ok(text) = std::fs::read_to_string(path) {
        let key = text.trim();
        if key.starts_with("tsk_") && key.len() >= 20 {
            return Ok(key.to_string());
        }
        return Err(format!(
            "{}: not a dev API key (delete it to get a new one)",
            path.display()
        )
        .into());
    }
    let key = auth::generate_key();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    std::io::Write::write_all(&mut f, format!("{key}\n").as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(key)
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    if let Some(key) = &args.hash_key {
        println!("hash = \"{}\"", auth::hash_key(key));
        return Ok(ExitCode::SUCCESS);
    }
    let mut cfg = load_config(args.config.as_ref())?;
    if let Some(l) = args.listen {
        cfg.server.listen = l;
        cfg.check().map_err(|e| format!("--listen: {e}"))?;
    }
    let tls = if cfg.server.tls_cert.is_empty() {
        None
    } else {
        Some(tls::acceptor(
            Path::new(&cfg.server.tls_cert),
            Path::new(&cfg.server.tls_key),
        )?)
    };
    let env_key = std::env::var("TESSERA_API_KEY")
        .ok()
        .filter(|k| !k.is_empty());
    let dev_key_file = Path::new(&cfg.store.path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("dev-api-key");
    let generated = if env_key.is_none() && cfg.server.keys.is_empty() {
        Some(dev_key(&dev_key_file)?)
    } else {
        None
    };
    let dev_key = env_key.as_deref().or(generated.as_deref());
    let engine = Engine::from_config(&cfg)?;
    for w in engine.warnings() {
        eprintln!("tessera: warning: {w}");
    }
    let state = Arc::new(AppState::new(engine, &cfg, dev_key)?);
    // Stopped and joined when `run` returns, so the engine (and its store's final flush) is
    // dropped before the process exits.
    let _sweeper = match cfg.retention.sweep_interval_s {
        0 => None,
        s => Some(Sweeper::start(
            Arc::clone(&state.engine),
            state.audit_log(),
            Duration::from_secs(s),
        )?),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&cfg.server.listen)
            .await
            .map_err(|e| format!("server.listen {}: {e}", cfg.server.listen))?;
        let addr = listener.local_addr()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        println!("tessera: listening on {scheme}://{addr}");
        if let Some(k) = &generated {
            println!(
                "tessera: dev API key (all scopes; kept in {}): {k}",
                dev_key_file.display()
            );
        }
        let shutdown = shutdown_signal()?;
        match tls {
            Some(acceptor) => {
                let listener = tls::TlsListener::new(listener, acceptor)?;
                serve(listener, state, shutdown).await?;
            }
            None => serve(listener, state, shutdown).await?,
        }
        Ok::<_, CliError>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (how systemd, Docker and Kubernetes stop a service):
/// the server then stops accepting, lets in-flight requests finish, and `run` drops the engine
/// (the store's final checkpoint) and exits 0. The handlers are installed before the first
/// connection is accepted, so an early SIGTERM is never the default "terminate at once".
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let int = tokio::signal::ctrl_c();
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = int => tracing::info!("SIGINT: shutting down"),
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        }
        #[cfg(not(unix))]
        let _ = int.await;
    })
}

/// The background retention sweep: [`Engine::expire`] now and then every interval, each sweep
/// audited.
struct Sweeper {
    stop: Option<Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl Sweeper {
    fn start(
        engine: Arc<Engine>,
        audit: Option<Arc<AuditLog>>,
        every: Duration,
    ) -> std::io::Result<Sweeper> {
        let (stop, stopped) = std::sync::mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("tessera-retention".into())
            .spawn(move || sweep(&engine, audit.as_deref(), every, &stopped))?;
        Ok(Sweeper {
            stop: Some(stop),
            handle: Some(handle),
        })
    }
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Sweeps until the sender disconnects; logs what went, as counts, and audits each sweep
/// (durably, before the next wait). A sweep whose record cannot be written still counts: the
/// data is due for deletion whatever the log says; the failure is logged as an error (the log
/// then refuses every append, and `/readyz` says so).
fn sweep(engine: &Engine, audit: Option<&AuditLog>, every: Duration, stopped: &Receiver<()>) {
    loop {
        let result = engine.expire(tessera::engine::now_ms());
        match &result {
            Ok(s) => tracing::info!(
                deleted = s.deleted(),
                profiles = s.profile.deleted,
                user_activity = s.user_activity.deleted,
                devices = s.device.deleted,
                devices_pruned = s.device.pruned,
                ips = s.ip.deleted,
                ips_pruned = s.ip.pruned,
                pending = s.pending.deleted,
                unreadable = s.unreadable,
                "retention sweep"
            ),
            Err(e) => tracing::warn!(error = %e, "retention sweep failed; will retry"),
        }
        if let Some(log) = audit {
            let event = super::store::retention_event(&result);
            if let Err(e) = log.append(&event, tessera::engine::now_ms()) {
                tracing::error!(error = %e, "retention sweep not audited");
            }
        }
        if !matches!(stopped.recv_timeout(every), Err(RecvTimeoutError::Timeout)) {
            return;
        }
    }
}
