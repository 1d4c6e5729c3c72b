// SPDX-License-Identifier: GPL-2.0

//! Message framing on a byte stream.
//!
//! After the connection header, every message is a 64-bit big-endian payload
//! length followed by the payload. The length is checked against the receive
//! limit before anything is allocated for the payload.
//!
//! [`Decoder`] splits a stream delivered in chunks of any size into the
//! header and the messages, without allocating: it keeps at most eight bytes
//! of its own and tells the caller how many stream bytes it needs next and
//! where they go. A caller that reads from a socket into its own buffers
//! drives it like this:
//!
//! ```text
//! loop {
//!     match dec.need() {
//!         Need::Header(n) | Need::Prefix(n) => copy up to n bytes into dec.prefix_buf(),
//!         Need::Payload(n) => copy up to n bytes into the message being built,
//!     }
//!     match dec.advance(copied)? {
//!         Some(Event::Header(h)) => check h with header::check,
//!         Some(Event::Message(len)) => allocate len bytes (already checked),
//!         Some(Event::End) => deliver the message,
//!         None => {}
//!     }
//! }
//! ```
//!
//! A caller that already holds the stream bytes in a slice can use
//! [`Decoder::feed`] instead, which does both steps.

use super::header::HEADER_LEN;

/// Length of the payload length prefix in bytes.
pub(crate) const LEN_PREFIX: usize = 8;

/// A framing error. The connection must be closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// The peer announced a message longer than the receive limit, or
    /// longer than any buffer can be.
    TooBig,
    /// The caller reported more bytes than [`Decoder::need`] asked for.
    Overrun,
}

/// Returns the length prefix of a message of `len` bytes.
pub(crate) fn encode_len(len: usize) -> [u8; LEN_PREFIX] {
    // `usize` has at most 64 bits on every Linux target.
    (len as u64).to_be_bytes()
}

/// Decodes a length prefix and checks it against the receive limit `max`
/// (`None`: no limit of our own).
///
/// Lengths above `isize::MAX`, which no buffer can hold, are refused even
/// without a limit.
pub(crate) fn decode_len(prefix: &[u8; LEN_PREFIX], max: Option<u64>) -> Result<usize, FrameError> {
    let len = u64::from_be_bytes(*prefix);
    if max.is_some_and(|max| len > max) {
        return Err(FrameError::TooBig);
    }
    isize::try_from(len)
        .ok()
        .and_then(|len| usize::try_from(len).ok())
        .ok_or(FrameError::TooBig)
}

/// What the [`Decoder`] needs next from the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Need {
    /// This many more bytes of the connection header, to be copied into
    /// [`Decoder::prefix_buf`].
    Header(usize),
    /// This many more bytes of a length prefix, to be copied into
    /// [`Decoder::prefix_buf`].
    Prefix(usize),
    /// This many more bytes of the current message's payload, to be copied
    /// by the caller into its own buffer. Can be zero: see [`Event::Message`].
    Payload(usize),
}

impl Need {
    /// Returns the number of bytes needed.
    pub(crate) fn bytes(self) -> usize {
        match self {
            Need::Header(n) | Need::Prefix(n) | Need::Payload(n) => n,
        }
    }
}

/// Something the [`Decoder`] completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// The peer's connection header, not yet checked: see
    /// [`check`](super::header::check).
    Header([u8; HEADER_LEN]),
    /// A message of this many payload bytes begins. The length is within the
    /// limit, so the caller can allocate it now. Exactly this many payload
    /// bytes follow, then [`Event::End`]; for an empty message the decoder
    /// asks for `Need::Payload(0)` and `advance(0)` ends it.
    Message(usize),
    /// The current message is complete.
    End,
}

/// Where the [`Decoder`] is in the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading the connection header into `buf`.
    Header,
    /// Reading a length prefix into `buf`.
    Prefix,
    /// Inside a payload; this many bytes are left.
    Payload(usize),
}

/// An allocation-free decoder for the header and message frames of one
/// connection.
///
/// After a [`FrameError::TooBig`] the decoder stays stuck on the offending
/// prefix: it asks for `Need::Prefix(0)`, takes no more bytes and returns
/// the error again.
#[derive(Clone, Debug)]
pub(crate) struct Decoder {
    /// Current position in the stream.
    state: State,
    /// The header or length prefix being read (both are eight bytes).
    buf: [u8; LEN_PREFIX],
    /// Bytes of `buf` filled so far; at most `buf.len()`.
    filled: usize,
    /// Receive limit for [`decode_len`].
    max: Option<u64>,
}

impl Decoder {
    /// Returns a decoder that expects the connection header first.
    pub(crate) fn new(max: Option<u64>) -> Self {
        Self {
            state: State::Header,
            buf: [0; LEN_PREFIX],
            filled: 0,
            max,
        }
    }

    /// Returns a decoder that expects a message frame first, for a caller
    /// that has read the header by other means.
    pub(crate) fn without_header(max: Option<u64>) -> Self {
        Self {
            state: State::Prefix,
            ..Self::new(max)
        }
    }

    /// Returns what is needed next.
    pub(crate) fn need(&self) -> Need {
        let rest = LEN_PREFIX.saturating_sub(self.filled);
        match self.state {
            State::Header => Need::Header(rest),
            State::Prefix => Need::Prefix(rest),
            State::Payload(left) => Need::Payload(left),
        }
    }

    /// Returns the unfilled part of the header or length prefix, where the
    /// caller copies the next stream bytes before calling
    /// [`advance`](Self::advance). Empty while in a payload.
    pub(crate) fn prefix_buf(&mut self) -> &mut [u8] {
        match self.state {
            State::Header | State::Prefix => self.buf.get_mut(self.filled..).unwrap_or_default(),
            State::Payload(_) => &mut [],
        }
    }

    /// Records that the caller copied the next `n` stream bytes where
    /// [`need`](Self::need) said, and returns what they completed.
    ///
    /// `n` must not exceed `need().bytes()`; if it does, nothing is recorded
    /// and [`FrameError::Overrun`] is returned.
    pub(crate) fn advance(&mut self, n: usize) -> Result<Option<Event>, FrameError> {
        if n > self.need().bytes() {
            return Err(FrameError::Overrun);
        }
        if let State::Payload(left) = self.state {
            let left = left.saturating_sub(n);
            if left > 0 {
                self.state = State::Payload(left);
                return Ok(None);
            }
            self.state = State::Prefix;
            self.filled = 0;
            return Ok(Some(Event::End));
        }

        self.filled = self.filled.saturating_add(n);
        if self.filled < LEN_PREFIX {
            return Ok(None);
        }
        if self.state == State::Header {
            self.state = State::Prefix;
            self.filled = 0;
            return Ok(Some(Event::Header(self.buf)));
        }
        // On error `filled` stays full, so the decoder asks for nothing more.
        let len = decode_len(&self.buf, self.max)?;
        self.state = State::Payload(len);
        Ok(Some(Event::Message(len)))
    }

    /// The payload of the whole frame `input` begins with, if the stream is
    /// at a frame boundary and the frame's length is within the limit: the
    /// caller takes its `LEN_PREFIX + payload.len()` bytes as one message
    /// without [`advance`](Self::advance), and the decoder stays at the
    /// boundary. `None` otherwise, for the byte-wise path (which also reports
    /// a length over the limit).
    pub(crate) fn whole<'a>(&self, input: &'a [u8]) -> Option<&'a [u8]> {
        if self.state != State::Prefix || self.filled != 0 {
            return None;
        }
        let prefix: &[u8; LEN_PREFIX] = input.get(..LEN_PREFIX)?.try_into().ok()?;
        let len = decode_len(prefix, self.max).ok()?;
        input.get(LEN_PREFIX..LEN_PREFIX.checked_add(len)?)
    }

    /// Takes the next bytes of the stream from `input`, as many as needed
    /// and available, and returns how many it took and what they completed.
    ///
    /// The bytes taken while [`need`](Self::need) says [`Need::Payload`] are
    /// payload: the caller copies them into the current message. `None`
    /// means that all of `input` was taken and more is needed.
    pub(crate) fn feed(&mut self, input: &[u8]) -> Result<(usize, Option<Event>), FrameError> {
        let n = input.len().min(self.need().bytes());
        // Header and prefix bytes are kept here; payload is the caller's.
        for (dst, src) in self.prefix_buf().iter_mut().zip(input) {
            *dst = *src;
        }
        Ok((n, self.advance(n)?))
    }
}

#[cfg(test)]
#[expect(clippy::arithmetic_side_effects, reason = "an overflow fails the test")]
mod tests {
    use super::super::header;
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    /// What a stream decoded to.
    #[derive(Debug, Default, PartialEq)]
    struct Decoded {
        header: Option<[u8; HEADER_LEN]>,
        messages: Vec<Vec<u8>>,
        /// A message whose payload has not ended yet.
        partial: Option<Vec<u8>>,
        error: Option<FrameError>,
    }

    /// Encodes a header and messages the way a peer sends them.
    fn encode_stream(proto: u16, messages: &[Vec<u8>]) -> Vec<u8> {
        let mut out = header::encode(proto).to_vec();
        for m in messages {
            out.extend_from_slice(&encode_len(m.len()));
            out.extend_from_slice(m);
        }
        out
    }

    /// Feeds `stream` to `dec` in chunks of the given sizes (cycled), as a
    /// caller holding slices would.
    fn decode_chunked(dec: &mut Decoder, stream: &[u8], sizes: &[usize]) -> Decoded {
        let mut out = Decoded::default();
        let mut sizes = sizes.iter().cycle();
        let mut pos = 0;
        while pos < stream.len() {
            let end = stream.len().min(pos + sizes.next().copied().unwrap_or(1));
            let mut chunk = &stream[pos..end];
            loop {
                let in_payload = matches!(dec.need(), Need::Payload(_));
                let (used, event) = match dec.feed(chunk) {
                    Ok(step) => step,
                    Err(e) => {
                        out.error = Some(e);
                        return out;
                    }
                };
                assert!(used <= chunk.len());
                if in_payload {
                    let msg = out.partial.as_mut().expect("payload outside a message");
                    msg.extend_from_slice(&chunk[..used]);
                }
                chunk = &chunk[used..];
                match event {
                    None => {
                        assert!(chunk.is_empty(), "stopped with input left");
                        break;
                    }
                    Some(Event::Header(h)) => out.header = Some(h),
                    Some(Event::Message(len)) => {
                        assert!(out.partial.is_none());
                        out.partial = Some(Vec::with_capacity(len.min(64)));
                    }
                    Some(Event::End) => {
                        out.messages
                            .push(out.partial.take().expect("end without start"));
                    }
                }
            }
            pos = end;
        }
        out
    }

    #[test]
    fn len_prefix_matches_the_wire() {
        assert_eq!(encode_len(5), [0, 0, 0, 0, 0, 0, 0, 5]);
        assert_eq!(encode_len(0x0102_0304), [0, 0, 0, 0, 1, 2, 3, 4]);
        assert_eq!(decode_len(&[0, 0, 0, 0, 0, 1, 0, 0], None), Ok(0x1_0000));
    }

    #[test]
    fn decode_len_limits() {
        let mib = 1024 * 1024;
        assert_eq!(decode_len(&encode_len(mib), Some(mib as u64)), Ok(mib));
        assert_eq!(
            decode_len(&encode_len(mib + 1), Some(mib as u64)),
            Err(FrameError::TooBig)
        );
        assert_eq!(decode_len(&encode_len(0), Some(0)), Ok(0));
        assert_eq!(decode_len(&encode_len(1), Some(0)), Err(FrameError::TooBig));
        let isize_max = isize::MAX as u64;
        assert_eq!(
            decode_len(&isize_max.to_be_bytes(), None),
            Ok(isize::MAX as usize)
        );
        assert_eq!(
            decode_len(&(isize_max + 1).to_be_bytes(), None),
            Err(FrameError::TooBig)
        );
        assert_eq!(decode_len(&[0xff; 8], None), Err(FrameError::TooBig));
        assert_eq!(
            decode_len(&[0xff; 8], Some(u64::MAX)),
            Err(FrameError::TooBig)
        );
    }

    #[test]
    fn pull_mode_byte_by_byte() {
        // A caller that copies into prefix_buf() itself, one byte at a time.
        let stream = encode_stream(header::PUB, &[b"Hi".to_vec(), Vec::new()]);
        let mut dec = Decoder::new(Some(16));
        let mut events = Vec::new();
        let mut payload = Vec::new();
        let mut bytes = stream.iter();
        loop {
            let n = match dec.need() {
                Need::Payload(0) => 0,
                Need::Payload(_) => {
                    payload.push(*bytes.next().unwrap());
                    1
                }
                Need::Header(_) | Need::Prefix(_) => match bytes.next() {
                    Some(b) => {
                        dec.prefix_buf()[0] = *b;
                        1
                    }
                    None => break,
                },
            };
            if let Some(e) = dec.advance(n).unwrap() {
                events.push(e);
            }
        }
        assert_eq!(
            events,
            [
                Event::Header(header::encode(header::PUB)),
                Event::Message(2),
                Event::End,
                Event::Message(0),
                Event::End,
            ]
        );
        assert_eq!(payload, b"Hi");
        assert_eq!(dec.need(), Need::Prefix(LEN_PREFIX));
    }

    #[test]
    fn need_and_prefix_buf_agree() {
        let mut dec = Decoder::new(None);
        assert_eq!(dec.need(), Need::Header(8));
        assert_eq!(dec.feed(b"\0SP"), Ok((3, None)));
        assert_eq!(dec.need(), Need::Header(5));
        assert_eq!(dec.prefix_buf().len(), 5);
        assert_eq!(
            dec.feed(&[0, 0, 0x21, 0, 0, 9]),
            Ok((5, Some(Event::Header(header::encode(0x21)))))
        );
        assert_eq!(dec.need(), Need::Prefix(8));
        assert_eq!(dec.feed(&encode_len(3)), Ok((8, Some(Event::Message(3)))));
        assert_eq!(dec.need(), Need::Payload(3));
        assert!(dec.prefix_buf().is_empty());
        assert_eq!(dec.feed(b"abcdef"), Ok((3, Some(Event::End))));
    }

    #[test]
    fn overrun_is_refused_and_changes_nothing() {
        let mut dec = Decoder::without_header(None);
        assert_eq!(dec.advance(9), Err(FrameError::Overrun));
        assert_eq!(dec.advance(usize::MAX), Err(FrameError::Overrun));
        assert_eq!(dec.need(), Need::Prefix(8));
        assert_eq!(dec.feed(&encode_len(2)), Ok((8, Some(Event::Message(2)))));
        assert_eq!(dec.advance(3), Err(FrameError::Overrun));
        assert_eq!(dec.need(), Need::Payload(2));
        assert_eq!(dec.advance(2), Ok(Some(Event::End)));
    }

    #[test]
    fn too_big_is_sticky() {
        let mut dec = Decoder::without_header(Some(4));
        let mut stream = encode_len(5).to_vec();
        stream.extend_from_slice(b"hello");
        assert_eq!(dec.feed(&stream[..7]), Ok((7, None)));
        assert_eq!(dec.feed(&stream[7..]), Err(FrameError::TooBig));
        assert_eq!(dec.need(), Need::Prefix(0));
        assert!(dec.prefix_buf().is_empty());
        assert_eq!(dec.feed(&stream[8..]), Err(FrameError::TooBig));
        assert_eq!(dec.advance(1), Err(FrameError::Overrun));
    }

    /// Messages of a few sizes, including empty ones.
    fn messages() -> impl Strategy<Value = Vec<Vec<u8>>> {
        vec(vec(any::<u8>(), 0..40), 0..8)
    }

    proptest! {
        #[test]
        fn any_chunking_decodes_the_same(
            proto: u16,
            msgs in messages(),
            sizes in vec(1usize..20, 1..10),
        ) {
            let stream = encode_stream(proto, &msgs);
            let mut dec = Decoder::new(Some(40));
            let out = decode_chunked(&mut dec, &stream, &sizes);
            prop_assert_eq!(out.error, None);
            prop_assert_eq!(out.header, Some(header::encode(proto)));
            prop_assert_eq!(out.partial, None);
            prop_assert_eq!(out.messages, msgs);
            prop_assert_eq!(dec.need(), Need::Prefix(LEN_PREFIX));
        }

        #[test]
        fn too_big_is_refused_before_its_payload(
            good in messages(),
            extra in 1u64..1000,
            sizes in vec(1usize..20, 1..10),
        ) {
            const MAX: u64 = 40;
            let big = vec![0xaa; (MAX + extra).min(200) as usize];
            let mut stream = encode_stream(header::REQ, &good);
            stream.extend_from_slice(&(MAX + extra).to_be_bytes());
            stream.extend_from_slice(&big);
            let mut dec = Decoder::new(Some(MAX));
            let out = decode_chunked(&mut dec, &stream, &sizes);
            prop_assert_eq!(out.error, Some(FrameError::TooBig));
            prop_assert_eq!(out.messages, good);
            // No byte of the oversized payload was taken as payload.
            prop_assert_eq!(out.partial, None);
            prop_assert_eq!(dec.need(), Need::Prefix(0));
        }

        #[test]
        fn random_bytes_never_panic(
            stream in vec(any::<u8>(), 0..300),
            sizes in vec(1usize..40, 1..10),
            max in proptest::option::of(any::<u64>()),
        ) {
            let mut dec = Decoder::new(max);
            let out = decode_chunked(&mut dec, &stream, &sizes);
            let taken: usize = out.messages.iter().map(Vec::len).sum();
            prop_assert!(taken <= stream.len());
        }

        #[test]
        fn whole_frames_are_the_messages(
            messages in vec(vec(any::<u8>(), 0..40), 0..10),
            cut in any::<usize>(),
            max in proptest::option::of(0u64..40),
        ) {
            // Whole frames from the start of a stream cut anywhere: the messages up to the
            // cut or the first one over the limit, each exactly once.
            let mut stream = Vec::new();
            for m in &messages {
                stream.extend_from_slice(&encode_len(m.len()));
                stream.extend_from_slice(m);
            }
            let stream = &stream[..cut % (stream.len() + 1)];
            let dec = Decoder::without_header(max);
            let mut rest = stream;
            let mut got = Vec::new();
            while let Some(p) = dec.whole(rest) {
                got.push(p.to_vec());
                rest = &rest[LEN_PREFIX + p.len()..];
            }
            let mut want = Vec::new();
            let mut at = 0;
            for m in &messages {
                at += LEN_PREFIX + m.len();
                if at > stream.len() || max.is_some_and(|max| m.len() as u64 > max) {
                    break;
                }
                want.push(m.clone());
            }
            prop_assert_eq!(got, want);
            // Mid-frame, nothing is whole.
            let mut mid = Decoder::without_header(max);
            let _ = mid.advance(1);
            prop_assert_eq!(mid.whole(stream), None);
        }

        #[test]
        fn advance_never_panics(max: Option<u64>, steps in vec(any::<usize>(), 0..50)) {
            let mut dec = Decoder::new(max);
            for n in steps {
                let need = dec.need().bytes();
                match dec.advance(n) {
                    Err(FrameError::Overrun) => prop_assert!(n > need),
                    _ => prop_assert!(n <= need),
                }
            }
        }
    }
}
