// SPDX-License-Identifier: GPL-2.0

//! Request/reply tags.
//!
//! A request's payload starts with a stack of 32-bit big-endian tags. Only
//! the last has its top bit set: it is the request id chosen by the REQ
//! socket. Every device that forwards the request pushes the 31-bit id of the
//! pipe it came in on, so the reply can retrace the path:
//!
//! ```text
//! [0|pipe 446][0|pipe 299][1|req 823] Hello
//! ```
//!
//! A REP socket strips the tags up to and including the request id (the
//! backtrace), and puts them back in front of its reply.
//!
//! Surveys carry the same tags: a SURVEYOR's survey id is a request id, its
//! RESPONDENTs strip and return the backtrace as REP does.

/// Length of one tag in bytes.
pub(crate) const TAG_LEN: usize = 4;

/// Default largest number of tags, request id included, that a REP accepts in
/// front of a request; deeper requests are dropped as looping.
///
/// This is nng's default `NNG_OPT_MAXTTL` with nng's meaning: nng's REP
/// counts every tag it strips, the request id too, and drops the request
/// when it would strip more than this. A request may thus pass through at
/// most `MAX_HOPS - 1` devices. The user may set 1..=[`MAX_TTL`].
pub(crate) const MAX_HOPS: usize = 8;

/// The largest limit a user may set (nng 1.x's bound on `NNG_OPT_MAXTTL`).
pub(crate) const MAX_TTL: usize = 15;

/// Top bit of a tag: set on the request id that ends the stack.
const END: u32 = 0x8000_0000;

/// The 31 bits of a tag that carry a request or pipe id.
pub(crate) const ID_MASK: u32 = !END;

/// Returns the tag that carries request id `id` (the top bit is set).
pub(crate) fn request_tag(id: u32) -> [u8; TAG_LEN] {
    (id | END).to_be_bytes()
}

/// Returns the backtrace tag for pipe `pipe_id`, of which only the low
/// 31 bits are used (the top bit is clear).
pub(crate) fn pipe_tag(pipe_id: u32) -> [u8; TAG_LEN] {
    (pipe_id & ID_MASK).to_be_bytes()
}

/// Returns the request id that a reply received by a REQ socket answers,
/// or `None` if the reply is malformed (shorter than a tag, or its first tag
/// lacks the top bit) and must be dropped.
///
/// The reply body follows the tag, at offset [`TAG_LEN`].
pub(crate) fn reply_id(payload: &[u8]) -> Option<u32> {
    let (tag, _) = payload.split_first_chunk::<TAG_LEN>()?;
    let tag = u32::from_be_bytes(*tag);
    (tag & END != 0).then_some(tag & ID_MASK)
}

/// Generator of the request ids of a REQ socket.
///
/// Ids are 31 bits wide and never 0. They start at a random value, so that
/// they differ across restarts, and count up, wrapping from `0x7fff_ffff`
/// to 1.
#[derive(Clone, Debug)]
pub(crate) struct RequestIds {
    /// The next id to hand out, or 0 to hand out 1.
    next: u32,
}

impl RequestIds {
    /// Returns a generator whose first id is derived from `random`.
    pub(crate) fn new(random: u32) -> Self {
        Self {
            next: random & ID_MASK,
        }
    }

    /// Returns the next request id; [`request_tag`] makes its tag.
    pub(crate) fn next_id(&mut self) -> u32 {
        let id = self.next.max(1);
        self.next = id.wrapping_add(1) & ID_MASK;
        id
    }
}

/// Why a request's backtrace was refused. The request is dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BacktraceError {
    /// The payload ended before a tag with the top bit set: the peer is
    /// broken (nng disconnects it).
    Truncated,
    /// No request id among the first tags allowed (the socket's limit, at
    /// most [`MAX_TTL`]): the request went through too many devices, perhaps
    /// in a loop (nng just drops it).
    TooDeep,
}

/// The backtrace of a request as received by a REP socket: its tags up to
/// and including the request id, at most [`MAX_TTL`] of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Backtrace {
    /// The tags as they were on the wire; only the first `len` are used.
    tags: [u8; TAG_LEN * MAX_TTL],
    /// Number of tags used, `1..=MAX_TTL`.
    len: usize,
}

impl Backtrace {
    /// Splits a request into its backtrace and body.
    ///
    /// Returns the backtrace and the offset of the body in `payload`, if
    /// it has at most `max` tags (clamped to 1..=[`MAX_TTL`]). The depth
    /// limit is checked before the length, as nng does, so a long enough
    /// stack without a request id is [`BacktraceError::TooDeep`] whether or
    /// not it is complete.
    pub(crate) fn parse(payload: &[u8], max: usize) -> Result<(Self, usize), BacktraceError> {
        let mut tags = [0; TAG_LEN * MAX_TTL];
        let mut rest = payload;
        let max = max.clamp(1, MAX_TTL);
        for (i, slot) in tags.chunks_exact_mut(TAG_LEN).take(max).enumerate() {
            let (tag, tail) = rest
                .split_first_chunk::<TAG_LEN>()
                .ok_or(BacktraceError::Truncated)?;
            slot.copy_from_slice(tag);
            rest = tail;
            if u32::from_be_bytes(*tag) & END != 0 {
                let len = i.saturating_add(1);
                return Ok((Self { tags, len }, payload.len().saturating_sub(rest.len())));
            }
        }
        Err(BacktraceError::TooDeep)
    }

    /// Returns the tags, to be sent in front of the reply.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.tags
            .get(..self.len.saturating_mul(TAG_LEN))
            .unwrap_or_default()
    }

    /// Returns the number of tags, request id included (at least 1).
    pub(crate) fn tags(&self) -> usize {
        self.len
    }

    /// Returns the request id, the last tag without its top bit.
    pub(crate) fn request_id(&self) -> u32 {
        let last = self
            .tags
            .chunks_exact(TAG_LEN)
            .nth(self.len.wrapping_sub(1))
            .and_then(|t| <[u8; TAG_LEN]>::try_from(t).ok())
            .unwrap_or_default();
        u32::from_be_bytes(last) & ID_MASK
    }
}

#[cfg(test)]
#[expect(clippy::arithmetic_side_effects, reason = "an overflow fails the test")]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    #[test]
    fn tags_match_the_wire() {
        assert_eq!(request_tag(823), [0x80, 0, 0x03, 0x37]);
        assert_eq!(request_tag(0x8000_0001), [0x80, 0, 0, 1]);
        assert_eq!(pipe_tag(446), [0, 0, 0x01, 0xbe]);
        assert_eq!(pipe_tag(0xffff_ffff), [0x7f, 0xff, 0xff, 0xff]);
    }

    #[test]
    fn parses_the_wire_example() {
        let mut msg = Vec::new();
        msg.extend_from_slice(&pipe_tag(446));
        msg.extend_from_slice(&pipe_tag(299));
        msg.extend_from_slice(&request_tag(823));
        msg.extend_from_slice(b"Hello");
        let (bt, body) = Backtrace::parse(&msg, MAX_HOPS).unwrap();
        assert_eq!(body, 12);
        assert_eq!(&msg[body..], b"Hello");
        assert_eq!(bt.as_bytes(), &msg[..12]);
        assert_eq!(bt.tags(), 3);
        assert_eq!(bt.request_id(), 823);
    }

    #[test]
    fn depth_limit_follows_nng() {
        let stack = |pipes: usize| {
            let mut msg = pipe_tag(7).repeat(pipes);
            msg.extend_from_slice(&request_tag(1));
            msg
        };
        // MAX_HOPS tags in all are fine, one more is not.
        let (bt, body) = Backtrace::parse(&stack(MAX_HOPS - 1), MAX_HOPS).unwrap();
        assert_eq!((bt.tags(), body), (MAX_HOPS, MAX_HOPS * TAG_LEN));
        assert_eq!(
            Backtrace::parse(&stack(MAX_HOPS), MAX_HOPS),
            Err(BacktraceError::TooDeep)
        );
        // Depth is checked before length, as nng does.
        assert_eq!(
            Backtrace::parse(&pipe_tag(7).repeat(MAX_HOPS), MAX_HOPS),
            Err(BacktraceError::TooDeep)
        );
        assert_eq!(
            Backtrace::parse(&pipe_tag(7).repeat(MAX_HOPS - 1), MAX_HOPS),
            Err(BacktraceError::Truncated)
        );
    }

    #[test]
    fn the_limit_is_the_socket_s() {
        let stack = |pipes: usize| {
            let mut msg = pipe_tag(7).repeat(pipes);
            msg.extend_from_slice(&request_tag(1));
            msg
        };
        for max in 1..=MAX_TTL {
            let (bt, _) = Backtrace::parse(&stack(max - 1), max).unwrap();
            assert_eq!(bt.tags(), max);
            assert_eq!(
                Backtrace::parse(&stack(max), max),
                Err(BacktraceError::TooDeep)
            );
        }
        // Out of range limits are clamped.
        assert!(Backtrace::parse(&stack(MAX_TTL - 1), 255).is_ok());
        assert_eq!(
            Backtrace::parse(&stack(MAX_TTL), 255),
            Err(BacktraceError::TooDeep)
        );
        assert!(Backtrace::parse(&stack(0), 0).is_ok());
        assert_eq!(Backtrace::parse(&stack(1), 0), Err(BacktraceError::TooDeep));
    }

    #[test]
    fn truncated_requests() {
        assert_eq!(
            Backtrace::parse(&[], MAX_HOPS),
            Err(BacktraceError::Truncated)
        );
        assert_eq!(
            Backtrace::parse(&[0x80, 0, 0], MAX_HOPS),
            Err(BacktraceError::Truncated)
        );
        assert_eq!(
            Backtrace::parse(&[0, 0, 0, 1, 0x80], MAX_HOPS),
            Err(BacktraceError::Truncated)
        );
        let (bt, body) = Backtrace::parse(&[0x80, 0, 0, 0], MAX_HOPS).unwrap();
        assert_eq!(
            (bt.as_bytes(), body, bt.request_id()),
            (&[0x80, 0, 0, 0][..], 4, 0)
        );
    }

    #[test]
    fn reply_ids() {
        assert_eq!(reply_id(&[0x80, 0, 0x03, 0x37, b'W']), Some(823));
        assert_eq!(reply_id(&[0xff, 0xff, 0xff, 0xff]), Some(0x7fff_ffff));
        assert_eq!(reply_id(&[0x00, 0, 0x03, 0x37, b'W']), None);
        assert_eq!(reply_id(&[0x80, 0, 0]), None);
        assert_eq!(reply_id(&[]), None);
    }

    #[test]
    fn request_ids_wrap_and_skip_zero() {
        let mut ids = RequestIds::new(0xffff_fffe);
        assert_eq!(ids.next_id(), 0x7fff_fffe);
        assert_eq!(ids.next_id(), 0x7fff_ffff);
        assert_eq!(ids.next_id(), 1);
        assert_eq!(ids.next_id(), 2);
        let mut ids = RequestIds::new(0x8000_0000);
        assert_eq!(ids.next_id(), 1);
        assert_eq!(ids.next_id(), 2);
    }

    proptest! {
        #[test]
        fn parse_returns_the_stack(
            pipes in vec(any::<u32>(), 0..MAX_HOPS),
            id: u32,
            body in vec(any::<u8>(), 0..64),
        ) {
            let mut msg: Vec<u8> = pipes.iter().flat_map(|&p| pipe_tag(p)).collect();
            msg.extend_from_slice(&request_tag(id));
            let stack_len = msg.len();
            msg.extend_from_slice(&body);
            let (bt, off) = Backtrace::parse(&msg, MAX_HOPS).unwrap();
            prop_assert_eq!(off, stack_len);
            prop_assert_eq!(bt.as_bytes(), &msg[..stack_len]);
            prop_assert_eq!(bt.tags(), pipes.len() + 1);
            prop_assert_eq!(bt.request_id(), id & ID_MASK);
            prop_assert_eq!(&msg[off..], &body[..]);
            // A reply built from it routes back to the same request id.
            prop_assert_eq!(reply_id(&bt.as_bytes()[bt.as_bytes().len() - TAG_LEN..]), Some(id & ID_MASK));
        }

        #[test]
        fn deeper_stacks_are_refused(
            pipes in vec(any::<u32>(), MAX_HOPS..3 * MAX_HOPS),
            id: u32,
            body in vec(any::<u8>(), 0..16),
        ) {
            let mut msg: Vec<u8> = pipes.iter().flat_map(|&p| pipe_tag(p)).collect();
            msg.extend_from_slice(&request_tag(id));
            msg.extend_from_slice(&body);
            prop_assert_eq!(Backtrace::parse(&msg, MAX_HOPS), Err(BacktraceError::TooDeep));
        }

        #[test]
        fn random_bytes_never_panic(msg in vec(any::<u8>(), 0..64)) {
            match Backtrace::parse(&msg, MAX_HOPS) {
                Ok((bt, off)) => {
                    prop_assert!((1..=MAX_HOPS).contains(&bt.tags()));
                    prop_assert_eq!(off, bt.tags() * TAG_LEN);
                    prop_assert_eq!(bt.as_bytes(), &msg[..off]);
                    prop_assert!(msg[off - TAG_LEN] & 0x80 != 0);
                    prop_assert!(msg[..off - TAG_LEN].chunks(TAG_LEN).all(|t| t[0] & 0x80 == 0));
                }
                Err(BacktraceError::TooDeep) => {
                    prop_assert!(msg.len() >= MAX_HOPS * TAG_LEN);
                    prop_assert!(msg.chunks(TAG_LEN).take(MAX_HOPS).all(|t| t[0] & 0x80 == 0));
                }
                Err(BacktraceError::Truncated) => {
                    let whole = msg.len() / TAG_LEN;
                    prop_assert!(whole < MAX_HOPS);
                    prop_assert!(msg.chunks_exact(TAG_LEN).all(|t| t[0] & 0x80 == 0));
                }
            }
            let reply = reply_id(&msg);
            prop_assert_eq!(reply.is_some(), msg.len() >= TAG_LEN && msg[0] & 0x80 != 0);
        }

        #[test]
        fn request_ids_are_31_bit_nonzero_and_count_up(seed: u32, n in 1usize..100) {
            let mut ids = RequestIds::new(seed);
            let mut prev = ids.next_id();
            prop_assert_eq!(prev, (seed & ID_MASK).max(1));
            for _ in 0..n {
                let id = ids.next_id();
                prop_assert!(id != 0 && id & END == 0);
                prop_assert_eq!(id, if prev == ID_MASK { 1 } else { prev + 1 });
                prev = id;
            }
        }
    }
}
