//! The pool against the simulated backend's token endpoint, in memory.

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
