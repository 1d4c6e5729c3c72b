// SPDX-License-Identifier: GPL-2.0

//! Reconnect backoff for dialers.
//!
//! After each failed connection attempt a dialer waits a random time drawn
//! from the upper half of the current backoff, `[⌈cur/2⌉, cur]` ms, then
//! doubles the backoff up to its maximum. nng draws from `[0, cur)`; keeping
//! the lower half out means a dialer never retries at once (never 0 ms), and
//! the delay still grows with every failure, while peers that lost their
//! server together still spread out. A successful connection resets the
//! backoff to its minimum.

use core::num::NonZeroU32;

/// Exponential reconnect backoff with jitter, in milliseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Backoff {
    /// Current backoff, `min..=max`.
    cur: u32,
    /// First backoff, at least 1.
    min: u32,
    /// Largest backoff, at least `min`.
    max: u32,
}

impl Backoff {
    /// Returns a backoff that starts at `min_ms` and doubles up to `max_ms`.
    ///
    /// A `min_ms` of 0 is taken as 1 ms. A `max_ms` below `min_ms` (0, say)
    /// means no growth: the backoff stays at `min_ms`, as nng's does for a
    /// zero maximum.
    pub(crate) fn new(min_ms: u32, max_ms: u32) -> Self {
        let min = min_ms.max(1);
        Self {
            cur: min,
            min,
            max: max_ms.max(min),
        }
    }

    /// Returns how long to wait before the next attempt, from the random
    /// value `random`, and doubles the backoff.
    ///
    /// The delay is in `[⌈cur/2⌉, cur]`: never 0 and never above the
    /// maximum. It is uniform up to the negligible modulo bias of `random`.
    pub(crate) fn next_delay(&mut self, random: u32) -> u32 {
        let cur = self.cur;
        let jitter = random % NonZeroU32::MIN.saturating_add(cur / 2);
        self.cur = cur.saturating_mul(2).min(self.max);
        cur.saturating_sub(jitter)
    }

    /// Returns the current backoff, the upper bound of the next delay.
    pub(crate) fn current(&self) -> u32 {
        self.cur
    }

    /// Resets the backoff to its minimum, after a successful connection.
    pub(crate) fn reset(&mut self) {
        self.cur = self.min;
    }
}

#[cfg(test)]
#[expect(clippy::arithmetic_side_effects, reason = "an overflow fails the test")]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nng_defaults_double_up_to_the_cap() {
        let mut b = Backoff::new(10, 1000);
        let bounds: Vec<u32> = (0..9)
            .map(|_| {
                let cur = b.current();
                assert_eq!(b.clone().next_delay(0), cur);
                assert_eq!(b.next_delay(u32::MAX), cur - u32::MAX % (cur / 2 + 1));
                cur
            })
            .collect();
        assert_eq!(bounds, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        b.reset();
        assert_eq!(b.current(), 10);
    }

    #[test]
    fn delays_cover_the_upper_half() {
        let b = Backoff::new(10, 10);
        let mut seen: Vec<u32> = (0..100).map(|r| b.clone().next_delay(r)).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen, [5, 6, 7, 8, 9, 10]);
    }

    #[test]
    fn degenerate_limits() {
        let mut b = Backoff::new(0, 0);
        assert_eq!(b.next_delay(12345), 1);
        assert_eq!(b.next_delay(0), 1);
        let mut b = Backoff::new(100, 5);
        assert_eq!(b.current(), 100);
        b.next_delay(0);
        assert_eq!(b.current(), 100);
        let mut b = Backoff::new(u32::MAX, u32::MAX);
        assert_eq!(b.next_delay(0), u32::MAX);
        assert_eq!(
            b.next_delay(u32::MAX),
            u32::MAX - u32::MAX % (u32::MAX / 2 + 1)
        );
        let mut b = Backoff::new(u32::MAX / 2 + 1, u32::MAX);
        b.next_delay(0);
        assert_eq!(b.current(), u32::MAX);
    }

    proptest! {
        #[test]
        fn delays_stay_in_bounds(
            min: u32,
            max: u32,
            randoms in proptest::collection::vec(any::<u32>(), 1..40),
            reset_at: usize,
        ) {
            let mut b = Backoff::new(min, max);
            let reset_at = reset_at % randoms.len();
            let (lo, hi) = (min.max(1), max.max(min.max(1)));
            for (i, r) in randoms.into_iter().enumerate() {
                if i == reset_at {
                    b.reset();
                    prop_assert_eq!(b.current(), lo);
                }
                let cur = b.current();
                prop_assert!((lo..=hi).contains(&cur));
                let d = b.next_delay(r);
                prop_assert!(d >= 1 && d <= cur && d >= cur - cur / 2);
                prop_assert_eq!(b.current(), cur.saturating_mul(2).min(hi));
            }
        }
    }
}
