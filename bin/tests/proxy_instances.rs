//! Two real `codex-pipe-proxy` processes, each with its own copy of the login file, sharing one
//! `redis-server`: 100 concurrent requests meeting an expired token cost one refresh; Redis going
//! away does not stop them; `codex-pipe accounts list|check` read the shared state.

use std::io::BufRead as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use codex_pipe::sim::responses::responses_base_url;
use codex_pipe::sim::{Sim, SimConfig};
use serde_json::{json, Value};

#[path = "support/redis_server.rs"]
#[allow(dead_code)] // a helper shared with tests/accounts.rs, which uses all of it
mod redis_server;
use redis_server::RedisServer;

/// A child process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a proxy on a free port over `auth_file`; returns it and its base URL.
fn proxy(sim: &Sim, auth_file: &Path, redis: &str) -> (Proc, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_codex-pipe-proxy"))
        .args(["--port", "0", "--default-model", "gpt-5.4"])
        .arg("--auth-file")
        .arg(auth_file)
        .args(["--refresh-url", &sim.refresh_url()])
        .args(["--upstream-base-url", &responses_base_url(&sim.base_url())])
        .args(["--redis-url", redis, "--redis-prefix", "instances:"])
        .env("CODEX_PIPE_LOG", "warn")
        .env("CODEX_HOME", auth_file.parent().expect("dir"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("codex-pipe-proxy");
    let stdout = child.stdout.take().expect("stdout");
    let proc = Proc(child);
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("listening line");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .and_then(|u| u.strip_suffix("/v1"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    (proc, url)
}

async fn chat(http: &reqwest::Client, base: &str) -> u16 {
    let body = json!({"model": "gpt-5.4", "stream": true,
                      "messages": [{"role": "user", "content": "hi"}]});
    let r = http
        .post(format!("{base}/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .expect("send");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    if status == 200 {
        assert!(text.contains("[DONE]"), "{text}");
    }
    status
}

fn accounts_cli(args: &[&str], auth_file: &Path, sim: &Sim, redis: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_codex-pipe"))
        .arg("accounts")
        .args(args)
        .arg("--auth-file")
        .arg(auth_file)
        .args(["--refresh-url", &sim.refresh_url()])
        .args([
            "--redis-url",
            redis,
            "--redis-prefix",
            "instances:",
            "--json",
        ])
        .output()
        .expect("codex-pipe accounts");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_refresh_and_survive_redis_going_away() {
    tokio::time::timeout(Duration::from_secs(90), async {
        let mut redis = RedisServer::start().await;
        let sim = Sim::start("127.0.0.1:0".parse().expect("addr"), SimConfig::default())
            .await
            .expect("sim");
        let (d1, d2) = (
            tempfile::tempdir().expect("dir"),
            tempfile::tempdir().expect("dir"),
        );
        let (f1, f2) = (d1.path().join("work.json"), d2.path().join("work.json"));
        sim.write_auth_json(&f1).expect("login");
        std::fs::copy(&f1, &f2).expect("copy");
        let (_p1, b1) = proxy(&sim, &f1, &redis.url);
        let (_p2, b2) = proxy(&sim, &f2, &redis.url);
        let http = reqwest::Client::new();
        assert_eq!(chat(&http, &b1).await, 200);
        assert_eq!(chat(&http, &b2).await, 200);

        sim.auth().expire_access_tokens();
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let (http, base) = (
                    http.clone(),
                    if i % 2 == 0 { b1.clone() } else { b2.clone() },
                );
                tokio::spawn(async move { chat(&http, &base).await })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.expect("task"), 200);
        }
        assert_eq!(
            sim.auth().refresh_count(),
            1,
            "exactly one refresh reached the token endpoint"
        );

        // `accounts list` in a third process sees what the proxies stored in Redis.
        let (code, out) = accounts_cli(&["list"], &f2, &sim, &redis.url);
        assert_eq!(code, 0, "{out}");
        let rows: Value = serde_json::from_str(&out).expect("json");
        assert_eq!(rows[0]["name"], "work");
        assert_eq!(rows[0]["email"], "sim@codex-pipe.invalid");
        assert_eq!(rows[0]["plan"], "plus");
        assert_eq!(rows[0]["state"], "available");
        assert_eq!(rows[0]["quota"]["primary"]["used_percent"], 12.5);
        let (code, out) = accounts_cli(&["check"], &f2, &sim, &redis.url);
        assert_eq!(code, 0, "{out}");
        assert_eq!(
            serde_json::from_str::<Value>(&out).expect("json")[0]["check"],
            "ok"
        );

        redis.kill();
        for _ in 0..5 {
            assert_eq!(chat(&http, &b1).await, 200);
            assert_eq!(chat(&http, &b2).await, 200);
        }
    })
    .await
    .expect("test timed out");
}
