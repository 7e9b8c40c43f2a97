//! `tessera geodb build --csv FILE --out FILE [--layout L] [--ip-version 4|6]`: writes a
//! MaxMind-DB-format file from a CSV of networks and attributes (see `data/README.md`), in
//! Tessera's own layout or shaped as DB-IP City Lite, ip-location-db or IPinfo Lite files are.

use std::path::PathBuf;
use std::process::ExitCode;

use tessera::geodb::{BuildOptions, IpVersion, Layout};

use super::CliError;

/// Arguments of `tessera geodb`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Build a .mmdb file from a CSV.
    Build {
        /// Input CSV (e.g. data/geo/demo-geo.csv).
        #[arg(long)]
        csv: PathBuf,
        /// Output .mmdb file.
        #[arg(long)]
        out: PathBuf,
        /// Record layout: maxmind (Tessera's GeoIP2-schema file, all three roles), dbip (DB-IP
        /// City Lite), ip-location-db (flat city, one family per file) or ipinfo-lite.
        #[arg(long, default_value = "maxmind", value_parser = parse_layout)]
        layout: Layout,
        /// Keep only this address family's rows and write a tree of that family only
        /// (required for ip-location-db); absent = both families in one IPv6 tree.
        #[arg(long, value_parser = parse_ip_version)]
        ip_version: Option<IpVersion>,
    },
}

fn parse_layout(s: &str) -> Result<Layout, String> {
    Layout::ALL
        .into_iter()
        .find(|l| l.name() == s)
        .ok_or_else(|| {
            let names: Vec<&str> = Layout::ALL.iter().map(|l| l.name()).collect();
            format!("expected one of {}", names.join(", "))
        })
}

fn parse_ip_version(s: &str) -> Result<IpVersion, String> {
    match s {
        "4" => Ok(IpVersion::V4),
        "6" => Ok(IpVersion::V6),
        _ => Err("expected 4 or 6".to_owned()),
    }
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    match args.command {
        Command::Build {
            csv,
            out,
            layout,
            ip_version,
        } => {
            let opts = BuildOptions::now(layout, ip_version);
            let summary = tessera::geodb::write_file_with(&csv, &out, &opts)?;
            println!(
                "wrote {} ({}, database_type `{}`): {summary:?}",
                out.display(),
                layout.name(),
                layout.database_type(ip_version)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
