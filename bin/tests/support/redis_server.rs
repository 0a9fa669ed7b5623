//! A `redis-server` for tests: started on a free loopback port, without persistence, killed when
//! dropped (`scripts/setup` installs the package).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use codex_pipe::accounts::RedisStore;

/// A `redis-server` child process on a loopback port; killed on drop.
pub struct RedisServer {
    child: Option<Child>,
    /// `redis://127.0.0.1:<port>/`.
    pub url: String,
}

impl RedisServer {
    /// Starts a server and waits until it answers `PING`.
    pub async fn start() -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        Self::start_on(port).await
    }

    /// Starts a server on `port` and waits until it answers `PING`.
    pub async fn start_on(port: u16) -> RedisServer {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "redis-server is not installed: run scripts/setup (apt-get install redis-server)",
            );
        let server = RedisServer {
            child: Some(child),
            url: format!("redis://127.0.0.1:{port}/"),
        };
        let store = server.store("probe:");
        let deadline = Instant::now() + Duration::from_secs(10);
        while store.ping().await.is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server
    }

    /// A store with key `prefix` on this server.
    pub fn store(&self, prefix: &str) -> RedisStore {
        RedisStore::open(&self.url, prefix).expect("redis url")
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.url
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port in the URL")
    }

    /// Stops the server now.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
