// SPDX-License-Identifier: GPL-2.0

//! One SP socket: its state and the system calls every pattern shares.
//!
//! A [`Socket`] lives in an `Arc`; the `struct sp_sk` the socket core allocated points at it,
//! each pipe and endpoint holds a reference back. `release()` ([`Socket::close`]) either tears
//! down endpoints and pipes at once or, while messages are still to be delivered, hands the
//! socket to [`crate::linger`] until they are; [`Socket::finish`] breaks those cycles. The
//! patterns (`reqrep`, `pubsub`) route messages across the socket's pipes; this file holds
//! what they share.
//!
//! Lock discipline: `inner` is a [`BhLock`] because TCP callbacks (softirq) deliver into it.
//! Under it we may take a pipe's `q` lock and the receive queue's lock, allocate with
//! `GFP_ATOMIC` and queue work; we never sleep, never take a TCP socket lock and never call
//! into TCP. Transmit happens after the lock is dropped, in the sender's own
//! context when it is process context, else on the workqueue.
//!
//! Messages are queued for the user on the core's `sk_receive_queue`, in the skbs `rx` builds
//! (batches of small messages, or one large message), charged to `sk_rmem_alloc` and bounded
//! by SO_RCVBUF: a pipe that finds it full stops reading (TCP flow control pushes back on the
//! peer) until recv makes room. Readers take messages one at a time from the head skb under
//! `reader`.

use crate::pipe::{Pipe, PipeState};
use crate::proto::header;
use crate::rx;
use crate::skb::{Skb, SkbQueue};
use crate::sync::{new_bh_lock, queue, BhLock, Timer};
use crate::{endpoint::Endpoint, pubsub, reqrep, sys};
use core::mem::ManuallyDrop;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow, Mutex};
use kernel::workqueue::{impl_has_work, new_work, Work, WorkItem};

/// Turns a positive errno constant from the bindings into an [`Error`].
pub(crate) fn errno(e: u32) -> Error {
    Error::from_errno(-(e as i32))
}

/// The errno of a pattern state error (recv on REQ with nothing asked, send on REP with
/// nothing to answer); documented in the README.
pub(crate) const ESTATE: u32 = sys::EPROTO;

/// Frames queued on one pipe beyond which senders skip it (REQ) or drop (REP, PUB). Both
/// also drop once a pipe holds SO_SNDBUF bytes, so that one peer that does not read cannot
/// take the whole send buffer.
pub(crate) const PIPE_TXQ_MAX: usize = 1024;

/// Messages up to this size are sent through [`Socket::staging`] (PUB and REP), without an
/// skb of their own.
pub(crate) const SMALL_SEND: usize = 1024;

/// How long close() keeps delivering when SO_LINGER is off.
const LINGER_DEFAULT_MS: u32 = sys::SP_LINGER_DEFAULT * 1000;

/// Socket types, with their wire protocol ids.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Req,
    Rep,
    Pub,
    Sub,
}

impl Kind {
    /// The kind for a `socket()` type argument.
    pub(crate) fn from_type(ty: i32) -> Option<Self> {
        match u32::try_from(ty).ok()? {
            sys::SOCK_REQ => Some(Self::Req),
            sys::SOCK_REP => Some(Self::Rep),
            sys::SOCK_PUB => Some(Self::Pub),
            sys::SOCK_SUB => Some(Self::Sub),
            _ => None,
        }
    }

    /// The 16-bit protocol id of the SP header.
    pub(crate) fn proto_id(self) -> u16 {
        match self {
            Self::Req => header::REQ,
            Self::Rep => header::REP,
            Self::Pub => header::PUB,
            Self::Sub => header::SUB,
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
    /// 1 (highest) .. 16, for endpoints added from now on.
    pub(crate) sndprio: u8,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            resend_ivl: sys::SP_RESEND_IVL_DEFAULT,
            reconnect_ivl: sys::SP_RECONNECT_IVL_DEFAULT,
            reconnect_ivl_max: sys::SP_RECONNECT_IVL_MAX_DEFAULT,
            rcvmaxsize: Some(sys::SP_RCVMAXSIZE_DEFAULT),
            sndprio: sys::SP_SNDPRIO_DEFAULT as u8,
        }
    }
}

/// What each pattern keeps under the socket's lock.
pub(crate) enum Pattern {
    Req(reqrep::Req),
    Rep(reqrep::Rep),
    Pub,
    Sub(pubsub::Sub),
}

/// The state under [`Socket::inner`].
pub(crate) struct Inner {
    pub(crate) closing: bool,
    pub(crate) opts: Options,
    pub(crate) pipes: KVec<Arc<Pipe>>,
    pub(crate) endpoints: KVec<Endpoint>,
    next_pipe_id: u32,
    /// Round-robin cursor into `pipes` for senders.
    pub(crate) rr: usize,
    /// Messages dropped: copies a PUB could not queue, replies a REP could not route.
    pub(crate) drops: u64,
    pub(crate) pattern: Pattern,
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
    pub(crate) resend_timer: Timer,
    /// Closed, and nothing is left to hand to pipes: they flush, shut down and go; no new
    /// pipes. Set under `inner`.
    drain: AtomicBool,
    /// Closed: nobody reads; pipes read on and discard. Set with `inner.closing`.
    closed: AtomicBool,
    /// Some pipe stopped reading because the receive buffer was full.
    pub(crate) rx_paused: AtomicBool,
    /// Serialises readers: each takes the next message from the head of the receive queue.
    #[pin]
    reader: Mutex<()>,
    /// PUB and REP: a small message is framed here, then copied to each subscriber's queue
    /// (PUB) or written to TCP (REP).
    #[pin]
    pub(crate) staging: Mutex<KVec<u8>>,
    /// [`Socket::finish`] ran.
    finished: AtomicBool,
    /// Ends a lingering socket's time.
    #[pin]
    linger_timer: Timer,
    #[pin]
    finish_work: Work<Socket>,
}

impl_has_work! {
    impl HasWork<Self> for Socket { self.finish_work }
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
        let pattern = match kind {
            Kind::Req => Pattern::Req(reqrep::Req::new(seed.rotate_left(16))),
            Kind::Rep => Pattern::Rep(reqrep::Rep::default()),
            Kind::Pub => Pattern::Pub,
            Kind::Sub => Pattern::Sub(pubsub::Sub::new()),
        };
        let staging = match kind {
            Kind::Pub => KVec::from_elem(0, pubsub::STAGING, GFP_KERNEL)?,
            Kind::Rep => KVec::from_elem(0, reqrep::REP_STAGING, GFP_KERNEL)?,
            _ => KVec::new(),
        };
        let sock = Arc::pin_init(
            pin_init!(Self {
                sk,
                kind,
                inner <- new_bh_lock!(Inner {
                    closing: false,
                    opts: Options::default(),
                    pipes: KVec::new(),
                    endpoints: KVec::new(),
                    next_pipe_id: seed & crate::proto::reqrep::ID_MASK,
                    rr: 0,
                    drops: 0,
                    pattern,
                }, "sp_socket"),
                resend_timer <- Timer::new(reqrep::resend_timer_fn),
                drain: AtomicBool::new(false),
                closed: AtomicBool::new(false),
                rx_paused: AtomicBool::new(false),
                reader <- new_mutex!((), "sp_reader"),
                staging <- new_mutex!(staging, "sp_staging"),
                finished: AtomicBool::new(false),
                linger_timer <- Timer::new(linger_timer_fn),
                finish_work <- new_work!("sp_finish"),
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: `sk` is valid (caller); this reference is dropped in `drop`.
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
        inner.next_pipe_id = inner.next_pipe_id.wrapping_add(1) & crate::proto::reqrep::ID_MASK;
        inner.next_pipe_id
    }

    /// Options as they are now.
    pub(crate) fn opts(&self) -> Options {
        self.inner.lock().opts
    }

    /// SO_SNDBUF, which also caps each pipe's queue.
    pub(crate) fn sndbuf(&self) -> usize {
        // SAFETY: `sk` is valid.
        unsafe { sys::sp_sk_sndbuf(self.sk) }.max(0) as usize
    }

    /// Connections whose SP header exchange has completed (SP_PEERS).
    pub(crate) fn peers(&self) -> usize {
        let inner = self.inner.lock();
        inner
            .pipes
            .iter()
            .filter(|p| p.state() == PipeState::Ready)
            .count()
    }

    /// Whether the socket was closed: what arrives is discarded.
    pub(crate) fn closing(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Bytes charged to the receive buffer.
    pub(crate) fn rmem(&self) -> usize {
        // SAFETY: `sk` is valid.
        unsafe { sys::sp_sk_rmem(self.sk) }.max(0) as usize
    }

    /// SO_RCVBUF.
    pub(crate) fn rcvbuf(&self) -> usize {
        // SAFETY: `sk` is valid.
        unsafe { sys::sp_sk_rcvbuf(self.sk) }.max(0) as usize
    }

    /// Whether pipes should flush and go, and endpoints make no more.
    pub(crate) fn draining(&self) -> bool {
        self.drain.load(Ordering::Acquire)
    }

    /// Registers a new pipe; fails once the socket is draining.
    pub(crate) fn add_pipe(&self, pipe: Arc<Pipe>) -> Result {
        let mut inner = self.inner.lock();
        if self.draining() {
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
    pub(crate) fn pipe_ready(&self) {
        let mut inner = self.inner.lock();
        let p = reqrep::pipe_ready(&mut inner);
        if inner.closing {
            if p.is_some() {
                // A lingering REQ's request is out: nothing is left to hand to pipes.
                reqrep::forget(&mut inner, false);
                self.start_drain(&inner);
            }
            return;
        }
        if let Some(p) = p {
            p.kick();
        }
    }

    /// Nothing more goes to pipes: each flushes its queue and shuts down (a pipe still
    /// in its handshake just goes), the socket goes with the last. Under `inner`.
    fn start_drain(&self, inner: &Inner) {
        self.drain.store(true, Ordering::Release);
        for p in inner.pipes.iter() {
            if p.state() == PipeState::Handshake {
                p.kill();
            } else {
                p.kick();
            }
        }
        if inner.pipes.is_empty() {
            self.queue_finish();
        }
    }

    /// Has the workqueue run [`Socket::finish`]. Any context.
    fn queue_finish(&self) {
        // SAFETY: Sockets live in an `Arc`, kept alive by the caller.
        let arc: Arc<Socket> = unsafe { ArcBorrow::from_raw(self) }.into();
        let _ = queue().enqueue(arc);
    }

    /// A pipe is gone: forget it and let the pattern react.
    pub(crate) fn pipe_removed(&self, pipe: &Pipe) {
        let removed;
        {
            let mut inner = self.inner.lock();
            let pos = inner.pipes.iter().position(|p| p.id == pipe.id);
            removed = pos.and_then(|i| crate::sync::swap_remove(&mut inner.pipes, i));
            if !inner.closing {
                if let Some(p) = reqrep::pipe_removed(&mut inner, pipe.id) {
                    p.kick();
                }
            } else if removed.is_some() && inner.pipes.is_empty() && self.draining() {
                // The last of a lingering socket.
                self.queue_finish();
            }
        }
        // Dropped outside the lock.
        drop(removed);
    }

    /// Takes messages a pipe received (skbs built by `rx`, in order; any context): the
    /// pattern decides which the user gets, those are queued, and readers are woken once.
    /// Discarded once the socket is closed.
    pub(crate) fn receive(&self, done: &mut SkbQueue) {
        let mut refused = SkbQueue::new();
        let mut queued = false;
        {
            let mut inner = self.inner.lock();
            while let Some(mut skb) = done.pop() {
                let keep = !inner.closing
                    && rx::filter(&mut skb, |skb, rec| self.accept(&mut inner, skb, rec));
                if keep {
                    // SAFETY: `sk` is valid; the queue takes our reference.
                    unsafe { sys::sp_rx_queue(self.sk, skb.into_raw()) };
                    queued = true;
                } else {
                    refused.push(skb);
                }
            }
        }
        if queued {
            // SAFETY: `sk` is valid.
            unsafe { sys::sp_sk_data_ready(self.sk) };
        }
        // Freed outside the lock.
        drop(refused);
    }

    /// Whether the user gets a message that arrived (under `inner`).
    fn accept(&self, inner: &mut Inner, skb: &Skb, rec: &rx::Record) -> bool {
        match self.kind {
            Kind::Req => reqrep::req_accept(inner, skb, rec.off, rec.len),
            // Malformed or looping requests are dropped, as nng does.
            Kind::Rep => reqrep::rep_acceptable(skb, rec.off, rec.len),
            // A PUB never reads payload from subscribers.
            Kind::Pub => false,
            Kind::Sub => pubsub::sub_wants(inner, skb, rec.off, rec.len),
        }
    }

    /// Lets pipes that stopped on a full receive buffer read again, once recv has emptied
    /// it to half: each read then takes a good part of what TCP holds, rather than a batch
    /// per message consumed. (It always comes: a pipe stops only on a full buffer, and recv
    /// calls this after each skb it empties.)
    fn resume(&self) {
        if !self.rx_paused.load(Ordering::SeqCst) || self.rmem() > self.rcvbuf() / 2 {
            return;
        }
        if !self.rx_paused.swap(false, Ordering::SeqCst) {
            return;
        }
        for p in self.inner.lock().pipes.iter() {
            p.resume();
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
        match self.kind {
            Kind::Req => reqrep::req_send(self, msg, len),
            Kind::Rep => reqrep::rep_send(self, msg, len),
            Kind::Pub => pubsub::pub_send(self, msg, len),
            Kind::Sub => Err(errno(sys::EOPNOTSUPP)),
        }
    }

    /// A message skb for sendmsg() with `hdr` bytes of framing room in front of the payload,
    /// charged to the send buffer (blocks per SO_SNDTIMEO unless non-blocking).
    pub(crate) fn alloc_send(&self, hdr: usize, msg: *mut sys::msghdr, len: usize) -> Result<Skb> {
        let mut err = 0;
        // SAFETY: `sk` and `msg` are valid; the helper returns an owned skb or NULL with `err`.
        let skb = unsafe { sys::sp_skb_alloc_send(self.sk, hdr as u32, msg, len, &mut err) };
        // SAFETY: As above.
        unsafe { Skb::from_raw(skb) }.ok_or_else(|| Error::from_errno(err))
    }

    /// Copies the payload of sendmsg() `msg` into `dst`, which is as long as the payload.
    pub(crate) fn copy_from_msg(dst: &mut [u8], msg: *mut sys::msghdr) -> Result {
        // SAFETY: `dst` is valid for its length; the socket core passes a valid `msg`.
        let err = unsafe { sys::sp_copy_from_msg(dst.as_mut_ptr().cast(), msg, dst.len()) };
        if err < 0 {
            return Err(Error::from_errno(err));
        }
        Ok(())
    }

    /// Drops every received message not yet read.
    pub(crate) fn purge_received(&self) {
        let _reader = self.reader.lock();
        // SAFETY: `sk` is valid; skbs leave the receive queue only under `reader`, which we
        // hold (see `sp_rx_peek`).
        unsafe { sys::sp_sk_purge_receive_queue(self.sk) };
    }

    /// recvmsg(): one call, one whole message.
    pub(crate) fn recvmsg(&self, msg: *mut sys::msghdr, size: usize, flags: i32) -> Result<usize> {
        let uflags = flags as u32;
        if uflags & sys::MSG_OOB != 0 || self.kind == Kind::Pub {
            return Err(errno(sys::EOPNOTSUPP));
        }
        let peek = uflags & sys::MSG_PEEK != 0;
        loop {
            if self.kind == Kind::Req {
                reqrep::req_may_recv(self)?;
            }
            let reader = self.reader.lock();
            // SAFETY: `sk` is valid. The head skb (or NULL) stays queued, and so valid, while
            // we hold `reader`; the queue keeps its reference.
            let head = unsafe { Skb::from_raw(sys::sp_rx_peek(self.sk)) }.map(ManuallyDrop::new);
            let Some(skb) = head else {
                drop(reader);
                // Waits (per SO_RCVTIMEO, MSG_DONTWAIT and signals) until something is
                // queued, taking nothing: messages are taken one by one under `reader`.
                let mut err = 0;
                let wflags = (uflags & !sys::MSG_TRUNC) | sys::MSG_PEEK;
                // SAFETY: `sk` is valid; the core returns a reference or NULL with `err`.
                let raw = unsafe { sys::skb_recv_datagram(self.sk, wflags, &mut err) };
                // SAFETY: As above.
                if unsafe { Skb::from_raw(raw) }.is_none() {
                    return Err(Error::from_errno(err));
                }
                continue;
            };
            let Some(rec) = rx::next_record(&skb) else {
                // SAFETY: `sk` is valid; `skb` is its head, which we hold `reader` for.
                unsafe { sys::sp_rx_unlink(self.sk, skb.as_ptr()) };
                continue;
            };
            // Where the user's payload starts, past the pattern's header.
            let body = match self.kind {
                Kind::Req => reqrep::req_received(self, &skb, rec.off, peek),
                Kind::Rep => reqrep::rep_received(self, &skb, rec.off, rec.len, rec.pipe, peek),
                Kind::Pub | Kind::Sub => Some(0),
            };
            let mut result = Ok(0);
            if let Some(body) = body {
                let real = rec.len - body;
                let copy = real.min(size);
                // SAFETY: `msg` is valid; the range lies within the message.
                let r = unsafe {
                    sys::sp_skb_copy_to_msg(skb.as_ptr(), (rec.off + body) as i32, msg, copy as i32)
                };
                if copy < real {
                    // SAFETY: As above.
                    unsafe { (*msg).msg_flags |= sys::MSG_TRUNC };
                }
                result = if r != 0 {
                    Err(Error::from_errno(r))
                } else if uflags & sys::MSG_TRUNC != 0 {
                    Ok(real)
                } else {
                    Ok(copy)
                };
            }
            // A stale or malformed message is dropped even by a peek.
            // SAFETY: We hold `reader`.
            if (!peek || body.is_none()) && !unsafe { rx::consume(&skb, &rec) } {
                // SAFETY: As above.
                unsafe { sys::sp_rx_unlink(self.sk, skb.as_ptr()) };
                drop(reader);
                self.resume();
            }
            if body.is_some() {
                return result;
            }
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
        let out = sys::POLLOUT | sys::POLLWRNORM | sys::POLLWRBAND;
        match self.kind {
            Kind::Rep => {
                mask &= !out;
                if reqrep::rep_owes(&self.inner.lock()) {
                    mask |= out;
                }
            }
            Kind::Sub => mask &= !out,
            Kind::Req | Kind::Pub => {}
        }
        mask
    }

    /// release(): with SO_LINGER { 1, 0 }, drops everything and resets the connections;
    /// otherwise what was sent is delivered in the background, for up to the linger time
    /// (see `linger.rs`). Never blocks on the network.
    pub(crate) fn close(self: &Arc<Self>) {
        // SAFETY: `sk` is valid.
        let linger = unsafe { sys::sp_sk_linger_ms(self.sk) };
        let linger = u32::try_from(linger).unwrap_or(LINGER_DEFAULT_MS);
        if linger == 0 || crate::linger::adopt(self).is_err() {
            self.finish(linger == 0);
            return;
        }
        let (endpoints, idle) = {
            let mut inner = self.inner.lock();
            inner.closing = true;
            self.closed.store(true, Ordering::SeqCst);
            for p in inner.pipes.iter() {
                // Nobody will make room: a stopped pipe reads on, discarding.
                p.resume();
            }
            // A request no pipe has taken yet keeps the endpoints making pipes for it.
            let has_endpoints = !inner.endpoints.is_empty();
            let waiting = reqrep::forget(&mut inner, has_endpoints);
            let endpoints = if waiting {
                KVec::new()
            } else {
                self.drain.store(true, Ordering::Release);
                core::mem::take(&mut inner.endpoints)
            };
            (endpoints, !waiting && inner.pipes.is_empty())
        };
        self.resend_timer.shutdown();
        for ep in endpoints.iter() {
            ep.close();
        }
        if idle {
            self.finish(false);
            return;
        }
        self.linger_timer.arm_ms(linger);
        let inner = self.inner.lock();
        if self.draining() {
            self.start_drain(&inner);
        }
    }

    /// Ends a closed socket: stops its endpoints and pipes, handing TCP what it takes now
    /// unless `abort`, which resets the connections. Process context; runs once.
    pub(crate) fn finish(self: &Arc<Self>, abort: bool) {
        if self.finished.swap(true, Ordering::AcqRel) {
            return;
        }
        let (endpoints, pipes) = {
            let mut inner = self.inner.lock();
            inner.closing = true;
            self.closed.store(true, Ordering::SeqCst);
            self.drain.store(true, Ordering::Release);
            reqrep::forget(&mut inner, false);
            (
                core::mem::take(&mut inner.endpoints),
                core::mem::take(&mut inner.pipes),
            )
        };
        self.linger_timer.shutdown();
        self.resend_timer.shutdown();
        for ep in endpoints.iter() {
            ep.close();
        }
        for p in pipes.iter() {
            if abort {
                p.abort();
            } else {
                p.transmit();
            }
            p.close_sync();
        }
        crate::linger::release(self);
    }
}

impl WorkItem for Socket {
    type Pointer = Arc<Socket>;

    fn run(this: Arc<Socket>) {
        this.finish(false);
    }
}

/// A lingering socket's time is up (softirq).
///
/// # Safety
///
/// The timer core calls it with the `timer_list` of a [`Socket`]'s `linger_timer`.
unsafe extern "C" fn linger_timer_fn(t: *mut sys::timer_list) {
    // SAFETY: The timer is embedded in a live `Socket`, adopted by `linger` while the timer
    // can run: `finish` shuts it down before letting go.
    let sock = unsafe { &*kernel::container_of!(t.cast::<Timer>(), Socket, linger_timer) };
    sock.queue_finish();
}

#[pinned_drop]
impl PinnedDrop for Socket {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The reference taken in `new`.
        unsafe { sys::sp_sock_put(self.sk) };
    }
}
