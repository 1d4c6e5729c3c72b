// SPDX-License-Identifier: GPL-2.0

//! PAIR version 1's hop count.
//!
//! Each pair1 message starts with a 32-bit big-endian hop count: 1 when a
//! socket sends it itself, one more for each device it crosses. A receiver
//! refuses a message counted 0 (no socket sends that) or beyond its limit
//! (`SP_MAXTTL`, a loop between devices); a message too short to hold a count,
//! or one counted beyond 0xff, means a broken peer. PAIR version 0 has no
//! header at all.

/// Length of the hop count in bytes.
pub(crate) const HOPS_LEN: usize = 4;

/// The hop count of a message a socket sends itself.
pub(crate) const DIRECT: [u8; HOPS_LEN] = 1u32.to_be_bytes();

/// What a receiver does with a pair1 message, by its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hops {
    /// Deliver it; the body follows the count.
    Deliver,
    /// Drop it: counted 0, or more than the receiver's limit.
    Drop,
    /// The peer is broken (the message is shorter than a count, or it is
    /// above 0xff): drop its connection.
    Malformed,
}

/// Judges a message by its first bytes (at least [`HOPS_LEN`] of them if it
/// is that long) against the receiver's limit `max`.
pub(crate) fn check(head: &[u8], max: u32) -> Hops {
    let Some(count) = head.first_chunk::<HOPS_LEN>() else {
        return Hops::Malformed;
    };
    match u32::from_be_bytes(*count) {
        0x100.. => Hops::Malformed,
        0 => Hops::Drop,
        n if n > max => Hops::Drop,
        _ => Hops::Deliver,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    #[test]
    fn direct_sends_count_one() {
        assert_eq!(DIRECT, [0, 0, 0, 1]);
        assert_eq!(check(&DIRECT, 1), Hops::Deliver);
    }

    #[test]
    fn the_rules() {
        assert_eq!(check(&[0, 0, 0, 0, b'x'], 8), Hops::Drop);
        assert_eq!(check(&[0, 0, 0, 8], 8), Hops::Deliver);
        assert_eq!(check(&[0, 0, 0, 9], 8), Hops::Drop);
        assert_eq!(check(&[0, 0, 0, 0xff], 15), Hops::Drop);
        assert_eq!(check(&[0, 0, 1, 0], 15), Hops::Malformed);
        assert_eq!(check(&[0x80, 0, 0, 1], 15), Hops::Malformed);
        assert_eq!(check(&[0, 0, 1], 8), Hops::Malformed);
        assert_eq!(check(&[], 8), Hops::Malformed);
    }

    proptest! {
        #[test]
        fn any_bytes(head in vec(any::<u8>(), 0..8), max in 1u32..=255) {
            let got = check(&head, max);
            match head.first_chunk::<4>().map(|c| u32::from_be_bytes(*c)) {
                None => prop_assert_eq!(got, Hops::Malformed),
                Some(n) if n > 0xff => prop_assert_eq!(got, Hops::Malformed),
                Some(n) => prop_assert_eq!(got == Hops::Deliver, n >= 1 && n <= max),
            }
        }
    }
}
