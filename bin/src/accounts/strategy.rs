//! Choosing an account for a request: a pure function over what the pool knows, so every
//! strategy is tested without a server.
//!
//! | strategy | picks |
//! |---|---|
//! | `sticky` (default) | the account the conversation (its `session_id` / prompt cache key) used last, while that account is usable; otherwise, and for requests without a conversation key, as `least-used` |
//! | `least-used` | the usable account with the fewest requests started (ties: the lowest quota used, then the first listed) |
//! | `round-robin` | the next usable account after a shared cursor |
//!
//! "Usable" means not disabled, not cooling down, and not already tried for this request.

use std::fmt;
use std::str::FromStr;

/// How requests are spread over the accounts (`--strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Strategy {
    /// Keep a conversation on one account (its prompt cache lives there); least-used otherwise.
    #[default]
    Sticky,
    /// The account with the fewest requests.
    LeastUsed,
    /// Each account in turn.
    RoundRobin,
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Strategy::Sticky => "sticky",
            Strategy::LeastUsed => "least-used",
            Strategy::RoundRobin => "round-robin",
        })
    }
}

impl FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sticky" => Ok(Strategy::Sticky),
            "least-used" => Ok(Strategy::LeastUsed),
            "round-robin" => Ok(Strategy::RoundRobin),
            other => Err(format!(
                "unknown strategy {other:?}: use sticky, least-used or round-robin"
            )),
        }
    }
}

/// What selection needs to know about one account.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Candidate {
    /// Disabled (403) accounts are never picked.
    pub disabled: bool,
    /// Cooling down until this Unix time in milliseconds (0: not cooling down).
    pub cooldown_until_ms: u64,
    /// Requests started through this account (shared counter when Redis is used).
    pub used: u64,
    /// The primary window's used percent, when known (a tie-breaker).
    pub quota_used_percent: Option<f64>,
    /// Already tried for this request.
    pub tried: bool,
}

impl Candidate {
    fn usable(&self, now_ms: u64) -> bool {
        !self.disabled && !self.tried && self.cooldown_until_ms <= now_ms
    }
}

/// The outcome of [`pick`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// Use the account at this index.
    Account(usize),
    /// Every account that is not disabled or tried is cooling down; the earliest ends at this
    /// Unix time in milliseconds.
    AllCoolingDown {
        /// Earliest end of a cooldown, Unix milliseconds.
        until_ms: u64,
    },
    /// Every account is disabled or already tried.
    NoneUsable,
}

/// Picks an account. `sticky` is the index the conversation is mapped to (sticky strategy
/// only), `cursor` the round-robin counter's value for this request, `now_ms` the time in Unix
/// milliseconds.
pub fn pick(
    strategy: Strategy,
    candidates: &[Candidate],
    sticky: Option<usize>,
    cursor: u64,
    now_ms: u64,
) -> Choice {
    let usable = |i: usize| candidates.get(i).is_some_and(|c| c.usable(now_ms));
    let chosen = match strategy {
        Strategy::Sticky => sticky
            .filter(|&i| usable(i))
            .or_else(|| least_used(candidates, now_ms)),
        Strategy::LeastUsed => least_used(candidates, now_ms),
        Strategy::RoundRobin => {
            let n = candidates.len();
            (n > 0)
                .then(|| {
                    let start = usize::try_from(cursor % n as u64).unwrap_or(0);
                    (0..n).map(|k| (start + k) % n).find(|&i| usable(i))
                })
                .flatten()
        }
    };
    if let Some(i) = chosen {
        return Choice::Account(i);
    }
    candidates
        .iter()
        .filter(|c| !c.disabled && !c.tried && c.cooldown_until_ms > now_ms)
        .map(|c| c.cooldown_until_ms)
        .min()
        .map_or(Choice::NoneUsable, |until_ms| Choice::AllCoolingDown {
            until_ms,
        })
}

fn least_used(candidates: &[Candidate], now_ms: u64) -> Option<usize> {
    candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| c.usable(now_ms))
        .min_by(|(ia, a), (ib, b)| {
            a.used
                .cmp(&b.used)
                .then_with(|| {
                    let pa = a.quota_used_percent.unwrap_or(0.0);
                    let pb = b.quota_used_percent.unwrap_or(0.0);
                    pa.total_cmp(&pb)
                })
                .then(ia.cmp(ib))
        })
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(used: u64) -> Candidate {
        Candidate {
            used,
            ..Candidate::default()
        }
    }

    #[test]
    fn least_used_takes_the_fewest_then_the_lowest_quota_then_the_first() {
        let mut cs = [c(3), c(1), c(1)];
        assert_eq!(
            pick(Strategy::LeastUsed, &cs, None, 0, 0),
            Choice::Account(1)
        );
        cs[1].quota_used_percent = Some(50.0);
        assert_eq!(
            pick(Strategy::LeastUsed, &cs, None, 0, 0),
            Choice::Account(2)
        );
        cs[2].tried = true;
        assert_eq!(
            pick(Strategy::LeastUsed, &cs, None, 0, 0),
            Choice::Account(1)
        );
    }

    #[test]
    fn round_robin_follows_the_cursor_and_skips_unusable_accounts() {
        let mut cs = [c(0), c(0), c(0)];
        let picks: Vec<_> = (0..6)
            .map(|k| pick(Strategy::RoundRobin, &cs, None, k, 0))
            .collect();
        let want: Vec<_> = [0, 1, 2, 0, 1, 2].map(Choice::Account).into();
        assert_eq!(picks, want);
        cs[1].disabled = true;
        assert_eq!(
            pick(Strategy::RoundRobin, &cs, None, 1, 0),
            Choice::Account(2)
        );
    }

    #[test]
    fn sticky_keeps_its_account_until_it_cools_down() {
        let mut cs = [c(0), c(9), c(0)];
        assert_eq!(
            pick(Strategy::Sticky, &cs, Some(1), 0, 100),
            Choice::Account(1)
        );
        cs[1].cooldown_until_ms = 200;
        assert_eq!(
            pick(Strategy::Sticky, &cs, Some(1), 0, 100),
            Choice::Account(0)
        );
        assert_eq!(
            pick(Strategy::Sticky, &cs, Some(1), 0, 200),
            Choice::Account(1)
        );
        assert_eq!(
            pick(Strategy::Sticky, &cs, None, 0, 100),
            Choice::Account(0)
        );
    }

    #[test]
    fn all_cooling_reports_the_earliest_end_and_disabled_ones_are_not_waited_for() {
        let cs = [
            Candidate {
                cooldown_until_ms: 900,
                ..c(0)
            },
            Candidate {
                cooldown_until_ms: 500,
                ..c(0)
            },
            Candidate {
                disabled: true,
                ..c(0)
            },
        ];
        for s in [Strategy::Sticky, Strategy::LeastUsed, Strategy::RoundRobin] {
            assert_eq!(
                pick(s, &cs, None, 0, 100),
                Choice::AllCoolingDown { until_ms: 500 }
            );
        }
        let dead = [Candidate {
            disabled: true,
            ..c(0)
        }];
        assert_eq!(
            pick(Strategy::Sticky, &dead, None, 0, 0),
            Choice::NoneUsable
        );
        assert_eq!(pick(Strategy::Sticky, &[], None, 0, 0), Choice::NoneUsable);
    }
}
