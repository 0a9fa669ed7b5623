//! The simulated token endpoint over loopback, and the request checks.

use super::*;
use axum::http::HeaderValue;

const LIMIT: Duration = Duration::from_secs(20);

async fn serve(sim: &SimAuth) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = sim.clone().router();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}{TOKEN_PATH}")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

async fn post_json(url: &str, body: &Value) -> (u16, Value) {
    let r = client().post(url).json(body).send().await.expect("send");
    let status = r.status().as_u16();
    (status, r.json().await.expect("JSON body"))
}

fn grant(rt: &str) -> Value {
    json!({"client_id": CLIENT_ID, "grant_type": "refresh_token", "refresh_token": rt})
}

#[tokio::test]
async fn refresh_tokens_rotate_and_are_single_use() {
    tokio::time::timeout(LIMIT, async {
        let sim = SimAuth::new();
        let url = serve(&sim).await;
        let login = sim.issue_initial();
        let rt1 = login["tokens"]["refresh_token"].as_str().expect("rt").to_owned();

        let (status, body) = post_json(&url, &grant(&rt1)).await;
        assert_eq!(status, 200, "{body}");
        let rt2 = body["refresh_token"].as_str().expect("rt2").to_owned();
        assert_ne!(rt2, rt1);
        assert_eq!(sim.current_refresh_token().as_deref(), Some(rt2.as_str()));
        let access = body["access_token"].as_str().expect("access");
        assert!(sim.is_valid_access_token(access));
        let claims = jwt::decode_claims(access).expect("JWT-shaped access token");
        assert_eq!(claims.account_id.as_deref(), Some(SIM_ACCOUNT_ID));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let exp = u64::try_from(claims.exp.expect("exp")).expect("positive exp");
        assert!(exp > now + 3000 && exp <= now + 3600, "exp {exp} now {now}");
        let id = jwt::decode_claims(body["id_token"].as_str().expect("id")).expect("id claims");
        assert_eq!(id.email.as_deref(), Some("sim@codex-pipe.invalid"));

        // Reuse of the rotated-out token.
        let (status, body) = post_json(&url, &grant(&rt1)).await;
        assert_eq!(status, 401);
        assert_eq!(body["error"]["code"], "refresh_token_reused");
        // A token the simulator never issued.
        let (status, body) = post_json(&url, &grant("rt_forged")).await;
        assert_eq!(status, 401);
        assert_eq!(body["error"]["code"], "invalid_grant");
        // The current one still works, as form-urlencoded too (CPA sends it that way).
        let r = client()
            .post(&url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!(
                "client_id={CLIENT_ID}&grant_type=refresh_token&refresh_token={rt2}&scope=openid+profile+email"
            ))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status().as_u16(), 200);
        let body: Value = r.json().await.expect("json");
        assert_ne!(body["refresh_token"].as_str(), Some(rt2.as_str()));
        assert_eq!(sim.refresh_count(), 4);
    })
    .await
    .expect("time limit");
}

#[tokio::test]
async fn malformed_token_requests_are_rejected_with_oauth_errors() {
    tokio::time::timeout(LIMIT, async {
        let sim = SimAuth::new();
        let url = serve(&sim).await;
        let rt = sim.issue_initial()["tokens"]["refresh_token"].clone();
        let cases = [
            (
                json!({"client_id": CLIENT_ID, "grant_type": "password", "refresh_token": rt}),
                400,
                "unsupported_grant_type",
            ),
            (
                json!({"client_id": "other", "grant_type": "refresh_token", "refresh_token": rt}),
                401,
                "invalid_client",
            ),
            (
                json!({"client_id": CLIENT_ID, "grant_type": "refresh_token"}),
                400,
                "invalid_request",
            ),
            (json!([1, 2]), 400, "invalid_request"),
        ];
        for (body, status, code) in cases {
            let (got, resp) = post_json(&url, &body).await;
            assert_eq!(
                (got, resp["error"]["code"].as_str()),
                (status, Some(code)),
                "{body}"
            );
        }
        let r = client()
            .post(&url)
            .body("not json")
            .send()
            .await
            .expect("send");
        assert_eq!(r.status().as_u16(), 400);
        // None of these spent the refresh token.
        assert_eq!(
            sim.current_refresh_token().as_ref(),
            rt.as_str().map(str::to_owned).as_ref()
        );
        assert_eq!(sim.refresh_count(), 5);
    })
    .await
    .expect("time limit");
}

#[test]
fn check_request_requires_a_valid_token_and_the_matching_account() {
    let sim = SimAuth::new();
    let login = sim.issue_initial();
    let access = login["tokens"]["access_token"].as_str().expect("access");
    assert_eq!(login["tokens"]["account_id"], SIM_ACCOUNT_ID);
    let headers = |auth: Option<String>, account: Option<&str>| {
        let mut h = HeaderMap::new();
        if let Some(a) = auth {
            h.insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(&a).expect("value"),
            );
        }
        if let Some(a) = account {
            h.insert(
                "ChatGPT-Account-ID",
                HeaderValue::from_str(a).expect("value"),
            );
        }
        h
    };
    let ok = headers(Some(format!("bearer {access}")), Some(SIM_ACCOUNT_ID));
    assert_eq!(sim.check_request(&ok), Ok(()));
    assert_eq!(
        sim.check_request(&headers(None, Some(SIM_ACCOUNT_ID))),
        Err(SimAuthRejection::MissingToken)
    );
    assert_eq!(
        sim.check_request(&headers(
            Some(format!("Basic {access}")),
            Some(SIM_ACCOUNT_ID)
        )),
        Err(SimAuthRejection::MissingToken)
    );
    assert_eq!(
        sim.check_request(&headers(Some("Bearer forged".into()), Some(SIM_ACCOUNT_ID))),
        Err(SimAuthRejection::InvalidToken)
    );
    assert_eq!(
        sim.check_request(&headers(Some(format!("Bearer {access}")), None)),
        Err(SimAuthRejection::MissingAccount)
    );
    let wrong = headers(Some(format!("Bearer {access}")), Some("someone-else"));
    assert_eq!(
        sim.check_request(&wrong),
        Err(SimAuthRejection::AccountMismatch)
    );
    assert_eq!(
        SimAuthRejection::AccountMismatch.status(),
        StatusCode::FORBIDDEN
    );

    sim.expire_access_tokens();
    assert!(!sim.is_valid_access_token(access));
    let rejection = sim.check_request(&ok).expect_err("expired");
    assert_eq!(rejection, SimAuthRejection::InvalidToken);
    assert_eq!(rejection.into_response().status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn rejection_body_matches_the_upstream_shape() {
    let response = SimAuthRejection::InvalidToken.into_response();
    let bytes = axum::body::to_bytes(response.into_body(), 1024)
        .await
        .expect("body");
    assert_eq!(&bytes[..], br#"{"detail":"Unauthorized"}"#);
}

#[test]
fn initial_login_file_is_a_codex_auth_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("auth.json");
    let sim = SimAuth::with_account_id("acct-x");
    sim.write_initial_auth_json(&path).expect("write");
    let (doc, login) = file::parse(&std::fs::read(&path).expect("read")).expect("parse");
    let file::FileLogin::ChatGpt(tokens) = login else {
        panic!("expected ChatGPT tokens, got {login:?}")
    };
    assert!(sim.is_valid_access_token(&tokens.access_token));
    assert_eq!(tokens.refresh_token, sim.current_refresh_token());
    assert_eq!(tokens.account_id.as_deref(), Some("acct-x"));
    assert_eq!(doc["auth_mode"], "chatgpt");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn valid_access_tokens_are_bounded() {
    let sim = SimAuth::new();
    let first = sim.issue_initial()["tokens"]["access_token"].clone();
    for _ in 0..MAX_VALID_ACCESS_TOKENS {
        sim.issue_initial();
    }
    assert!(!sim.is_valid_access_token(first.as_str().expect("token")));
}
