// SPDX-License-Identifier: GPL-2.0

//! One SP socket: its state, send/recv/poll, and the REQ/REP patterns.
//!
//! A [`Socket`] lives in an `Arc`; the `struct sp_sk` the socket core allocated points at it,
//! each pipe and endpoint holds a reference back. `release()` ([`Socket::close`]) tears down
//! endpoints and pipes synchronously, which breaks those cycles.
//!
//! Lock discipline: `inner` is a [`BhLock`] because TCP callbacks and strparser (softirq)
//! deliver into it. Under it we may take a pipe's `q` lock and the receive queue's lock, and
//! queue work; we never sleep, never take a TCP socket lock, and never call into TCP.
//! Messages are queued for the user on the core's `sk_receive_queue`, charged to
//! `sk_rmem_alloc` and bounded by SO_RCVBUF; a pipe whose message does not fit is paused
//! (strparser stops reading, TCP flow control pushes back on the peer) until recv makes room.

use crate::pipe::{Pipe, PipeState};
use crate::proto::{header, reqrep};
use crate::skb::Skb;
use crate::sync::{new_bh_lock, BhLock, Timer};
use crate::{endpoint::Endpoint, sys};
use core::ptr;
use kernel::prelude::*;
use kernel::sync::Arc;

/// Turns a positive errno constant from the bindings into an [`Error`].
pub(crate) fn errno(e: u32) -> Error {
    Error::from_errno(-(e as i32))
}

/// The errno of a pattern state error (recv on REQ with nothing asked, send on REP with
/// nothing to answer); documented in the README.
pub(crate) const ESTATE: u32 = sys::EPROTO;

/// Frames queued on one pipe beyond which senders skip it (REQ) or drop (REP replies); REP
/// also drops once a pipe holds SO_SNDBUF bytes, so that one peer that does not read cannot
/// take the whole send buffer.
pub(crate) const PIPE_TXQ_MAX: usize = 64;

/// Socket types, with their wire protocol ids.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Req,
    Rep,
}

impl Kind {
    /// The kind for a `socket()` type argument.
    pub(crate) fn from_type(ty: i32) -> Option<Self> {
        match u32::try_from(ty).ok()? {
            sys::SOCK_REQ => Some(Self::Req),
            sys::SOCK_REP => Some(Self::Rep),
            _ => None,
        }
    }

    /// The 16-bit protocol id of the SP header.
    pub(crate) fn proto_id(self) -> u16 {
        match self {
            Self::Req => header::REQ,
            Self::Rep => header::REP,
        }
    }
}

/// User-settable options (SOL_SP).
#[derive(Clone, Copy)]
pub(crate) struct Options {
    pub(crate) resend_ivl: u32,
    pub(crate) reconnect_ivl: u32,
    pub(crate) reconnect_ivl_max: u32,
    /// Largest message a peer may send; `None`: no limit.
    pub(crate) rcvmaxsize: Option<u32>,
    pub(crate) sndprio: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            resend_ivl: sys::SP_RESEND_IVL_DEFAULT,
            reconnect_ivl: sys::SP_RECONNECT_IVL_DEFAULT,
            reconnect_ivl_max: sys::SP_RECONNECT_IVL_MAX_DEFAULT,
            rcvmaxsize: Some(sys::SP_RCVMAXSIZE_DEFAULT),
            sndprio: sys::SP_SNDPRIO_DEFAULT,
        }
    }
}

/// A request a REQ socket keeps until it is answered or replaced.
struct Pending {
    id: u32,
    /// The framed request (length, id tag, body), charged to our send buffer; clones go out.
    skb: Skb,
    /// The pipe the last copy went out on.
    pipe: Option<u32>,
}

enum ReqState {
    /// Nothing asked: recv is a state error.
    Idle,
    /// A request is out (or waiting for a pipe).
    Waiting(Pending),
    /// The reply to request `id` is queued for the user.
    Answered(u32),
}

/// What a REP socket owes: where the last request came from and its backtrace.
struct Owed {
    pipe: u32,
    bt: reqrep::Backtrace,
}

/// The state under [`Socket::inner`].
pub(crate) struct Inner {
    pub(crate) closing: bool,
    pub(crate) opts: Options,
    pub(crate) pipes: KVec<Arc<Pipe>>,
    pub(crate) endpoints: KVec<Endpoint>,
    next_pipe_id: u32,
    /// Round-robin cursor into `pipes`.
    rr: usize,
    /// Some pipe holds a message that did not fit the receive buffer.
    paused: bool,
    ids: reqrep::RequestIds,
    req: ReqState,
    owed: Option<Owed>,
}

/// One SP socket.
#[pin_data(PinnedDrop)]
pub(crate) struct Socket {
    /// INVARIANT: a valid `struct sock` we hold a reference to (`sock_hold`).
    sk: *mut sys::sock,
    pub(crate) kind: Kind,
    #[pin]
    pub(crate) inner: BhLock<Inner>,
    /// REQ: resends an unanswered request.
    #[pin]
    resend_timer: Timer,
}

// SAFETY: All mutable state is behind `inner`; `sk` is reference counted and its fields are
// accessed through the kernel's own synchronised helpers.
unsafe impl Send for Socket {}
// SAFETY: As above.
unsafe impl Sync for Socket {}

impl Socket {
    /// The state of a new socket around `sk`.
    pub(crate) fn new(sk: *mut sys::sock, kind: Kind) -> Result<Arc<Self>> {
        // SAFETY: Plain random number.
        let seed = unsafe { sys::get_random_u32() };
        let sock = Arc::pin_init(
            pin_init!(Self {
                sk,
                kind,
                inner <- new_bh_lock!(Inner {
                    closing: false,
                    opts: Options::default(),
                    pipes: KVec::new(),
                    endpoints: KVec::new(),
                    next_pipe_id: seed & reqrep::ID_MASK,
                    rr: 0,
                    paused: false,
                    ids: reqrep::RequestIds::new(seed.rotate_left(16)),
                    req: ReqState::Idle,
                    owed: None,
                }, "sp_socket"),
                resend_timer <- Timer::new(resend_timer_fn),
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: `sk` is valid (caller); this reference is dropped in `Drop`.
        unsafe { sys::sp_sock_hold(sk) };
        Ok(sock)
    }

    /// The core socket.
    pub(crate) fn sk(&self) -> *mut sys::sock {
        self.sk
    }

    /// A fresh 31-bit pipe id.
    pub(crate) fn next_pipe_id(&self) -> u32 {
        let mut inner = self.inner.lock();
        inner.next_pipe_id = inner.next_pipe_id.wrapping_add(1) & reqrep::ID_MASK;
        inner.next_pipe_id
    }

    /// Options as they are now.
    pub(crate) fn opts(&self) -> Options {
        self.inner.lock().opts
    }

    /// Registers a new pipe; fails once the socket is closing.
    pub(crate) fn add_pipe(&self, pipe: Arc<Pipe>) -> Result {
        let mut inner = self.inner.lock();
        if inner.closing {
            return Err(errno(sys::ESHUTDOWN));
        }
        inner.pipes.push(pipe, GFP_ATOMIC)?;
        Ok(())
    }

    /// Registers a new endpoint; fails once the socket is closing.
    pub(crate) fn add_endpoint(&self, ep: Endpoint) -> Result<(), Endpoint> {
        let mut inner = self.inner.lock();
        if inner.closing {
            return Err(ep);
        }
        match inner.endpoints.push(ep.clone(), GFP_ATOMIC) {
            Ok(()) => Ok(()),
            Err(_) => Err(ep),
        }
    }

    /// The address of the most recent listening endpoint, for getsockname().
    pub(crate) fn local_addr(&self) -> Option<crate::addr::Addr> {
        let inner = self.inner.lock();
        inner.endpoints.iter().rev().find_map(|e| match e {
            Endpoint::Listener(l) => Some(l.local),
            Endpoint::Dialer(_) => None,
        })
    }

    /// A pipe finished its handshake (softirq or process context).
    pub(crate) fn pipe_ready(&self, pipe: &Pipe) {
        let mut inner = self.inner.lock();
        if inner.closing {
            return;
        }
        if let ReqState::Waiting(p) = &inner.req {
            if p.pipe.is_none() {
                let _ = pipe;
                self.req_dispatch(&mut inner);
            }
        }
    }

    /// A pipe is gone: forget it and move its outstanding request elsewhere.
    pub(crate) fn pipe_removed(&self, pipe: &Pipe) {
        let removed;
        {
            let mut inner = self.inner.lock();
            let pos = inner.pipes.iter().position(|p| p.id == pipe.id);
            removed = pos.and_then(|i| crate::sync::swap_remove(&mut inner.pipes, i));
            if !inner.closing {
                if let ReqState::Waiting(p) = &mut inner.req {
                    if p.pipe == Some(pipe.id) {
                        p.pipe = None;
                        self.req_dispatch(&mut inner);
                    }
                }
            }
        }
        // Dropped outside the lock.
        drop(removed);
    }

    /// REQ: sends the pending request's next copy to a pipe that can take it, round-robin.
    fn req_dispatch(&self, inner: &mut Inner) {
        let n = inner.pipes.len();
        let mut choice = None;
        // First a pipe with nothing queued, then any ready pipe with room.
        for pass in 0..2 {
            for k in 0..n {
                let i = (inner.rr + k) % n;
                let Some(p) = inner.pipes.get(i) else {
                    continue;
                };
                if p.state() != PipeState::Ready {
                    continue;
                }
                let queued = p.tx_len();
                if (pass == 0 && queued == 0) || (pass == 1 && queued < PIPE_TXQ_MAX) {
                    choice = Some(i);
                    break;
                }
            }
            if choice.is_some() {
                break;
            }
        }
        let ReqState::Waiting(pending) = &mut inner.req else {
            return;
        };
        let Some(i) = choice else {
            pending.pipe = None;
            return;
        };
        inner.rr = i + 1;
        let Some(pipe) = inner.pipes.get(i) else {
            return;
        };
        let Some(copy) = pending.skb.clone_atomic() else {
            // No memory now: the resend timer tries again.
            pending.pipe = None;
            return;
        };
        pending.pipe = Some(pipe.id);
        pipe.send(copy);
    }

    /// The resend interval elapsed without a reply.
    fn resend(&self) {
        let mut inner = self.inner.lock();
        if inner.closing {
            return;
        }
        if let ReqState::Waiting(_) = inner.req {
            self.req_dispatch(&mut inner);
            self.resend_timer.arm_ms(inner.opts.resend_ivl);
        }
    }

    /// Delivers a message from `pipe` (softirq or strparser work), which the caller paused.
    /// Returns whether the pipe may go on; if not, the pipe holds the message until recv
    /// makes room and resumes it.
    ///
    /// The skb's strparser message descriptor covers exactly the SP payload.
    pub(crate) fn deliver(&self, pipe: &Pipe, skb: Skb) -> bool {
        let (off, len) = msg_span(&skb);
        let mut inner = self.inner.lock();
        match self.kind {
            Kind::Req => {
                let mut tag = [0u8; reqrep::TAG_LEN];
                if len < tag.len() || !skb.copy_bits(off, &mut tag) {
                    return true;
                }
                let Some(id) = reqrep::reply_id(&tag) else {
                    return true;
                };
                if !matches!(&inner.req, ReqState::Waiting(p) if p.id == id) {
                    // Not the request outstanding: stale or forged, dropped.
                    return true;
                }
                if !self.queue_rcv(&mut inner, pipe, skb) {
                    return false;
                }
                inner.req = ReqState::Answered(id);
                self.resend_timer.cancel();
                true
            }
            Kind::Rep => {
                let mut tags = [0u8; reqrep::TAG_LEN * reqrep::MAX_HOPS];
                let n = len.min(tags.len());
                if !skb.copy_bits(off, &mut tags[..n]) {
                    return true;
                }
                if reqrep::Backtrace::parse(&tags[..n]).is_err() {
                    // Malformed or looping: dropped, as nng does.
                    return true;
                }
                self.queue_rcv(&mut inner, pipe, skb)
            }
        }
    }

    /// Queues `skb` on the receive queue; when it is full, `pipe` holds it (and must stay
    /// paused) and this returns false.
    fn queue_rcv(&self, inner: &mut Inner, pipe: &Pipe, skb: Skb) -> bool {
        // SAFETY: `skb` is owned; the control block area is ours once strparser delivered it.
        unsafe { *sys::sp_skb_pipe_id(skb.as_ptr()) = pipe.id };
        // SAFETY: `self.sk` is valid; on success the queue takes the reference.
        let r = unsafe { sys::sock_queue_rcv_skb_reason(self.sk, skb.as_ptr(), ptr::null_mut()) };
        if r == 0 {
            let _ = skb.into_raw();
            true
        } else {
            inner.paused = true;
            pipe.hold(skb);
            false
        }
    }

    /// Lets paused pipes deliver again after recv made room.
    fn resume(&self) {
        let mut inner = self.inner.lock();
        if !inner.paused {
            return;
        }
        inner.paused = false;
        let mut i = 0;
        while let Some(p) = inner.pipes.get(i) {
            let p = p.clone();
            i += 1;
            let Some(skb) = p.take_held() else { continue };
            if !self.queue_rcv(&mut inner, &p, skb) {
                return;
            }
            p.unpause();
        }
    }

    /// sendmsg(): one call, one message.
    pub(crate) fn sendmsg(&self, msg: *mut sys::msghdr, len: usize) -> Result<usize> {
        // SAFETY: The socket core passes a valid msghdr.
        let flags = unsafe { (*msg).msg_flags };
        if flags & sys::MSG_OOB != 0 {
            return Err(errno(sys::EOPNOTSUPP));
        }
        if len > i32::MAX as usize / 2 {
            return Err(errno(sys::EMSGSIZE));
        }
        let frame = crate::proto::frame::LEN_PREFIX;
        match self.kind {
            Kind::Req => {
                let hdr = frame + reqrep::TAG_LEN;
                let mut skb = self.alloc_send(hdr, msg, len)?;
                let mut inner = self.inner.lock();
                if inner.closing {
                    return Err(errno(sys::EPIPE));
                }
                let id = inner.ids.next_id();
                let head = skb.head_mut(hdr);
                head[..frame].copy_from_slice(&crate::proto::frame::encode_len(len + 4));
                head[frame..].copy_from_slice(&reqrep::request_tag(id));
                // A new request cancels the old one and any unread reply to it.
                inner.req = ReqState::Waiting(Pending {
                    id,
                    skb,
                    pipe: None,
                });
                // SAFETY: `sk` is valid; the queue has its own lock.
                unsafe { sys::sp_sk_purge_receive_queue(self.sk) };
                self.req_dispatch(&mut inner);
                self.resend_timer.arm_ms(inner.opts.resend_ivl);
                Ok(len)
            }
            Kind::Rep => {
                let bt_len = match &self.inner.lock().owed {
                    Some(o) => o.bt.as_bytes().len(),
                    None => return Err(errno(ESTATE)),
                };
                let hdr = frame + bt_len;
                let mut skb = self.alloc_send(hdr, msg, len)?;
                let mut inner = self.inner.lock();
                let Some(owed) = inner.owed.take() else {
                    return Err(errno(ESTATE));
                };
                let bt = owed.bt.as_bytes();
                if bt.len() != bt_len {
                    // A concurrent recv replaced what we owed: answer that one instead.
                    inner.owed = Some(owed);
                    return Err(errno(sys::EAGAIN));
                }
                let head = skb.head_mut(hdr);
                head[..frame].copy_from_slice(&crate::proto::frame::encode_len(bt_len + len));
                head[frame..].copy_from_slice(bt);
                // A reply that cannot be routed (peer gone, queue full) is dropped.
                // SAFETY: `sk` is valid.
                let cap = unsafe { sys::sp_sk_sndbuf(self.sk) }.max(0) as usize;
                if let Some(p) = inner.pipes.iter().find(|p| p.id == owed.pipe) {
                    if p.state() == PipeState::Ready && p.tx_room(PIPE_TXQ_MAX, cap) {
                        p.send(skb);
                    }
                }
                Ok(len)
            }
        }
    }

    fn alloc_send(&self, hdr: usize, msg: *mut sys::msghdr, len: usize) -> Result<Skb> {
        let mut err = 0;
        // SAFETY: `sk` and `msg` are valid; the helper returns an owned skb or NULL with `err`.
        let skb = unsafe { sys::sp_skb_alloc_send(self.sk, hdr as u32, msg, len, &mut err) };
        // SAFETY: As above.
        unsafe { Skb::from_raw(skb) }.ok_or_else(|| Error::from_errno(err))
    }

    /// recvmsg(): one call, one whole message.
    pub(crate) fn recvmsg(&self, msg: *mut sys::msghdr, size: usize, flags: i32) -> Result<usize> {
        let uflags = flags as u32;
        if uflags & sys::MSG_OOB != 0 {
            return Err(errno(sys::EOPNOTSUPP));
        }
        let peek = uflags & sys::MSG_PEEK != 0;
        loop {
            if self.kind == Kind::Req {
                let inner = self.inner.lock();
                // SAFETY: `sk` is valid.
                let empty = unsafe { sys::sp_sk_receive_queue_empty(self.sk) };
                if matches!(inner.req, ReqState::Idle) && empty {
                    return Err(errno(ESTATE));
                }
            }
            let mut err = 0;
            // SAFETY: `sk` is valid; the core blocks per SO_RCVTIMEO and MSG_DONTWAIT and returns
            // a reference or NULL with `err`.
            let raw =
                unsafe { sys::skb_recv_datagram(self.sk, uflags & !sys::MSG_TRUNC, &mut err) };
            // SAFETY: As above.
            let Some(skb) = (unsafe { Skb::from_raw(raw) }) else {
                return Err(Error::from_errno(err));
            };
            let (off, len) = msg_span(&skb);
            let body = match self.kind {
                Kind::Req => {
                    let mut tag = [0u8; reqrep::TAG_LEN];
                    let id = skb
                        .copy_bits(off, &mut tag)
                        .then(|| reqrep::reply_id(&tag))
                        .flatten();
                    let mut inner = self.inner.lock();
                    // Usually `Answered`; `Waiting` when the reply was held back by a full
                    // receive buffer and queued later by `resume`.
                    let current = match &inner.req {
                        ReqState::Answered(want) => Some(*want),
                        ReqState::Waiting(p) => Some(p.id),
                        ReqState::Idle => None,
                    };
                    if id.is_none() || id != current {
                        // A reply to a request since replaced.
                        continue;
                    }
                    if !peek {
                        inner.req = ReqState::Idle;
                        self.resend_timer.cancel();
                    }
                    reqrep::TAG_LEN
                }
                Kind::Rep => {
                    let mut tags = [0u8; reqrep::TAG_LEN * reqrep::MAX_HOPS];
                    let n = len.min(tags.len());
                    if !skb.copy_bits(off, &mut tags[..n]) {
                        continue;
                    }
                    let Ok((bt, body)) = reqrep::Backtrace::parse(&tags[..n]) else {
                        continue;
                    };
                    if !peek {
                        // SAFETY: Set by `queue_rcv` on this skb.
                        let pipe = unsafe { *sys::sp_skb_pipe_id(skb.as_ptr()) };
                        self.inner.lock().owed = Some(Owed { pipe, bt });
                    }
                    body
                }
            };
            let real = len - body;
            let copy = real.min(size);
            // SAFETY: `msg` is valid; the range lies within the message.
            let r = unsafe {
                sys::sp_skb_copy_to_msg(skb.as_ptr(), (off + body) as i32, msg, copy as i32)
            };
            if copy < real {
                // SAFETY: As above.
                unsafe { (*msg).msg_flags |= sys::MSG_TRUNC };
            }
            if peek {
                drop(skb);
            } else {
                // SAFETY: Frees the skb and uncharges the receive buffer.
                unsafe { sys::skb_free_datagram(self.sk, skb.into_raw()) };
                self.resume();
            }
            if r != 0 {
                return Err(Error::from_errno(r));
            }
            return Ok(if uflags & sys::MSG_TRUNC != 0 {
                real
            } else {
                copy
            });
        }
    }

    /// poll(): the core's datagram readiness, with POLLOUT per pattern.
    pub(crate) fn poll(
        &self,
        file: *mut sys::file,
        sock: *mut sys::socket,
        wait: *mut sys::poll_table_struct,
    ) -> u32 {
        // SAFETY: Arguments as the core passed them.
        let mut mask = unsafe { sys::datagram_poll(file, sock, wait) };
        if self.kind == Kind::Rep {
            let out = sys::POLLOUT | sys::POLLWRNORM | sys::POLLWRBAND;
            mask &= !out;
            if self.inner.lock().owed.is_some() {
                mask |= out;
            }
        }
        mask
    }

    /// release(): stops every endpoint and pipe, synchronously.
    pub(crate) fn close(&self) {
        let (endpoints, pipes) = {
            let mut inner = self.inner.lock();
            inner.closing = true;
            inner.req = ReqState::Idle;
            inner.owed = None;
            (
                core::mem::take(&mut inner.endpoints),
                core::mem::take(&mut inner.pipes),
            )
        };
        self.resend_timer.shutdown();
        for ep in endpoints.iter() {
            ep.close();
        }
        for p in pipes.iter() {
            // What was already handed to a pipe goes to TCP, which delivers it after
            // release as it does for any closed socket; what TCP cannot take now is lost.
            p.flush();
            p.close_sync();
        }
    }
}

#[pinned_drop]
impl PinnedDrop for Socket {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The reference taken in `new`.
        unsafe { sys::sp_sock_put(self.sk) };
    }
}

/// Where the SP payload of a delivered message lies in its skb.
fn msg_span(skb: &Skb) -> (usize, usize) {
    // SAFETY: Every message skb carries strparser's descriptor in its control block.
    let m = unsafe { &*sys::sp_strp_msg(skb.as_ptr()) };
    (m.offset.max(0) as usize, m.full_len.max(0) as usize)
}

unsafe extern "C" fn resend_timer_fn(t: *mut sys::timer_list) {
    // SAFETY: The timer is embedded in a live `Socket`: `close` shuts it down before the
    // socket can go away.
    let sock = unsafe { &*kernel::container_of!(t.cast::<Timer>(), Socket, resend_timer) };
    sock.resend();
}
