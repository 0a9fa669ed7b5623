//! `codex-pipe sim`: run the offline simulated backend standalone.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::Args;

use crate::sim::{Sim, SimConfig};

/// Arguments of `sim`.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address to listen on.
    #[arg(long, env = "CODEX_PIPE_SIM_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "CODEX_PIPE_SIM_PORT", default_value_t = 8789)]
    pub port: u16,
    /// Copy every accepted upload into this directory (`NNNN.<ext>` + `NNNN.json`).
    #[arg(long, env = "CODEX_PIPE_SIM_RECORD_DIR", value_name = "DIR")]
    pub record_dir: Option<PathBuf>,
    /// Write a simulated login (an auth.json the simulator accepts) to this path.
    #[arg(long, value_name = "PATH")]
    pub write_auth: Option<PathBuf>,
}

/// Run the simulator until Ctrl-C.
pub async fn run(args: SimArgs) -> anyhow::Result<u8> {
    let sim = Sim::start(
        SocketAddr::new(args.host, args.port),
        SimConfig {
            record_dir: args.record_dir,
        },
    )
    .await?;
    if let Some(path) = &args.write_auth {
        sim.write_auth_json(path)?;
        println!("login written to {}", path.display());
    }
    println!("codex-pipe simulated backend (a test double; it does not recognise speech)");
    println!("  base URL:    {}", sim.base_url());
    println!("  transcribe:  {}", sim.transcribe_url());
    println!("  oauth token: {}", sim.refresh_url());
    tokio::signal::ctrl_c().await?;
    Ok(0)
}
