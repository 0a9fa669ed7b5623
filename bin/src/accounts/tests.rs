//! The pool in memory (bearer logins, no network): selection under cooldowns and 403s.

use std::time::Duration;

use super::*;

#[test]
fn cooling_down_is_a_429_with_the_reset_and_disabled_is_a_403() {
    let e = PoolError::AllCoolingDown {
        retry_after: Duration::from_millis(6500),
        resets_at: 1_700_000_000,
    };
    let f = e.failure();
    assert_eq!(f.kind.http_status(), 429);
    assert_eq!(f.retry_after, Some(Duration::from_millis(6500)));
    assert_eq!(f.resets_at, Some(1_700_000_000));
    let f = PoolError::NoneUsable {
        reasons: "a: banned".into(),
    }
    .failure();
    assert_eq!(f.kind.http_status(), 403);
    assert!(f.message.contains("a: banned"));
}

fn bearer_pool(names: &[&str], strategy: Strategy) -> AccountPool {
    let http = reqwest::Client::new();
    let accounts = names
        .iter()
        .map(|n| {
            let source = crate::auth::AuthSource {
                bearer: Some(format!("token-{n}")),
                ..crate::auth::AuthSource::default()
            };
            ((*n).to_owned(), source.build(http.clone()).expect("bearer"))
        })
        .collect();
    AccountPool::new(
        accounts,
        PoolConfig {
            strategy,
            ..PoolConfig::default()
        },
    )
}

async fn name(pool: &AccountPool, conversation: Option<&str>) -> String {
    pool.acquire(conversation, &[])
        .await
        .expect("an account")
        .name
        .to_string()
}

#[tokio::test]
async fn cooldowns_and_disables_steer_selection_in_memory() {
    let pool = bearer_pool(&["a", "b", "c"], Strategy::Sticky);
    let first = name(&pool, Some("conv")).await;
    assert_eq!(first, "a");
    assert_eq!(name(&pool, Some("conv")).await, "a", "sticky");
    assert_eq!(name(&pool, None).await, "b", "least used");
    let lease = |i: usize| Lease {
        index: i,
        name: pool.names()[i].clone(),
    };
    assert!(
        pool.rate_limited(&lease(0), Some(Duration::from_secs(30)), None)
            .await
    );
    assert_eq!(
        name(&pool, Some("conv")).await,
        "c",
        "moved off the cooling account"
    );
    assert_eq!(name(&pool, Some("conv")).await, "c", "and stays there");
    assert!(pool.forbidden(&lease(2), "HTTP 403: banned").await);
    assert!(
        pool.rate_limited(&lease(1), None, Some(unix_ms() / 1000 + 10))
            .await
    );
    match pool.acquire(Some("conv"), &[]).await {
        Err(PoolError::AllCoolingDown { retry_after, .. }) => {
            assert!(retry_after <= Duration::from_secs(10) && retry_after > Duration::from_secs(8));
        }
        other => panic!("expected cooling down, got {other:?}"),
    }
    // A pool of one never refuses: the upstream answers for itself.
    let single = bearer_pool(&["solo"], Strategy::RoundRobin);
    let solo = Lease {
        index: 0,
        name: "solo".into(),
    };
    assert!(
        !single
            .rate_limited(&solo, Some(Duration::from_secs(60)), None)
            .await
    );
    assert!(!single.forbidden(&solo, "HTTP 403").await);
    assert_eq!(name(&single, None).await, "solo");
    let views = single.views().await;
    assert!(views[0].cooldown_until_ms.is_some() && views[0].disabled.is_some());
}

#[test]
fn forbidden_reasons_tell_a_challenge_from_a_ban() {
    assert_eq!(
        pool::forbidden_reason("<!DOCTYPE html><title>Just a moment...</title>"),
        "Cloudflare challenge (HTTP 403)"
    );
    assert_eq!(
        pool::forbidden_reason("Your account has been deactivated."),
        "HTTP 403: Your account has been deactivated."
    );
}
