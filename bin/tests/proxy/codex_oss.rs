//! Codex CLI itself (`@openai/codex`, installed into `.tools/` by `scripts/setup`) in
//! `--oss --local-provider ollama` mode against the proxy and the simulated backend, with
//! `HOME` in a temporary folder: it checks `GET /v1/models`, `GET /api/version` (≥ 0.13.4),
//! `GET /api/tags`, then posts `/v1/responses` (clients.md §4 "Bonus"). `codex exec` must print
//! the answer and exit 0.

use std::process::Stdio;
use std::time::Duration;

use codex_pipe::sim::responses::SIM_TEXT;

use crate::chat::Env;
use crate::gemini::tool_binary;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_exec_oss_prints_the_answer_through_the_ollama_surface() {
    let env = Env::start().await;
    let home = tempfile::tempdir().expect("temporary HOME");
    let run = tokio::process::Command::new(tool_binary("codex", "CODEX_PIPE_TEST_CODEX"))
        .args([
            "exec",
            "--oss",
            "--local-provider",
            "ollama",
            "-m",
            "gpt-5.4",
            "--skip-git-repo-check",
            "-c",
            "check_for_update_on_startup=false",
            "-c",
            "analytics.enabled=false",
            "say hi",
        ])
        .current_dir(home.path())
        .env("HOME", home.path())
        .env_remove("CODEX_HOME")
        .env_remove("OPENAI_API_KEY")
        .env("CODEX_OSS_BASE_URL", format!("{}/v1", env.base))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .expect("codex exec took too long")
        .expect("run codex");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "codex exec failed ({:?})\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains(SIM_TEXT),
        "the answer is missing\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
}
