//! Quota snapshots from the backend's `x-codex-*` rate-limit headers (protocols.md §1.11):
//!
//! ```text
//! x-codex-primary-used-percent: 12.5     x-codex-primary-window-minutes: 300     x-codex-primary-reset-at: 1704069000
//! x-codex-secondary-used-percent: 40     x-codex-secondary-window-minutes: 10080 x-codex-secondary-reset-at: 1704600000
//! ```
//!
//! Parsing looks up six headers by name once per upstream answer (never per event); a header
//! that is absent or not a number leaves its field `None`.

use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};

/// One rate-limit window as the backend reported it.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct QuotaWindow {
    /// `x-codex-<window>-used-percent`: share of the window's limit used, 0–100.
    pub used_percent: Option<f64>,
    /// `x-codex-<window>-window-minutes`: the window's length, in minutes.
    pub window_minutes: Option<u64>,
    /// `x-codex-<window>-reset-at`: when the window resets, Unix seconds.
    pub reset_at: Option<u64>,
}

impl QuotaWindow {
    fn is_empty(&self) -> bool {
        self.used_percent.is_none() && self.window_minutes.is_none() && self.reset_at.is_none()
    }
}

/// The last rate-limit state seen for an account.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct QuotaSnapshot {
    /// The `primary` window (the short one, 5 h on Plus).
    pub primary: QuotaWindow,
    /// The `secondary` window (the weekly one).
    pub secondary: QuotaWindow,
    /// When this snapshot was taken, Unix seconds.
    pub observed_at: u64,
}

impl QuotaSnapshot {
    /// The snapshot in `headers`, or `None` when they carry none of the six headers.
    pub fn from_headers(headers: &HeaderMap, observed_at: u64) -> Option<Self> {
        let snapshot = QuotaSnapshot {
            primary: window(headers, "primary"),
            secondary: window(headers, "secondary"),
            observed_at,
        };
        (!snapshot.primary.is_empty() || !snapshot.secondary.is_empty()).then_some(snapshot)
    }

    /// `true` when both windows hold the same values (the time of observation aside).
    pub fn same_values(&self, other: &QuotaSnapshot) -> bool {
        self.primary == other.primary && self.secondary == other.secondary
    }

    /// Short human form for `accounts list`: `primary 12.5% of 300 min, secondary 40% of 10080 min`.
    pub fn describe(&self) -> String {
        let one = |name: &str, w: &QuotaWindow| -> Option<String> {
            if w.is_empty() {
                return None;
            }
            let used = w
                .used_percent
                .map_or_else(|| "?".to_owned(), |p| format!("{p}%"));
            let span = w
                .window_minutes
                .map_or_else(String::new, |m| format!(" of {m} min"));
            Some(format!("{name} {used}{span}"))
        };
        [
            one("primary", &self.primary),
            one("secondary", &self.secondary),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
    }
}

fn window(headers: &HeaderMap, name: &str) -> QuotaWindow {
    let get = |field: &str| {
        headers
            .get(format!("x-codex-{name}-{field}").as_str())
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    QuotaWindow {
        used_percent: get("used-percent")
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|p| p.is_finite()),
        window_minutes: get("window-minutes").and_then(|v| v.parse().ok()),
        reset_at: get("reset-at").and_then(|v| v.parse().ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn reads_both_windows_and_ignores_garbage() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("x-codex-primary-used-percent", "12.5"),
            ("x-codex-primary-window-minutes", "300"),
            ("x-codex-primary-reset-at", "1704069000"),
            ("x-codex-secondary-used-percent", "forty"),
            ("x-codex-secondary-window-minutes", "10080"),
        ] {
            h.insert(k, HeaderValue::from_static(v));
        }
        let s = QuotaSnapshot::from_headers(&h, 7).expect("snapshot");
        assert_eq!(s.primary.used_percent, Some(12.5));
        assert_eq!(s.primary.window_minutes, Some(300));
        assert_eq!(s.primary.reset_at, Some(1_704_069_000));
        assert_eq!(s.secondary.used_percent, None);
        assert_eq!(s.secondary.window_minutes, Some(10080));
        assert_eq!(s.observed_at, 7);
        assert_eq!(
            s.describe(),
            "primary 12.5% of 300 min, secondary ? of 10080 min"
        );
        assert_eq!(QuotaSnapshot::from_headers(&HeaderMap::new(), 7), None);
    }
}
