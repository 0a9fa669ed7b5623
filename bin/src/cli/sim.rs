//! `codex-pipe sim`: run the offline simulated backend standalone.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::sim::transcribe::{FailMode, TranscribeScenario};
use crate::sim::{Sim, SimConfig};

/// How the failing segment fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailArg {
    /// HTTP 500 for its first upload, success afterwards.
    Once,
    /// HTTP 500 for every upload.
    Always,
}

/// Scenarios of the simulated transcribe endpoint (for tests and benchmarks).
#[derive(Debug, Clone, Args)]
pub struct SimScenarioArgs {
    /// Simulator: answer each transcription after this many milliseconds.
    #[arg(
        long,
        env = "CODEX_PIPE_SIM_DELAY_MS",
        default_value_t = 0,
        value_name = "MS"
    )]
    pub sim_delay_ms: u64,
    /// Simulator: answer the upload of segment N (from 1) of long audio with HTTP 500.
    #[arg(long, env = "CODEX_PIPE_SIM_FAIL_SEGMENT", value_name = "N")]
    pub sim_fail_segment: Option<usize>,
    /// Simulator: fail that segment once (then succeed) or always.
    #[arg(long, value_enum, env = "CODEX_PIPE_SIM_FAIL", default_value = "once")]
    pub sim_fail: FailArg,
}

impl SimScenarioArgs {
    /// The scenario these flags describe.
    pub fn scenario(&self) -> TranscribeScenario {
        TranscribeScenario {
            delay: Duration::from_millis(self.sim_delay_ms),
            fail_segment: self.sim_fail_segment,
            fail_mode: match self.sim_fail {
                FailArg::Once => FailMode::Once,
                FailArg::Always => FailMode::Always,
            },
        }
    }
}

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
    /// Delay and failure scenarios of the transcribe endpoint.
    #[command(flatten)]
    pub scenario: SimScenarioArgs,
}

/// Run the simulator until Ctrl-C.
pub async fn run(args: SimArgs) -> anyhow::Result<u8> {
    let sim = Sim::start(
        SocketAddr::new(args.host, args.port),
        SimConfig {
            record_dir: args.record_dir,
            transcribe: args.scenario.scenario(),
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
