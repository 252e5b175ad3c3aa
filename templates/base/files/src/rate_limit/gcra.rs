//! The generic cell rate algorithm (GCRA) behind every store; a store outside the process
//! runs the same steps as one atomic script.
//!
//! Why GCRA rather than a sliding window: it keeps one number per key (the "theoretical
//! arrival time"), so a check is one read and one write, memory does not grow with the
//! limit, and it has no window edge where a client gets twice its quota. It admits a burst
//! of exactly `limit` requests from an idle client, then one every `period / limit`.

use std::time::Duration;

use super::Decision;

/// Microseconds between two admitted requests at the steady rate (at least 1).
pub(crate) fn interval_us(limit: u32, period: Duration) -> u64 {
    let period = u64::try_from(period.as_micros()).unwrap_or(u64::MAX);
    (period / u64::from(limit.max(1))).max(1)
}

/// Applies one request at `now` to the stored arrival time `tat` (both in microseconds).
/// Returns the decision and, when allowed, the arrival time to store.
pub(crate) fn check(
    tat: Option<u64>,
    now: u64,
    limit: u32,
    period: Duration,
) -> (Decision, Option<u64>) {
    let interval = interval_us(limit, period);
    let capacity = interval * u64::from(limit.max(1));
    let tat = tat.unwrap_or(now).max(now);
    let new_tat = tat + interval;
    if new_tat - now > capacity {
        let decision = Decision {
            allowed: false,
            limit,
            remaining: 0,
            reset: Duration::from_micros(tat - now),
            retry_after: Duration::from_micros(new_tat - now - capacity),
        };
        return (decision, None);
    }
    let remaining = (capacity - (new_tat - now)) / interval;
    let decision = Decision {
        allowed: true,
        limit,
        remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
        reset: Duration::from_micros(new_tat - now),
        retry_after: Duration::ZERO,
    };
    (decision, Some(new_tat))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn an_idle_client_gets_exactly_the_limit_at_once() {
        let mut tat = None;
        let mut admitted = 0;
        for _ in 0..10 {
            let (decision, new_tat) = check(tat, 0, 3, SECOND);
            if decision.allowed {
                admitted += 1;
                tat = new_tat;
            }
        }
        assert_eq!(admitted, 3);
    }

    #[test]
    fn remaining_counts_down_and_a_refusal_says_when_to_retry() {
        let (first, tat) = check(None, 0, 2, SECOND);
        assert_eq!((first.allowed, first.remaining), (true, 1));
        let (second, tat) = check(tat, 0, 2, SECOND);
        assert_eq!((second.allowed, second.remaining), (true, 0));
        let (third, _) = check(tat, 0, 2, SECOND);
        assert!(!third.allowed);
        assert_eq!(third.retry_after, Duration::from_millis(500));
        assert_eq!(third.reset, SECOND);
    }

    #[test]
    fn after_the_period_the_full_quota_is_back() {
        let mut tat = None;
        for _ in 0..3 {
            tat = check(tat, 0, 3, SECOND).1;
        }
        let (decision, _) = check(tat, 1_000_000, 3, SECOND);
        assert_eq!((decision.allowed, decision.remaining), (true, 2));
    }
}
