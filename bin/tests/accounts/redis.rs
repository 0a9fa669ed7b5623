//! Two pools ("processes": separate state, separate copies of the login files) sharing one real
//! `redis-server`, started here on a free loopback port and stopped when the test ends
//! (`scripts/setup` installs it).

use std::sync::Arc;
use std::time::{Duration, Instant};

use codex_pipe::accounts::Strategy;
use codex_pipe::sim::oauth::SimRefusal;

use super::redis_server::RedisServer;
use super::{ask, shared, within, Backend, ACCOUNTS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_requests_on_two_processes_meeting_an_expired_token_refresh_once() {
    within(async {
        let redis = RedisServer::start().await;
        let backend = Backend::start().await;
        let (dir1, dir2) = (backend.copy_dir(), backend.copy_dir());
        let p1 = Arc::new(backend.client(
            dir1.path(),
            Some("a"),
            shared(Strategy::Sticky, redis.store("t1:")),
        ));
        let p2 = Arc::new(backend.client(
            dir2.path(),
            Some("a"),
            shared(Strategy::Sticky, redis.store("t1:")),
        ));
        assert_eq!(ask(&p1, None).await.expect("warm"), "a");
        assert_eq!(ask(&p2, None).await.expect("warm"), "a");
        backend.sim.auth().expire_access_tokens();
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let p = Arc::clone(if i % 2 == 0 { &p1 } else { &p2 });
                tokio::spawn(async move { ask(&p, None).await })
            })
            .collect();
        for t in tasks {
            t.await.expect("task").expect("every request succeeds");
        }
        assert_eq!(
            backend.sim.auth().refresh_count(),
            1,
            "exactly one refresh call"
        );
        // The other process took over the new tokens: both files now hold the same login.
        let token = |dir: &std::path::Path| {
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(dir.join("a.json")).expect("read"))
                    .expect("json");
            v["tokens"]["refresh_token"]
                .as_str()
                .expect("rt")
                .to_owned()
        };
        assert_eq!(token(dir1.path()), token(dir2.path()));
        assert_eq!(backend.sim.auth().refresh_count_for("acct-a"), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooldowns_and_the_sticky_map_are_shared_and_redis_going_away_is_survived() {
    within(async {
        let mut redis = RedisServer::start().await;
        let backend = Backend::start().await;
        let (dir1, dir2) = (backend.copy_dir(), backend.copy_dir());
        let p1 = backend.client(
            dir1.path(),
            None,
            shared(Strategy::Sticky, redis.store("t2:")),
        );
        let p2 = backend.client(
            dir2.path(),
            None,
            shared(Strategy::Sticky, redis.store("t2:")),
        );
        // Sticky map: a conversation started on p1 continues on the same account on p2.
        let first = ask(&p1, Some("conv-x")).await.expect("answer");
        tokio::time::sleep(Duration::from_millis(100)).await; // the map is written off the request path
        for _ in 0..3 {
            assert_eq!(ask(&p2, Some("conv-x")).await.expect("answer"), first);
        }
        // Cooldown: p1 meets the limit, moves the conversation; p2 honours both.
        let id = ACCOUNTS.iter().find(|(n, _)| *n == first).expect("name").1;
        backend.sim.auth().set_refusal(
            id,
            Some(SimRefusal::UsageLimit {
                resets_in_seconds: 60,
            }),
        );
        let moved = ask(&p1, Some("conv-x")).await.expect("moved after a 429");
        assert_ne!(moved, first);
        backend.sim.auth().set_refusal(id, None);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let before = backend.sim.auth().accepted_count(id);
        for conversation in [Some("conv-x"), None, Some("conv-y")] {
            let served = ask(&p2, conversation).await.expect("answer");
            assert_ne!(served, first, "p2 used an account p1 saw cooling down");
        }
        assert_eq!(ask(&p2, Some("conv-x")).await.expect("answer"), moved);
        assert_eq!(backend.sim.auth().accepted_count(id), before);
        let views = p2.accounts().views().await;
        let view = views.iter().find(|v| v.name == first).expect("view");
        assert!(view.cooldown_until_ms.is_some(), "{view:?}");

        // Redis goes away: both keep serving from their own memory, without waiting on it, and
        // still move off an account that hits its limit. (Refreshing a login copied to two
        // machines needs the shared store: without it the second refresh would be refused as
        // `refresh_token_reused`, so no token expires here.)
        redis.kill();
        let moved_id = ACCOUNTS.iter().find(|(n, _)| *n == moved).expect("name").1;
        backend.sim.auth().set_refusal(
            moved_id,
            Some(SimRefusal::UsageLimit {
                resets_in_seconds: 60,
            }),
        );
        let started = Instant::now();
        for p in [&p1, &p2, &p1, &p2] {
            let served = ask(p, Some("conv-x")).await.expect("served without Redis");
            assert_ne!(served, moved);
            ask(p, None).await.expect("served without Redis");
        }
        assert!(!p1.accounts().shared_is_up() && !p2.accounts().shared_is_up());

        // Redis comes back (empty, as after a restart without persistence): sharing resumes.
        let _redis = RedisServer::start_on(redis.port()).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(p1.accounts().shared_is_up() && p2.accounts().shared_is_up()) {
            assert!(Instant::now() < deadline, "Redis was not used again");
            tokio::time::sleep(Duration::from_millis(200)).await;
            ask(&p1, None).await.expect("served");
            ask(&p2, None).await.expect("served");
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
    })
    .await;
}
