//! `AuthStore` against the simulated token endpoint on 127.0.0.1 and real files in a tempdir.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, AUTHORIZATION};
use serde_json::{json, Value};

use super::file::FileError;
use super::jwt::{encode_unsigned, AUTH_CLAIM};
use super::{AuthError, AuthSource, AuthStore, Credentials, ACCOUNT_ID_HEADER, FEDRAMP_HEADER};
use crate::sim::oauth::SimAuth;

/// Every test finishes well within this, or fails.
const TEST_LIMIT: Duration = Duration::from_secs(30);

async fn bounded<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(TEST_LIMIT, fut)
        .await
        .expect("test exceeded its time limit")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("reqwest client")
}

/// Serves `router` on 127.0.0.1:0 and returns its base URL.
async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

async fn serve_sim(sim: &SimAuth) -> String {
    format!("{}/oauth/token", serve(sim.clone().router()).await)
}

/// A store for `path` with no environment variables visible.
fn store(path: &Path, refresh_url: &str) -> AuthStore {
    store_with(AuthSource {
        auth_file: Some(path.to_path_buf()),
        refresh_url: Some(refresh_url.to_owned()),
        ..AuthSource::default()
    })
}

fn store_with(source: AuthSource) -> AuthStore {
    AuthStore::with_env(source, http(), &|_| None).expect("store")
}

fn write_json(path: &Path, v: &Value) {
    std::fs::write(path, serde_json::to_vec_pretty(v).expect("json")).expect("write auth.json");
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read auth.json")).expect("auth.json JSON")
}

/// A sim login written to `<dir>/auth.json` with unknown keys added, mode 0644.
fn sim_login(sim: &SimAuth, dir: &Path) -> PathBuf {
    let mut doc = sim.issue_initial();
    doc["agent_identity"] = json!({"kept": [1, 2, 3]});
    doc["tokens"]["future_field"] = json!("kept too");
    let path = dir.join("auth.json");
    write_json(&path, &doc);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    path
}

fn headers_of(creds: &Credentials) -> HeaderMap {
    creds.header_pairs().collect()
}

fn jwt_with_account(account: &str) -> String {
    encode_unsigned(
        &json!({ AUTH_CLAIM: {"chatgpt_account_id": account} }),
        b"s",
    )
}

#[tokio::test]
async fn account_id_resolution_order() {
    bounded(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("auth.json");
        let id_token = jwt_with_account("from-id-token");
        let access = jwt_with_account("from-access-token");
        let creds = |tokens: Value, override_: Option<&str>| {
            write_json(&path, &json!({ "tokens": tokens }));
            let s = store_with(AuthSource {
                auth_file: Some(path.clone()),
                account_id: override_.map(str::to_owned),
                ..AuthSource::default()
            });
            async move { s.credentials().await.expect("credentials") }
        };
        let full = json!({"access_token": access, "id_token": id_token, "account_id": "from-file"});
        assert_eq!(
            creds(full.clone(), Some(" forced "))
                .await
                .account_id
                .as_deref(),
            Some("forced")
        );
        assert_eq!(
            creds(full, None).await.account_id.as_deref(),
            Some("from-file")
        );
        let c = creds(json!({"access_token": access, "id_token": id_token}), None).await;
        assert_eq!(c.account_id.as_deref(), Some("from-id-token"));
        assert_eq!(
            headers_of(&c).get(ACCOUNT_ID_HEADER).map(|v| v.as_bytes()),
            Some(&b"from-id-token"[..])
        );
        let c = creds(json!({"access_token": access}), None).await;
        assert_eq!(c.account_id.as_deref(), Some("from-access-token"));
        // An opaque token and nothing else: no account header at all.
        let c = creds(json!({"access_token": "opaque"}), None).await;
        assert_eq!(c.account_id, None);
        let h = headers_of(&c);
        assert_eq!(h.len(), 1);
        assert_eq!(
            h.get(AUTHORIZATION).map(|v| v.as_bytes()),
            Some(&b"Bearer opaque"[..])
        );
    })
    .await;
}

#[tokio::test]
async fn bearer_override_never_reads_the_file_and_cannot_refresh() {
    bounded(async {
        let fedramp = encode_unsigned(
            &json!({ AUTH_CLAIM: {"chatgpt_account_id": "acct-b", "chatgpt_account_is_fedramp": true} }),
            b"s",
        );
        let s = store_with(AuthSource {
            auth_file: Some(PathBuf::from("/nonexistent/auth.json")),
            bearer: Some(format!("  bEaReR {fedramp}\n")),
            ..AuthSource::default()
        });
        assert_eq!(s.auth_path(), None);
        let creds = s.credentials().await.expect("bearer credentials");
        assert_eq!(creds.access_token, fedramp);
        assert_eq!(creds.account_id.as_deref(), Some("acct-b"));
        let req = s
            .apply_headers(&creds, http().get("http://127.0.0.1:9/"))
            .build()
            .expect("request");
        let auth = req.headers().get(AUTHORIZATION).expect("authorization");
        assert_eq!(auth.as_bytes(), format!("Bearer {fedramp}").as_bytes());
        assert!(auth.is_sensitive());
        assert_eq!(req.headers().get(ACCOUNT_ID_HEADER).map(|v| v.as_bytes()), Some(&b"acct-b"[..]));
        assert_eq!(req.headers().get(FEDRAMP_HEADER).map(|v| v.as_bytes()), Some(&b"true"[..]));

        let err = s.refresh_after_unauthorized(&creds).await.expect_err("401 is final");
        assert!(matches!(err, AuthError::BearerRejected));
        assert!(err.is_relogin_required());
        assert!(err.to_string().contains("cannot be refreshed"), "{err}");

        let err = AuthStore::with_env(
            AuthSource { bearer: Some(" Bearer  ".into()), ..AuthSource::default() },
            http(),
            &|_| None,
        )
        .expect_err("empty bearer");
        assert!(matches!(err, AuthError::EmptyBearer));
        let err = AuthStore::with_env(
            AuthSource { bearer: Some("tok\u{7f}en".into()), ..AuthSource::default() },
            http(),
            &|_| None,
        )
        .expect_err("control character");
        assert!(matches!(err, AuthError::InvalidHeaderValue { what: "access token", .. }), "{err}");
    })
    .await;
}

#[tokio::test]
async fn missing_file_says_exactly_what_to_do() {
    bounded(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().to_string_lossy().into_owned();
        let env = move |name: &str| (name == "HOME").then(|| home.clone());
        let s = AuthStore::with_env(AuthSource::default(), http(), &env).expect("store");
        let expected = dir.path().join(".codex").join("auth.json");
        assert_eq!(s.auth_path(), Some(expected.as_path()));
        assert_eq!(s.refresh_url(), Some(super::DEFAULT_REFRESH_URL));
        let err = s.credentials().await.expect_err("no file");
        assert!(matches!(err, AuthError::NotLoggedIn { .. }));
        assert_eq!(
            err.to_string(),
            format!(
                "no ChatGPT login found at {}: run `codex login`, or pass --bearer <token>, or try the offline simulator with --backend sim",
                expected.display()
            )
        );

        let err = AuthStore::with_env(AuthSource::default(), http(), &|_| None)
            .expect_err("no home");
        assert!(matches!(err, AuthError::NoHomeDir));
        assert!(err.to_string().contains("--auth-file"), "{err}");

        // CODEX_HOME and the refresh-URL override come from the environment.
        let env = |name: &str| match name {
            "CODEX_HOME" => Some("/opt/codex".to_owned()),
            super::REFRESH_URL_ENV => Some("http://127.0.0.1:1/t".to_owned()),
            _ => None,
        };
        let s = AuthStore::with_env(AuthSource::default(), http(), &env).expect("store");
        assert_eq!(s.auth_path(), Some(Path::new("/opt/codex/auth.json")));
        assert_eq!(s.refresh_url(), Some("http://127.0.0.1:1/t"));
    })
    .await;
}

#[tokio::test]
async fn api_key_only_empty_and_malformed_files_are_explained() {
    bounded(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("auth.json");
        let s = store(&path, "http://127.0.0.1:9/oauth/token");

        write_json(&path, &json!({"OPENAI_API_KEY": "sk-test", "tokens": null}));
        let err = s.credentials().await.expect_err("api key only");
        assert!(matches!(err, AuthError::ApiKeyOnly { .. }));
        let msg = err.to_string();
        assert!(
            msg.contains("OPENAI_API_KEY") && msg.contains("codex login"),
            "{msg}"
        );
        assert!(msg.contains("--bearer"), "{msg}");

        write_json(&path, &json!({"OPENAI_API_KEY": null}));
        assert!(matches!(
            s.credentials().await,
            Err(AuthError::NoTokens { .. })
        ));

        std::fs::write(&path, b"{\"tokens\": {").expect("write");
        let err = s.credentials().await.expect_err("malformed");
        assert!(matches!(err, AuthError::Malformed { .. }));
        assert!(err.to_string().contains("codex login"), "{err}");
    })
    .await;
}

#[tokio::test]
async fn refresh_writes_the_file_back_atomically_and_keeps_unknown_fields() {
    bounded(async {
        let sim = SimAuth::new();
        let url = serve_sim(&sim).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = sim_login(&sim, dir.path());
        let before = read_json(&path);
        let s = store(&path, &url);

        let creds = s.credentials().await.expect("credentials");
        assert_eq!(sim.check_request(&headers_of(&creds)), Ok(()));
        assert_eq!(creds.generation, 0);
        sim.expire_access_tokens();
        assert!(sim.check_request(&headers_of(&creds)).is_err());

        let started = SystemTime::now();
        let new = s.refresh_after_unauthorized(&creds).await.expect("refresh");
        assert_eq!(sim.refresh_count(), 1);
        assert_ne!(new.access_token, creds.access_token);
        assert_eq!(new.generation, 1);
        assert_eq!(new.account_id.as_deref(), Some(sim.account_id()));
        assert_eq!(sim.check_request(&headers_of(&new)), Ok(()));

        let after = read_json(&path);
        assert_eq!(after["tokens"]["access_token"], json!(new.access_token));
        assert_eq!(
            after["tokens"]["refresh_token"].as_str(),
            sim.current_refresh_token().as_deref()
        );
        assert_ne!(
            after["tokens"]["refresh_token"],
            before["tokens"]["refresh_token"]
        );
        assert_ne!(after["tokens"]["id_token"], before["tokens"]["id_token"]);
        assert_eq!(
            after["tokens"]["account_id"],
            before["tokens"]["account_id"]
        );
        assert_eq!(after["tokens"]["future_field"], "kept too");
        assert_eq!(after["agent_identity"], json!({"kept": [1, 2, 3]}));
        assert_eq!(after["auth_mode"], "chatgpt");
        assert_eq!(after["OPENAI_API_KEY"], Value::Null);
        let last = after["last_refresh"].as_str().expect("last_refresh string");
        let started_str = super::file::rfc3339_utc_millis(started - Duration::from_secs(1));
        assert!(last.ends_with('Z') && last.len() == 24, "{last}");
        assert!(
            *last >= *started_str.as_str(),
            "{last} is older than {started_str}"
        );
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains("\n  \"tokens\": {"), "pretty JSON:\n{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec!["auth.json"], "no temporary files left behind");

        // The next call reads the new file and does not refresh again.
        let again = s.credentials().await.expect("credentials");
        assert_eq!(again.access_token, new.access_token);
        assert_eq!(sim.refresh_count(), 1);
    })
    .await;
}

#[tokio::test]
async fn file_refreshed_by_another_process_is_used_without_a_refresh_call() {
    bounded(async {
        let sim = SimAuth::new();
        let url = serve_sim(&sim).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = sim_login(&sim, dir.path());
        // Two stores on one file stand for two processes.
        let (ours, theirs) = (store(&path, &url), store(&path, &url));
        let ours_creds = ours.credentials().await.expect("ours");
        sim.expire_access_tokens();
        let theirs_creds = theirs.credentials().await.expect("theirs");
        let theirs_new = theirs
            .refresh_after_unauthorized(&theirs_creds)
            .await
            .expect("their refresh");
        assert_eq!(sim.refresh_count(), 1);

        let ours_new = ours
            .refresh_after_unauthorized(&ours_creds)
            .await
            .expect("picked up from the file");
        assert_eq!(ours_new.access_token, theirs_new.access_token);
        assert_eq!(sim.refresh_count(), 1, "no second refresh call");
        assert_eq!(sim.check_request(&headers_of(&ours_new)), Ok(()));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_callers_share_one_refresh() {
    bounded(async {
        let sim = SimAuth::new();
        let url = serve_sim(&sim).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = sim_login(&sim, dir.path());
        let s = store(&path, &url);
        let rejected = s.credentials().await.expect("credentials");
        sim.expire_access_tokens();

        let barrier = Arc::new(tokio::sync::Barrier::new(20));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (s, rejected, barrier) = (s.clone(), rejected.clone(), Arc::clone(&barrier));
                tokio::spawn(async move {
                    barrier.wait().await;
                    s.refresh_after_unauthorized(&rejected).await
                })
            })
            .collect();
        let mut tokens = Vec::new();
        for t in tasks {
            let creds = t
                .await
                .expect("task")
                .expect("every caller gets credentials");
            tokens.push(creds.access_token);
        }
        assert_eq!(sim.refresh_count(), 1, "exactly one refresh call");
        assert!(
            tokens.iter().all(|t| *t == tokens[0]),
            "all callers got the same token"
        );
        assert_ne!(tokens[0], rejected.access_token);
        assert!(sim.is_valid_access_token(&tokens[0]));
        assert_eq!(read_json(&path)["tokens"]["access_token"], json!(tokens[0]));
    })
    .await;
}

#[tokio::test]
async fn reused_refresh_token_requires_a_new_login() {
    bounded(async {
        let sim = SimAuth::new();
        let url = serve_sim(&sim).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = sim_login(&sim, dir.path());
        let s = store(&path, &url);
        let creds = s.credentials().await.expect("credentials");
        // Another client spends the refresh token without writing the file.
        let rt = read_json(&path)["tokens"]["refresh_token"].clone();
        let status = http()
            .post(&url)
            .json(&json!({"client_id": super::CLIENT_ID, "grant_type": "refresh_token", "refresh_token": rt}))
            .send()
            .await
            .expect("send")
            .status();
        assert_eq!(status, 200);
        sim.expire_access_tokens();

        let err = s.refresh_after_unauthorized(&creds).await.expect_err("reused");
        match &err {
            AuthError::ReloginRequired { reason, path: p } => {
                assert_eq!(reason, "refresh_token_reused");
                assert_eq!(p, &path);
            }
            other => panic!("expected ReloginRequired, got {other:?}"),
        }
        assert!(err.is_relogin_required() && !err.is_transient());
        assert!(err.to_string().contains("run `codex login` again"), "{err}");
        assert_eq!(sim.refresh_count(), 2);
        // The dead refresh token is not sent again.
        let err = s.refresh_after_unauthorized(&creds).await.expect_err("still dead");
        assert!(matches!(err, AuthError::ReloginRequired { .. }));
        assert_eq!(sim.refresh_count(), 2);
    })
    .await;
}

#[tokio::test]
async fn unreachable_or_failing_endpoint_is_a_transient_error_that_says_so() {
    bounded(async {
        let sim = SimAuth::new();
        let dir = tempfile::tempdir().expect("tempdir");
        let path = sim_login(&sim, dir.path());
        // A port that was just free: nothing listens there.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            format!("http://{}/oauth/token", l.local_addr().expect("addr"))
        };
        let s = store(&path, &closed);
        let creds = s.credentials().await.expect("credentials");
        let err = s
            .refresh_after_unauthorized(&creds)
            .await
            .expect_err("down");
        assert!(
            matches!(err, AuthError::RefreshUnavailable { .. }),
            "{err:?}"
        );
        assert!(err.is_transient() && !err.is_relogin_required());
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!(
                "cannot reach the token refresh endpoint {closed}: "
            )),
            "{msg}"
        );
        assert!(msg.contains("retry"), "{msg}");

        // A 503 from a live endpoint: transient, with the status. Five callers waiting on one
        // failing refresh share its error instead of calling again.
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let failing = axum::Router::new().route(
            "/oauth/token",
            axum::routing::post(move || {
                let counter = Arc::clone(&counter);
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    (
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        "upstream overloaded",
                    )
                }
            }),
        );
        let url = format!("{}/oauth/token", serve(failing).await);
        let s = store(&path, &url);
        let results =
            futures::future::join_all((0..5).map(|_| s.refresh_after_unauthorized(&creds))).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1, "one call for five waiters");
        for r in results {
            match r {
                Err(AuthError::RefreshFailed { status, detail, .. }) => {
                    assert_eq!(status, 503);
                    assert_eq!(detail, "upstream overloaded");
                }
                other => panic!("expected RefreshFailed, got {other:?}"),
            }
        }
        // A later caller tries again.
        assert!(s.refresh_after_unauthorized(&creds).await.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    })
    .await;
}

#[tokio::test]
async fn failed_write_back_keeps_the_new_tokens_in_memory() {
    bounded(async {
        let sim = SimAuth::new();
        let url = serve_sim(&sim).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = sim_login(&sim, dir.path());
        let before = std::fs::read(&path).expect("read");
        let mut s = store(&path, &url);
        s.set_writer_for_test(|_, _| Err(FileError::Io(std::io::Error::other("disk full"))));

        let creds = s.credentials().await.expect("credentials");
        sim.expire_access_tokens();
        let new = s.refresh_after_unauthorized(&creds).await.expect("refresh");
        assert_eq!(
            std::fs::read(&path).expect("read"),
            before,
            "file untouched"
        );
        // The spent refresh token in the file is not used again: the in-memory one is.
        let current = s.credentials().await.expect("credentials");
        assert_eq!(current.access_token, new.access_token);
        sim.expire_access_tokens();
        let newer = s
            .refresh_after_unauthorized(&current)
            .await
            .expect("second refresh");
        assert_eq!(sim.refresh_count(), 2);
        assert_eq!(sim.check_request(&headers_of(&newer)), Ok(()));
    })
    .await;
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_before_use() {
    bounded(async {
        let sim = SimAuth::new();
        let url = serve_sim(&sim).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = sim_login(&sim, dir.path());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let mut doc = read_json(&path);
        doc["tokens"]["access_token"] = json!(encode_unsigned(
            &json!({"exp": now - 10, AUTH_CLAIM: {"chatgpt_account_id": sim.account_id()}}),
            b"s"
        ));
        write_json(&path, &doc);
        let s = store(&path, &url);
        let creds = s.credentials().await.expect("credentials");
        assert_eq!(sim.refresh_count(), 1);
        assert!(sim.is_valid_access_token(&creds.access_token));
        assert!(!creds.is_expired_at(i64::try_from(now).expect("now")));
    })
    .await;
}
