//! `tessera serve`: the HTTP scoring service on embedded defaults (built-in model and demo geo
//! data, redb store and audit log under `tessera-data/`). Prints where it listens and, when no
//! key is configured and `TESSERA_API_KEY` is unset, a freshly generated dev key (once).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use tessera::Engine;
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
    let generated = (env_key.is_none() && cfg.server.keys.is_empty()).then(auth::generate_key);
    let dev_key = env_key.as_deref().or(generated.as_deref());
    let engine = Engine::from_config(&cfg)?;
    for w in engine.warnings() {
        eprintln!("tessera: warning: {w}");
    }
    let state = Arc::new(AppState::new(engine, &cfg, dev_key)?);
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
            println!("tessera: dev API key (all scopes; shown once): {k}");
        }
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
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
