// SPDX-License-Identifier: GPL-2.0

//! The receive side of a pipe: messages read straight off TCP's receive queue, in batches.
//!
//! `tcp_read_sock()` hands [`Rx::read`] the bytes TCP holds, in the TCP socket's receive
//! softirq or wherever its lock is held; [`frame::Decoder`] splits them into the peer's header
//! and messages. A small message (up to [`SMALL_MAX`] bytes, the common case) is copied into a
//! batch: one skb holding many messages as records, so that a stream of them costs one
//! allocation, one queueing and one wake-up per batch rather than per message. A large message
//! gets an skb of its own, filled into pages as its bytes arrive: a peer that announces a large
//! message costs nothing until it sends it, and what it sent counts as TCP memory until the
//! message is complete, so that `tcp_mem` bounds partial messages across all connections.
//! Either way TCP's own skbs are freed as soon as they are read, so TCP's receive window
//! reflects what the SP socket holds.
//!
//! At the end of each read, [`Rx::flush`] hands what is complete to the SP socket
//! ([`Socket::receive`]), which filters and queues it under one lock and wakes readers once.
//!
//! Backpressure: before each message, if the SP socket's receive buffer (plus what this read
//! collected) is full, the pipe stops reading and is paused; TCP's window then closes on the
//! peer. recv resumes it once it frees room (see [`Socket::resume`]).
//!
//! A batch record is a native-endian `u32` length (with `SP_RX_DEAD` set once the socket
//! refused the message), the `u32` id of the pipe it came from, then the payload.

use crate::pipe::{Pipe, PipeState};
use crate::proto::frame::{Decoder, Event, Need, LEN_PREFIX};
use crate::skb::{copy_bits, Skb, SkbQueue};
use crate::sys;
use core::sync::atomic::Ordering;

/// The largest message copied into a batch; larger ones get an skb of their own.
pub(crate) const SMALL_MAX: usize = 2048;

/// Bytes of a record's header: length and pipe id.
const REC_HDR: usize = 8;

/// The message being received.
enum Cur {
    /// Between messages (or in the header).
    Idle,
    /// A small message, in the current batch from this offset (its record header) on.
    Record(usize),
    /// A large message: its own skb, and what its pages hold of TCP's memory accounting.
    Large(Skb, TcpMem),
    /// A message nobody reads (PUB ignores what subscribers send).
    Discard,
}

/// What one pipe's receive side keeps between reads.
///
/// Used only where the TCP socket's lock is held, or in its receive softirq, which excludes
/// the holder: that serialises all reads of one connection.
pub(crate) struct Rx {
    dec: Decoder,
    cur: Cur,
    /// The batch being filled.
    batch: Option<Skb>,
    /// Complete skbs for the socket, in order.
    done: SkbQueue,
    /// Memory of `done` and `batch`, not yet charged to the SP socket.
    pending: usize,
    /// This read stopped: the receive buffer is full, or the pipe died.
    stopped: bool,
    /// What the receive buffer had room for when this read last looked.
    room: usize,
}

/// A message in a received skb, for recvmsg.
pub(crate) struct Record {
    /// Where its payload starts and how long it is.
    pub(crate) off: usize,
    pub(crate) len: usize,
    /// The pipe it came from.
    pub(crate) pipe: u32,
    /// Where the next record starts.
    next: usize,
}

impl Rx {
    /// A new connection's receive side, expecting the peer's header; messages above `max`
    /// bytes close the connection.
    pub(crate) fn new(max: Option<u64>) -> Self {
        Self {
            dec: Decoder::new(max),
            cur: Cur::Idle,
            batch: None,
            done: SkbQueue::new(),
            pending: 0,
            stopped: false,
            room: 0,
        }
    }

    /// Starts a read: the pipe may go on unless it is dead.
    pub(crate) fn start(&mut self) {
        self.stopped = false;
        self.room = 0;
    }

    /// Whether the last read stopped before taking everything TCP held.
    pub(crate) fn stopped(&self) -> bool {
        self.stopped
    }

    /// `tcp_read_sock()`'s actor: takes what it can of the `len` bytes at `off` in `skb` and
    /// returns how many it took; 0 stops the read.
    pub(crate) fn read(
        &mut self,
        pipe: &Pipe,
        skb: &sys::sk_buff,
        off: usize,
        len: usize,
    ) -> usize {
        let mut src = Source::new(skb, off + len);
        let mut pos = 0;
        while pos < len && !self.stopped {
            if pipe.state() == PipeState::Dead {
                self.stopped = true;
                break;
            }
            if self.dec.need() == Need::Prefix(LEN_PREFIX) {
                // Between messages.
                if self.full(pipe) {
                    self.stopped = true;
                    break;
                }
                match self.whole(pipe, &mut src, off + pos) {
                    Some(Some(k)) => {
                        pos += k;
                        continue;
                    }
                    Some(None) => {
                        self.fail(pipe);
                        break;
                    }
                    None => {}
                }
            }
            match self.dec.need() {
                Need::Header(n) | Need::Prefix(n) => {
                    let k = n.min(len - pos);
                    let buf = &mut self.dec.prefix_buf()[..k];
                    if !src.copy(off + pos, buf) {
                        self.fail(pipe);
                        break;
                    }
                    pos += k;
                    match self.dec.advance(k) {
                        Ok(Some(Event::Header(h))) => pipe.handshake(&h),
                        Ok(Some(Event::Message(m))) => {
                            if !self.begin(pipe, m, len - pos) {
                                self.fail(pipe);
                            } else if m == 0 {
                                // An empty message ends at once.
                                let _ = self.dec.advance(0);
                                self.end();
                            }
                        }
                        Ok(_) => {}
                        Err(_) => self.fail(pipe),
                    }
                }
                Need::Payload(n) => {
                    let k = n.min(len - pos);
                    if !self.body(&mut src, off + pos, k) {
                        self.fail(pipe);
                        break;
                    }
                    pos += k;
                    if let Ok(Some(Event::End)) = self.dec.advance(k) {
                        self.end();
                    }
                }
            }
        }
        pos
    }

    /// Whether the SP socket has no room for another message; if so the pipe is paused, so
    /// that recv resumes it. Checked again after pausing: recv may have made room meanwhile.
    ///
    /// The socket is looked at only once what this read collected passes the room it had at
    /// the last look: other pipes' reads may fill it meanwhile, by at most what each collects
    /// in one read, so the buffer overshoots by at most one read per CPU.
    fn full(&mut self, pipe: &Pipe) -> bool {
        if self.pending < self.room {
            return false;
        }
        let sock = pipe.sock();
        let room = || {
            if sock.closing() {
                usize::MAX
            } else {
                sock.rcvbuf().saturating_sub(sock.rmem())
            }
        };
        self.room = room();
        if self.pending < self.room {
            return false;
        }
        pipe.set_rx_paused(true);
        sock.rx_paused.store(true, Ordering::SeqCst);
        self.room = room();
        if self.pending >= self.room {
            return true;
        }
        pipe.set_rx_paused(false);
        false
    }

    /// A broken stream (framing error, out of memory): the connection goes.
    fn fail(&mut self, pipe: &Pipe) {
        self.stopped = true;
        pipe.kill();
    }

    /// At a message boundary, takes a whole small message that lies in one piece at `at`
    /// (the common case) as a record at once. `None`: not so, go byte-wise; `Some(None)`:
    /// out of memory; else the stream bytes it took.
    fn whole(&mut self, pipe: &Pipe, src: &mut Source<'_>, at: usize) -> Option<Option<usize>> {
        if !pipe.sock().receives() {
            return None;
        }
        let payload = self.dec.whole(src.rest(at)?)?;
        if payload.len() > SMALL_MAX {
            return None;
        }
        let rec = REC_HDR + payload.len();
        let Some(dst) = self.batch_for(rec, src.end - at).and_then(|b| b.put(rec)) else {
            return Some(None);
        };
        let (head, body) = dst.split_at_mut(REC_HDR);
        rec_header(head, payload.len(), pipe.id);
        body.copy_from_slice(payload);
        Some(Some(LEN_PREFIX + payload.len()))
    }

    /// The batch being filled, with room for a record of `rec` bytes: a new one if needed,
    /// as large as the `hint` bytes still at hand in this TCP skb, so that one batch takes a
    /// burst.
    fn batch_for(&mut self, rec: usize, hint: usize) -> Option<&mut Skb> {
        if self.batch.as_ref().map_or(true, |b| b.tailroom() < rec) {
            self.seal();
            let b = Skb::alloc_batch(rec.max(hint))?;
            self.pending += b.truesize();
            self.batch = Some(b);
        }
        self.batch.as_mut()
    }

    /// A message of `len` bytes begins; `hint` more bytes are at hand in this TCP skb.
    fn begin(&mut self, pipe: &Pipe, len: usize, hint: usize) -> bool {
        if !pipe.sock().receives() {
            self.cur = Cur::Discard;
            return true;
        }
        if len > SMALL_MAX {
            let Some(skb) = Skb::alloc_batch(0) else {
                return false;
            };
            let cb = sys::sp_rx_cb {
                pipe: pipe.id,
                ..Default::default()
            };
            // SAFETY: The skb is ours alone.
            unsafe { skb.set_rx_cb(cb) };
            self.cur = Cur::Large(skb, TcpMem(0));
            return true;
        }
        let Some(b) = self.batch_for(REC_HDR + len, hint) else {
            return false;
        };
        let start = b.len();
        let Some(head) = b.put(REC_HDR) else {
            return false;
        };
        rec_header(head, len, pipe.id);
        self.cur = Cur::Record(start);
        true
    }

    /// `n` payload bytes at `off` in `src`.
    fn body(&mut self, src: &mut Source<'_>, off: usize, n: usize) -> bool {
        match &mut self.cur {
            Cur::Record(_) => {
                let Some(dst) = self.batch.as_mut().and_then(|b| b.put(n)) else {
                    return false;
                };
                src.copy(off, dst)
            }
            Cur::Large(msg, mem) => {
                // SAFETY: `msg` is ours alone; `src.skb` is valid and holds the range (TCP
                // gave it).
                let r = unsafe { sys::sp_rx_append(msg.as_ptr(), src.skb, off as i32, n as i32) };
                r == 0 && mem.cover(msg.truesize())
            }
            Cur::Discard | Cur::Idle => true,
        }
    }

    /// The current message is complete.
    fn end(&mut self) {
        match core::mem::replace(&mut self.cur, Cur::Idle) {
            // Complete: the SP socket's receive buffer accounts for it from here on.
            Cur::Large(msg, _) => {
                let mut cb = msg.rx_cb();
                cb.end = msg.len() as u32;
                cb.tail = core::ptr::null_mut();
                // SAFETY: The skb is ours alone.
                unsafe { msg.set_rx_cb(cb) };
                // After the small messages that came before it.
                self.seal();
                self.pending += msg.truesize();
                self.done.push(msg);
            }
            Cur::Record(_) | Cur::Discard | Cur::Idle => {}
        }
    }

    /// Moves the current batch, if it holds records, to `done`.
    fn seal(&mut self) {
        let Some(b) = self.batch.take() else { return };
        if b.len() == 0 {
            self.pending -= b.truesize();
            return;
        }
        let cb = sys::sp_rx_cb {
            end: b.len() as u32,
            batch: 1,
            ..Default::default()
        };
        // SAFETY: The batch is ours alone.
        unsafe { b.set_rx_cb(cb) };
        self.done.push(b);
    }

    /// Ends a read: hands complete messages to the socket. A small message still arriving
    /// moves to a batch of its own, so that the ones before it need not wait for it.
    pub(crate) fn flush(&mut self, pipe: &Pipe) {
        if let Cur::Record(start) = self.cur {
            if start > 0 && !self.split(start) {
                self.fail(pipe);
            }
        } else {
            self.seal();
        }
        if self.done.is_empty() {
            return;
        }
        self.pending = self.batch.as_ref().map_or(0, Skb::truesize);
        let mut done = core::mem::replace(&mut self.done, SkbQueue::new());
        pipe.sock().receive(&mut done);
    }

    /// Moves the record at `start` of the current batch, incomplete, to a new batch.
    fn split(&mut self, start: usize) -> bool {
        let Some(mut old) = self.batch.take() else {
            return false;
        };
        let Some(new) = old
            .linear()
            .get(start..)
            .and_then(|p| Skb::copy_of(p, BATCH_HINT))
        else {
            self.batch = Some(old);
            return false;
        };
        old.trim(start);
        self.pending += new.truesize();
        self.batch = Some(old);
        self.seal();
        self.batch = Some(new);
        self.cur = Cur::Record(0);
        true
    }

    /// Drops everything (the connection is gone).
    pub(crate) fn clear(&mut self) {
        self.cur = Cur::Idle;
        self.batch = None;
        self.done.purge();
        self.pending = 0;
    }
}

/// Pages a partly received large message holds of TCP's memory accounting (see
/// `sp_tcp_mem_charge`), given back when it is complete or dropped.
struct TcpMem(usize);

/// Pages charged at a time: one update of TCP's global counter per 64 KiB received, not
/// per page, at the cost of charging up to that much more than is held.
const TCP_MEM_CHUNK: usize = 16;

impl TcpMem {
    /// Extends the charge to `bytes`; false past `tcp_mem`'s hard limit.
    fn cover(&mut self, bytes: usize) -> bool {
        let pages = bytes.div_ceil(kernel::page::PAGE_SIZE);
        if pages <= self.0 {
            return true;
        }
        let pages = pages.next_multiple_of(TCP_MEM_CHUNK);
        // SAFETY: Counter arithmetic only; any context.
        if !unsafe { sys::sp_tcp_mem_charge((pages - self.0) as _) } {
            return false;
        }
        self.0 = pages;
        true
    }
}

impl Drop for TcpMem {
    fn drop(&mut self) {
        if self.0 > 0 {
            // SAFETY: Gives back exactly what `cover` charged.
            unsafe { sys::sp_tcp_mem_uncharge(self.0 as _) };
        }
    }
}

/// The bytes TCP lends one actor call, copied out of the directly addressable stretch of the
/// skb at hand (its linear part or one page fragment) where they lie in one, with
/// `skb_copy_bits()` where they do not: most messages are copied without walking the skb.
struct Source<'a> {
    skb: &'a sys::sk_buff,
    /// Where the lent bytes end in `skb`.
    end: usize,
    /// Offset in `skb` at which `span` starts.
    base: usize,
    /// Bytes of `skb` from `base` on, contiguous in memory.
    span: &'a [u8],
}

impl<'a> Source<'a> {
    fn new(skb: &'a sys::sk_buff, end: usize) -> Self {
        Self {
            skb,
            end,
            base: 0,
            span: &[],
        }
    }

    /// Copies `dst.len()` bytes at offset `at` of the skb into `dst`.
    fn copy(&mut self, at: usize, dst: &mut [u8]) -> bool {
        let n = dst.len();
        if self.slice(at, n).is_none() {
            self.map(at);
        }
        match self.slice(at, n) {
            Some(src) => {
                dst.copy_from_slice(src);
                true
            }
            None => copy_bits(self.skb, at, dst),
        }
    }

    /// The contiguous bytes from `at` on, as far as they go in one stretch.
    fn rest(&mut self, at: usize) -> Option<&'a [u8]> {
        if self.slice(at, 1).is_none() {
            self.map(at);
        }
        self.span.get(at.checked_sub(self.base)?..)
    }

    /// `n` bytes at `at`, if they are in the current span.
    fn slice(&self, at: usize, n: usize) -> Option<&'a [u8]> {
        let from = at.checked_sub(self.base)?;
        self.span.get(from..from.checked_add(n)?)
    }

    /// Makes the span the contiguous stretch starting at `at`.
    fn map(&mut self, at: usize) {
        self.base = at;
        self.span = &[];
        let rest = self.end.saturating_sub(at);
        let (Ok(off), Ok(mut len)) = (u32::try_from(at), u32::try_from(rest)) else {
            return;
        };
        // SAFETY: TCP lends `skb` for the borrow `'a`; the helper returns NULL or the address
        // of `len` bytes of it, which TCP does not change while it holds them.
        unsafe {
            let p = sys::sp_skb_span(self.skb, off, &mut len);
            if !p.is_null() {
                self.span = core::slice::from_raw_parts(p, len as usize);
            }
        }
    }
}

/// Writes a record's header into `head` (`REC_HDR` bytes): the payload length and the pipe
/// it came from.
fn rec_header(head: &mut [u8], len: usize, pipe: u32) {
    head[..4].copy_from_slice(&(len as u32).to_ne_bytes());
    head[4..].copy_from_slice(&pipe.to_ne_bytes());
}

/// What a batch for a partly received message is allocated for: the message may be up to
/// [`SMALL_MAX`] bytes.
const BATCH_HINT: usize = REC_HDR + SMALL_MAX;

/// The next message to read in a queued skb, from its current position.
pub(crate) fn next_record(skb: &Skb) -> Option<Record> {
    record_at(skb, skb.rx_cb().pos as usize)
}

/// The first message at or after `pos` in a received skb that is not dead.
fn record_at(skb: &Skb, mut pos: usize) -> Option<Record> {
    let cb = skb.rx_cb();
    let end = cb.end as usize;
    if cb.batch == 0 {
        return (pos < end).then_some(Record {
            off: pos,
            len: end - pos,
            pipe: cb.pipe,
            next: end,
        });
    }
    // Batches are linear.
    let data = skb.linear().get(..end)?;
    while let Some(hdr) = data.get(pos..pos + REC_HDR) {
        let word = u32::from_ne_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
        let len = (word & !sys::SP_RX_DEAD) as usize;
        let next = pos + REC_HDR + len;
        if word & sys::SP_RX_DEAD == 0 {
            return Some(Record {
                off: pos + REC_HDR,
                len,
                pipe: u32::from_ne_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]),
                next,
            });
        }
        pos = next;
    }
    None
}

/// Marks `rec` of a queued skb read: the next read starts after it. Returns whether the skb
/// holds more.
///
/// # Safety
///
/// The caller holds the socket's reader lock.
pub(crate) unsafe fn consume(skb: &Skb, rec: &Record) -> bool {
    let mut cb = skb.rx_cb();
    cb.pos = rec.next as u32;
    // SAFETY: The reader lock excludes other writers of queued skbs' control blocks.
    unsafe { skb.set_rx_cb(cb) };
    next_record(skb).is_some()
}

/// Calls `keep` for each message of a batch or large-message skb not yet queued, marking those
/// it refuses dead; returns whether any is left.
pub(crate) fn filter(skb: &mut Skb, mut keep: impl FnMut(&Skb, &Record) -> bool) -> bool {
    let batch = skb.rx_cb().batch != 0;
    let mut live = false;
    let mut pos = 0;
    while let Some(rec) = record_at(skb, pos) {
        if keep(skb, &rec) {
            live = true;
        } else if !batch {
            return false;
        } else {
            let at = rec.off - REC_HDR;
            if let Some(word) = skb.linear_mut().get_mut(at..at + 4) {
                let dead = (rec.len as u32) | sys::SP_RX_DEAD;
                word.copy_from_slice(&dead.to_ne_bytes());
            }
        }
        pos = rec.next;
    }
    live
}
