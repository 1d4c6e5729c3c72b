// SPDX-License-Identifier: GPL-2.0

//! The receive path of one connection: arbitrary stream bytes, cut into
//! chunks at arbitrary points, go through a `frame::Decoder` (driven either
//! with `feed`, or with `need`/`prefix_buf`/`advance` as a caller copying
//! from a socket does), the header through `header::check`, and each message
//! is allocated when it is announced. The outcome must be the one a plain
//! reading of the whole stream gives, whatever the cuts.
//!
//! Checked on the way: no panic; a message is only announced (and
//! allocated) with a length within the receive limit; its payload is exactly
//! that long; no bytes are taken past what the decoder asked for; an
//! oversized prefix closes the connection and stays refused; a caller that
//! reports more bytes than asked is refused without effect.
//!
//! Input: `flags` (bit 0: pull mode, bit 1: also try an overrun at every
//! step, bit 2: no header, bits 3-4: limit kind), eight bytes of limit,
//! one byte choosing our protocol, a count N, N chunk sizes, then the
//! stream.

#![no_main]

#[allow(dead_code)]
#[path = "../../mod.rs"]
mod proto;

use libfuzzer_sys::fuzz_target;
use proto::frame::{Decoder, Event, FrameError, Need, LEN_PREFIX};
use proto::header::{check, HeaderError, HEADER_LEN};

/// The protocols a socket can have.
const PROTOCOLS: [u16; 11] = [
    0x10, 0x11, 0x20, 0x21, 0x30, 0x31, 0x50, 0x51, 0x62, 0x63, 0x70,
];

/// The receive limit.
#[derive(Clone, Copy, Debug)]
enum Limit {
    /// No limit of our own.
    None,
    /// A small one: messages are allocated in full when announced.
    Small(u16),
    /// Any limit: messages are not allocated in advance.
    Any(u64),
}

impl Limit {
    fn max(self) -> Option<u64> {
        match self {
            Limit::None => None,
            Limit::Small(m) => Some(u64::from(m)),
            Limit::Any(m) => Some(m),
        }
    }
}

#[derive(Debug)]
struct Config<'a> {
    pull: bool,
    overrun: bool,
    headerless: bool,
    limit: Limit,
    mine: u16,
    cuts: &'a [u8],
    stream: &'a [u8],
}

fn config(data: &[u8]) -> Option<Config<'_>> {
    let (&flags, rest) = data.split_first()?;
    let (limit, rest) = rest.split_first_chunk::<8>()?;
    let (&proto, rest) = rest.split_first()?;
    let (&ncuts, rest) = rest.split_first()?;
    let (cuts, stream) = rest.split_at_checked(usize::from(ncuts))?;
    let value = u64::from_be_bytes(*limit);
    Some(Config {
        pull: flags & 1 != 0,
        overrun: flags & 2 != 0,
        headerless: flags & 4 != 0,
        limit: match (flags >> 3) & 3 {
            0 => Limit::None,
            1 | 2 => Limit::Small(value as u16),
            _ => Limit::Any(value),
        },
        mine: PROTOCOLS[usize::from(proto) % PROTOCOLS.len()],
        cuts,
        stream,
    })
}

/// What the receive path made of a stream.
#[derive(Debug, Default, PartialEq)]
struct Outcome {
    /// The peer's header, checked.
    header: Option<Result<u16, HeaderError>>,
    /// The complete messages.
    messages: Vec<Vec<u8>>,
    /// The announced length and bytes so far of an incomplete message.
    partial: Option<(usize, Vec<u8>)>,
    error: Option<FrameError>,
    /// Closed after a bad header or a framing error.
    closed: bool,
}

/// Reads the whole stream at once, without the decoder; returns what the
/// decoder should need next too.
fn reference(c: &Config<'_>) -> (Outcome, Need) {
    let mut out = Outcome::default();
    let mut rest = c.stream;
    if !c.headerless {
        let Some((h, tail)) = rest.split_first_chunk::<HEADER_LEN>() else {
            return (out, Need::Header(HEADER_LEN - rest.len()));
        };
        let checked = check(h, c.mine);
        out.header = Some(checked);
        if checked.is_err() {
            out.closed = true;
            return (out, Need::Prefix(LEN_PREFIX));
        }
        rest = tail;
    }
    loop {
        let Some((prefix, tail)) = rest.split_first_chunk::<LEN_PREFIX>() else {
            return (out, Need::Prefix(LEN_PREFIX - rest.len()));
        };
        let value = u64::from_be_bytes(*prefix);
        if c.limit.max().is_some_and(|max| value > max) || value > isize::MAX as u64 {
            out.error = Some(FrameError::TooBig);
            out.closed = true;
            return (out, Need::Prefix(0));
        }
        let len = value as usize;
        match tail.split_at_checked(len) {
            Some((msg, tail)) => {
                out.messages.push(msg.to_vec());
                rest = tail;
            }
            None => {
                out.partial = Some((len, tail.to_vec()));
                return (out, Need::Payload(len - tail.len()));
            }
        }
    }
}

/// The receive path's side of the decoder.
struct Receiver<'a> {
    c: &'a Config<'a>,
    dec: Decoder,
    out: Outcome,
}

impl Receiver<'_> {
    fn event(&mut self, event: Event) {
        match event {
            Event::Header(h) => {
                assert!(!self.c.headerless && self.out.header.is_none());
                let checked = check(&h, self.c.mine);
                self.out.header = Some(checked);
                self.out.closed = checked.is_err();
            }
            Event::Message(len) => {
                assert!(self.c.headerless || self.out.header == Some(Ok(self.peer())));
                assert!(self.out.partial.is_none(), "message inside a message");
                assert!(len <= isize::MAX as usize);
                assert!(
                    self.c.limit.max().map_or(true, |max| len as u64 <= max),
                    "message of {len} bytes over {:?}",
                    self.c.limit
                );
                // Allocated as announced, which is only safe when checked.
                let buf = match self.c.limit {
                    Limit::Small(_) => Vec::with_capacity(len),
                    Limit::None | Limit::Any(_) => Vec::new(),
                };
                self.out.partial = Some((len, buf));
            }
            Event::End => {
                let (len, msg) = self.out.partial.take().expect("end outside a message");
                assert_eq!(msg.len(), len);
                self.out.messages.push(msg);
            }
        }
    }

    /// Our partner's protocol.
    fn peer(&self) -> u16 {
        proto::header::peer_of(self.c.mine).expect("a known protocol")
    }

    fn payload(&mut self, bytes: &[u8]) {
        let (len, msg) = self
            .out
            .partial
            .as_mut()
            .expect("payload outside a message");
        msg.extend_from_slice(bytes);
        assert!(msg.len() <= *len, "more payload than announced");
    }

    fn failed(&mut self, err: FrameError, chunk: &[u8]) {
        assert_eq!(err, FrameError::TooBig);
        self.out.error = Some(err);
        self.out.closed = true;
        // Sticky: nothing more is taken.
        assert_eq!(self.dec.need(), Need::Prefix(0));
        assert!(self.dec.prefix_buf().is_empty());
        assert_eq!(self.dec.feed(chunk), Err(err));
        assert_eq!(self.dec.advance(0), Err(err));
    }

    /// Handles what a step completed; returns whether the chunk is used up,
    /// `rest` being what is left of it.
    fn done(&mut self, event: Option<Event>, rest: &[u8]) -> bool {
        match event {
            Some(e) => {
                self.event(e);
                false
            }
            None => {
                assert!(rest.is_empty(), "stopped with input left");
                true
            }
        }
    }

    /// Takes one chunk with `Decoder::feed`.
    fn push(&mut self, mut chunk: &[u8]) {
        while !self.out.closed {
            let in_payload = matches!(self.dec.need(), Need::Payload(_));
            let (used, event) = match self.dec.feed(chunk) {
                Ok(step) => step,
                Err(e) => return self.failed(e, chunk),
            };
            assert!(used <= chunk.len());
            if in_payload {
                self.payload(&chunk[..used]);
            } else {
                assert!(used <= LEN_PREFIX);
            }
            chunk = &chunk[used..];
            if self.done(event, chunk) {
                return;
            }
        }
    }

    /// Takes one chunk as a caller that copies where `Decoder::need` says.
    fn pull(&mut self, mut chunk: &[u8]) {
        while !self.out.closed {
            let need = self.dec.need();
            let n = need.bytes().min(chunk.len());
            match need {
                Need::Header(want) | Need::Prefix(want) => {
                    let buf = self.dec.prefix_buf();
                    assert_eq!(buf.len(), want);
                    buf[..n].copy_from_slice(&chunk[..n]);
                }
                Need::Payload(_) => {
                    assert!(self.dec.prefix_buf().is_empty());
                    self.payload(&chunk[..n]);
                }
            }
            if self.c.overrun {
                let over = need.bytes().saturating_add(1 + n);
                assert_eq!(self.dec.advance(over), Err(FrameError::Overrun));
                assert_eq!(self.dec.need(), need, "an overrun changed the decoder");
            }
            let event = match self.dec.advance(n) {
                Ok(event) => event,
                Err(e) => return self.failed(e, chunk),
            };
            chunk = &chunk[n..];
            if self.done(event, chunk) {
                return;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(c) = config(data) else { return };
    let max = c.limit.max();
    let dec = if c.headerless {
        Decoder::without_header(max)
    } else {
        Decoder::new(max)
    };
    let mut rx = Receiver {
        c: &c,
        dec,
        out: Outcome::default(),
    };
    let whole = [c.stream.len().max(1)];
    let sizes = if c.cuts.iter().any(|&s| s != 0) {
        c.cuts.iter().map(|&s| usize::from(s)).collect::<Vec<_>>()
    } else {
        whole.to_vec()
    };
    let mut pos = 0;
    for size in sizes.iter().cycle() {
        if pos >= c.stream.len() || rx.out.closed {
            break;
        }
        let end = c.stream.len().min(pos + size);
        let chunk = &c.stream[pos..end];
        if c.pull {
            rx.pull(chunk);
        } else {
            rx.push(chunk);
        }
        pos = end;
    }
    let (expected, need) = reference(&c);
    assert_eq!(rx.out, expected);
    if !rx.out.closed || rx.out.error.is_some() {
        assert_eq!(rx.dec.need(), need);
    }
});
