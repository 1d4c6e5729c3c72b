// SPDX-License-Identifier: GPL-2.0

//! Which pipe a load-balancing sender (REQ) uses next.
//!
//! The paper's failover: a socket's endpoints carry a send priority
//! (SP_SNDPRIO, 1 highest .. 16); messages go to the highest-priority peers
//! that can take them, and to lower ones only while none of those can.
//! Within a priority an idle pipe (nothing queued) is preferred to a busy one,
//! so that one slow peer does not collect requests while others wait; ties go
//! round-robin.

/// How a pipe that can take a message looks to the sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Candidate {
    /// Send priority, 1 (highest) .. 16.
    pub(crate) prio: u8,
    /// Something is queued on it already.
    pub(crate) busy: bool,
}

/// Picks one of `n` pipes, visiting them round-robin from `start`: the first
/// visited of those with the best (lowest) [`Candidate`]. `look(i)` describes
/// pipe `i`, or is `None` if it cannot take a message now (not ready, full).
pub(crate) fn pick(
    n: usize,
    start: usize,
    mut look: impl FnMut(usize) -> Option<Candidate>,
) -> Option<usize> {
    let mut best: Option<(Candidate, usize)> = None;
    let mut i = start.checked_rem(n).unwrap_or(0);
    for _ in 0..n {
        if let Some(c) = look(i) {
            if best.map_or(true, |(b, _)| c < b) {
                best = Some((c, i));
            }
        }
        i = i.wrapping_add(1);
        if i == n {
            i = 0;
        }
    }
    best.map(|(_, i)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn c(prio: u8, busy: bool) -> Option<Candidate> {
        Some(Candidate { prio, busy })
    }

    #[test]
    fn highest_priority_first_then_falls_back() {
        // Pipes 0 and 2 at priority 1, 1 and 3 at priority 2.
        let all = [c(1, false), c(2, false), c(1, false), c(2, false)];
        assert_eq!(pick(4, 0, |i| all[i]), Some(0));
        assert_eq!(pick(4, 1, |i| all[i]), Some(2));
        assert_eq!(pick(4, 3, |i| all[i]), Some(0));
        // Both priority-1 peers down: the priority-2 ones, round-robin.
        let down = [None, c(2, false), None, c(2, false)];
        assert_eq!(pick(4, 0, |i| down[i]), Some(1));
        assert_eq!(pick(4, 2, |i| down[i]), Some(3));
        // One is back.
        let back = [None, c(2, false), c(1, true), c(2, false)];
        assert_eq!(pick(4, 3, |i| back[i]), Some(2));
    }

    #[test]
    fn idle_before_busy_within_a_priority_only() {
        let v = [c(8, true), c(8, false), c(9, false)];
        assert_eq!(pick(3, 0, |i| v[i]), Some(1));
        let v = [c(8, true), c(9, false)];
        assert_eq!(pick(2, 1, |i| v[i]), Some(0));
    }

    #[test]
    fn nothing_to_pick() {
        assert_eq!(pick(0, 5, |_| c(1, false)), None);
        assert_eq!(pick(3, 0, |_| None), None);
    }

    proptest! {
        /// The pick is a best candidate, and the first best one visited.
        #[test]
        fn first_best_in_round_robin_order(
            pipes in proptest::collection::vec(
                proptest::option::of((1u8..=16, any::<bool>())), 0..40),
            start in any::<usize>(),
        ) {
            let look = |i: usize| pipes[i].map(|(prio, busy)| Candidate { prio, busy });
            let n = pipes.len();
            let got = pick(n, start, look);
            let best = (0..n).filter_map(look).min();
            match (got, best) {
                (None, None) => {}
                (Some(i), Some(b)) => {
                    prop_assert_eq!(look(i), Some(b));
                    let s = start.checked_rem(n).unwrap_or(0);
                    let before = (s..n).chain(0..s).take_while(|&j| j != i);
                    for j in before {
                        prop_assert_ne!(look(j), Some(b));
                    }
                }
                _ => prop_assert!(false, "pick {:?}, best {:?}", got, best),
            }
        }
    }
}
