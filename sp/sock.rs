// SPDX-License-Identifier: GPL-2.0

//! One SP socket: its state and the system calls every pattern shares.
//!
//! A [`Socket`] lives in an `Arc`; the `struct sp_sk` the socket core allocated points at it,
//! each pipe and endpoint holds a reference back. `release()` ([`Socket::close`]) either tears
//! down endpoints and pipes at once or, while messages are still to be delivered, hands the
//! socket to [`crate::linger`] until they are; [`Socket::finish`] breaks those cycles. The
//! socket type's pattern (`pattern/`) routes messages across the socket's pipes, through
//! [`Dispatch`]; this file holds what every pattern shares, and the small API patterns see:
//! [`Core`] (the pipes as [`Peer`]s, picking one, counting drops) under the socket's lock,
//! [`Msg`] for a received message, [`UserMsg`] for one being sent, and a few [`Socket`]
//! methods (`with`, `alloc_send`, `staging`, `arm_timer_by`).
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
use crate::proto::balance::{self, Candidate};
use crate::rx;
use crate::skb::{Skb, SkbQueue};
use crate::sync::{new_bh_lock, queue, BhLock, Timer};
use crate::{endpoint::Endpoint, sys};
use core::any::Any;
use core::mem::ManuallyDrop;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::lock::{mutex::MutexBackend, Guard};
use kernel::sync::{Arc, ArcBorrow, Mutex};
use kernel::workqueue::{impl_has_work, new_work, Work, WorkItem};

/// Turns a positive errno constant from the bindings into an [`Error`].
pub(crate) fn errno(e: u32) -> Error {
    Error::from_errno(-(e as i32))
}

/// `value` in a box, as a pattern's state.
pub(crate) fn boxed<P: Any + Send>(value: P) -> Result<KBox<dyn Any + Send>> {
    let raw: *mut P = KBox::into_raw(KBox::<P>::new(value, GFP_KERNEL)?);
    let raw: *mut (dyn Any + Send) = raw;
    // SAFETY: `raw` comes from `KBox::into_raw` just above, only unsized (the 6.12 `KBox`
    // does not coerce).
    Ok(unsafe { KBox::from_raw(raw) })
}

/// Frames queued on one pipe beyond which senders skip it (REQ) or drop (REP, PUB). Both
/// also drop once a pipe holds SO_SNDBUF bytes, so that one peer that does not read cannot
/// take the whole send buffer.
pub(crate) const PIPE_TXQ_MAX: usize = 1024;

/// Messages up to this size are sent through [`Socket::staging`] (PUB and REP), without an
/// skb of their own.
pub(crate) const SMALL_SEND: usize = 1024;

/// How long close() keeps delivering when SO_LINGER is off.
const LINGER_DEFAULT_MS: u32 = sys::SP_LINGER_DEFAULT * 1000;

/// What the socket core asks of a socket type's pattern. `pattern/mod.rs` implements it once
/// for every `Pattern`, whose state the core keeps in [`Inner`] and hands back to these calls.
/// Under-lock calls (softirq too) take [`Inner`]; the others run in the caller's system call.
pub(crate) trait Dispatch: Sync {
    /// The pattern's state for a new socket.
    fn new_state(&self, seed: u32) -> Result<KBox<dyn Any + Send>>;
    /// Bytes of [`Socket::staging`].
    fn staging(&self) -> usize;
    /// Whether what peers send is read at all.
    fn receives(&self) -> bool;
    /// Whether the pattern takes back what a pipe that goes had not handed to TCP, and hears
    /// when a pipe's queue drains ([`Dispatch::pipe_room`]).
    fn reliable(&self) -> bool;
    /// A pipe finished its handshake; returns a peer it queued a message on.
    fn pipe_ready(&self, inner: &mut Inner, peer: &Peer) -> Option<Peer>;
    /// A pipe is gone, with the frames it had not started to send (only if `reliable`);
    /// returns a peer it queued a message on.
    fn pipe_removed(&self, inner: &mut Inner, id: u32, unsent: SkbQueue) -> Option<Peer>;
    /// TCP took frames from `peer`'s queue (only if `reliable`).
    fn pipe_room(&self, inner: &mut Inner, peer: &Peer);
    /// Whether the pattern holds messages no pipe has taken yet.
    fn unsent(&self, inner: &Inner) -> bool;
    /// Messages arrived on a pipe (softirq): queue for the user those the pattern accepts,
    /// with [`Socket::receive_as`].
    fn receive(&self, sock: &Socket, done: &mut SkbQueue);
    /// The socket is closed: drops what the pattern holds, but, if `keep_unsent`, a message
    /// no pipe has taken yet; returns whether it kept one.
    fn close(&self, inner: &mut Inner, keep_unsent: bool) -> bool;
    /// POLLOUT, or `None` for the core's own (send buffer room).
    fn writable(&self, inner: &Inner) -> Option<bool>;
    /// POLLIN though nothing is queued: recv has something to report (a survey ended).
    fn readable(&self, inner: &Inner) -> bool;
    /// sendmsg().
    fn send(&self, sock: &Socket, msg: &UserMsg) -> Result<usize>;
    /// recvmsg(), with [`Socket::recvmsg_as`].
    fn recvmsg(&self, sock: &Socket, buf: &UserBuf) -> Result<usize>;
    /// The socket's timer fired (softirq).
    fn timer(&self, sock: &Socket);
    /// A SOL_SP option the core does not know, with its value; `None`: not this pattern's.
    fn setopt(&self, inner: &mut Inner, name: u32, val: &[u8]) -> Option<Result>;
    /// Reads such an option.
    fn getopt(&self, inner: &Inner, name: u32) -> Option<i32>;
}

/// One socket type: a row of the table in `pattern/mod.rs`.
pub(crate) struct Type {
    /// The `socket()` type argument (`SOCK_REQ`...).
    pub(crate) ty: u32,
    /// Our protocol id in the SP header, and the one our peers announce.
    pub(crate) proto: u16,
    pub(crate) peer: u16,
    pub(crate) ops: &'static dyn Dispatch,
}

/// User-settable options (SOL_SP) the core applies.
#[derive(Clone, Copy)]
pub(crate) struct Options {
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
            reconnect_ivl: sys::SP_RECONNECT_IVL_DEFAULT,
            reconnect_ivl_max: sys::SP_RECONNECT_IVL_MAX_DEFAULT,
            rcvmaxsize: Some(sys::SP_RCVMAXSIZE_DEFAULT),
            sndprio: sys::SP_SNDPRIO_DEFAULT as u8,
        }
    }
}

/// A pipe as a pattern sees it: what it may ask of one connection.
#[derive(Clone)]
pub(crate) struct Peer(Arc<Pipe>);

impl Peer {
    /// The pipe's id, unique in the socket: what a backtrace names it by.
    pub(crate) fn id(&self) -> u32 {
        self.0.id
    }

    /// Send priority, 1 (highest) .. 16.
    pub(crate) fn prio(&self) -> u8 {
        self.0.prio
    }

    /// The SP header exchange is done, the connection is up and the pattern was told.
    pub(crate) fn ready(&self) -> bool {
        self.0.announced()
    }

    /// Frames queued for transmit.
    pub(crate) fn queued(&self) -> usize {
        self.0.tx_len()
    }

    /// Ready, with fewer than [`PIPE_TXQ_MAX`] frames and `cap` bytes queued.
    pub(crate) fn has_room(&self, cap: usize) -> bool {
        self.ready() && self.0.tx_room(PIPE_TXQ_MAX, cap)
    }

    /// Queues a framed message; then [`Peer::kick`] or [`Peer::transmit`].
    pub(crate) fn push(&self, skb: Skb) {
        self.0.push(skb);
    }

    /// Queues a copy of `skb` if there is room (see [`Pipe::offer`]).
    pub(crate) fn offer(&self, skb: &Skb, cap: usize, more: bool) -> Option<bool> {
        self.0.offer(skb, cap, more)
    }

    /// Queues a copy of a small framed message if there is room (see [`Pipe::offer_frame`]).
    pub(crate) fn offer_frame(&self, frame: &[u8], cap: usize, more: bool) -> Option<bool> {
        self.0.offer_frame(frame, cap, more)
    }

    /// Has the workqueue transmit what is queued. Any context.
    pub(crate) fn kick(&self) {
        self.0.kick();
    }

    /// Transmits what is queued, in the caller's context. Process context.
    pub(crate) fn transmit(&self) {
        self.0.transmit();
    }

    /// Sends one framed message from the caller's system call. Process context.
    pub(crate) fn send_frame(&self, frame: &[u8]) -> Result {
        self.0.send_frame(frame)
    }

    /// Closes the connection (a peer that broke the protocol, or one too many). Any context.
    pub(crate) fn close(&self) {
        self.0.kill();
    }
}

/// The socket core's state under [`Socket::inner`] that patterns see.
pub(crate) struct Core {
    closing: bool,
    /// Our protocol id in the SP header and our peers' (a row's, or PAIR's version).
    proto: u16,
    peer_proto: u16,
    opts: Options,
    pipes: KVec<Peer>,
    endpoints: KVec<Endpoint>,
    next_pipe_id: u32,
    /// Round-robin cursor into `pipes` for [`Core::pick`].
    rr: usize,
    /// Messages dropped (SP_DROPS).
    drops: u64,
}

impl Core {
    /// The socket was closed (it may be lingering).
    pub(crate) fn closing(&self) -> bool {
        self.closing
    }

    /// Every pipe, in any state.
    pub(crate) fn peers(&self) -> &[Peer] {
        &self.pipes
    }

    /// The pipe with id `id`, if it is still there.
    pub(crate) fn peer(&self, id: u32) -> Option<&Peer> {
        self.pipes.iter().find(|p| p.id() == id)
    }

    /// The pipe a load-balanced message goes to: the best that `look` finds able to take it
    /// (`proto::balance`), visiting pipes round-robin from after the last one picked.
    pub(crate) fn pick(&mut self, look: impl Fn(&Peer) -> Option<Candidate>) -> Option<Peer> {
        let pipes = &self.pipes;
        let i = balance::pick(pipes.len(), self.rr, |i| pipes.get(i).and_then(&look))?;
        self.rr = i + 1;
        pipes.get(i).cloned()
    }

    /// Counts `n` messages dropped.
    pub(crate) fn dropped(&mut self, n: u64) {
        self.drops += n;
    }

    /// Changes the protocol ids of the SP header; only before the first bind or connect.
    pub(crate) fn set_protocol(&mut self, proto: u16, peer: u16) -> Result {
        if !self.endpoints.is_empty() || !self.pipes.is_empty() {
            return Err(errno(sys::EISCONN));
        }
        self.proto = proto;
        self.peer_proto = peer;
        Ok(())
    }
}

/// The state under [`Socket::inner`]: the core's and the pattern's.
pub(crate) struct Inner {
    pub(crate) core: Core,
    pattern: KBox<dyn Any + Send>,
}

impl Inner {
    /// The core's state and the pattern's, which is a `P`.
    pub(crate) fn split<P: Any>(&mut self) -> Option<(&mut Core, &mut P)> {
        Some((&mut self.core, self.pattern.downcast_mut::<P>()?))
    }

    /// As [`Inner::split`], shared.
    pub(crate) fn parts<P: Any>(&self) -> Option<(&Core, &P)> {
        Some((&self.core, self.pattern.downcast_ref::<P>()?))
    }
}

/// A message queued for the user, as a pattern sees it.
pub(crate) struct Msg<'a> {
    skb: &'a Skb,
    off: usize,
    len: usize,
    pipe: u32,
}

impl<'a> Msg<'a> {
    /// The message `rec` of a received skb.
    pub(crate) fn of(skb: &'a Skb, rec: &rx::Record) -> Self {
        Self {
            skb,
            off: rec.off,
            len: rec.len,
            pipe: rec.pipe,
        }
    }

    /// Its length, header (backtrace...) included.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The pipe it came from.
    pub(crate) fn pipe(&self) -> u32 {
        self.pipe
    }

    /// Copies `out.len()` bytes from offset `at` of the message; false if it is shorter.
    pub(crate) fn copy(&self, at: usize, out: &mut [u8]) -> bool {
        at.checked_add(out.len()).is_some_and(|end| end <= self.len)
            && self.skb.copy_bits(self.off + at, out)
    }

    /// Its first bytes, as many as fit in `buf`.
    pub(crate) fn head<'b>(&self, buf: &'b mut [u8]) -> Option<&'b [u8]> {
        let n = self.len.min(buf.len());
        self.copy(0, &mut buf[..n]).then_some(&buf[..n])
    }
}

/// The buffer and flags of a recvmsg() call.
pub(crate) struct UserBuf {
    /// INVARIANT: the `msghdr` the socket core passed to this recvmsg() call.
    msg: *mut sys::msghdr,
    size: usize,
    flags: i32,
}

/// The message of a sendmsg() call.
pub(crate) struct UserMsg {
    /// INVARIANT: the `msghdr` the socket core passed to this sendmsg() call.
    msg: *mut sys::msghdr,
    len: usize,
}

impl UserMsg {
    /// The payload's length.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Sent with MSG_MORE, or by sendmmsg() but for the last: more messages follow at once.
    pub(crate) fn more(&self) -> bool {
        // SAFETY: `msg` is valid for the call (type invariant).
        unsafe { (*self.msg).msg_flags & (sys::MSG_MORE | sys::MSG_BATCH) != 0 }
    }

    /// Copies the payload into `dst`, which is as long as the payload.
    pub(crate) fn copy_to(&self, dst: &mut [u8]) -> Result {
        if dst.len() != self.len {
            return Err(EINVAL);
        }
        // SAFETY: `dst` is valid for its length; `msg` is valid for the call.
        let err = unsafe { sys::sp_copy_from_msg(dst.as_mut_ptr().cast(), self.msg, dst.len()) };
        if err < 0 {
            return Err(Error::from_errno(err));
        }
        Ok(())
    }
}

/// One SP socket.
#[pin_data(PinnedDrop)]
pub(crate) struct Socket {
    /// INVARIANT: a valid `struct sock` we hold a reference to (`sock_hold`).
    sk: *mut sys::sock,
    /// The socket type, and its pattern.
    ty: &'static Type,
    #[pin]
    pub(crate) inner: BhLock<Inner>,
    /// The pattern's timer (REQ: resend; SURVEYOR: deadline).
    #[pin]
    timer: Timer,
    /// Closed, and nothing is left to hand to pipes: they flush, shut down and go; no new
    /// pipes. Set under `inner`.
    drain: AtomicBool,
    /// Closed: nobody reads; pipes read on and discard. Set with `inner.closing`.
    closed: AtomicBool,
    /// Some pipe stopped reading because the receive buffer was full.
    pub(crate) rx_paused: AtomicBool,
    /// Counts [`Socket::wake`]s, so that a reader about to sleep sees one it missed.
    wakes: AtomicU32,
    /// Serialises readers: each takes the next message from the head of the receive queue.
    #[pin]
    reader: Mutex<()>,
    /// Where a pattern frames a small message before it goes to pipes (PUB, REP), as long as
    /// the pattern asked.
    #[pin]
    staging: Mutex<KVec<u8>>,
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
    /// The state of a new socket of type `ty` around `sk`.
    pub(crate) fn new(sk: *mut sys::sock, ty: &'static Type) -> Result<Arc<Self>> {
        // SAFETY: Plain random number.
        let seed = unsafe { sys::get_random_u32() };
        let pattern = ty.ops.new_state(seed.rotate_left(16))?;
        let staging = KVec::from_elem(0, ty.ops.staging(), GFP_KERNEL)?;
        let sock = Arc::pin_init(
            pin_init!(Self {
                sk,
                ty,
                inner <- new_bh_lock!(Inner {
                    core: Core {
                        closing: false,
                        proto: ty.proto,
                        peer_proto: ty.peer,
                        opts: Options::default(),
                        pipes: KVec::new(),
                        endpoints: KVec::new(),
                        next_pipe_id: seed & crate::proto::reqrep::ID_MASK,
                        rr: 0,
                        drops: 0,
                    },
                    pattern,
                }, "sp_socket"),
                timer <- Timer::new(pattern_timer_fn),
                drain: AtomicBool::new(false),
                closed: AtomicBool::new(false),
                rx_paused: AtomicBool::new(false),
                wakes: AtomicU32::new(0),
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

    /// Our protocol id in the SP header.
    pub(crate) fn proto(&self) -> u16 {
        self.inner.lock().core.proto
    }

    /// Whether `id`, a peer's protocol, is our partner.
    pub(crate) fn partner(&self, id: u16) -> bool {
        id == self.inner.lock().core.peer_proto
    }

    /// Whether the pattern takes back what a dying pipe had not sent (see [`Dispatch`]).
    pub(crate) fn reliable(&self) -> bool {
        self.ty.ops.reliable()
    }

    /// Wakes all readers and pollers: the pattern changed its state (under `inner`) and
    /// has something to report. Any context.
    pub(crate) fn wake(&self) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        // SAFETY: `sk` is valid.
        unsafe { sys::sp_sk_wake_all(self.sk) };
    }

    /// Whether what peers send is read at all (PUB ignores it).
    pub(crate) fn receives(&self) -> bool {
        self.ty.ops.receives()
    }

    /// Runs `f` with the core's and the pattern's state, a `P`, under the socket's lock.
    pub(crate) fn with<P: Any, R>(
        &self,
        f: impl FnOnce(&mut Core, &mut P) -> Result<R>,
    ) -> Result<R> {
        let mut inner = self.inner.lock();
        let (core, p) = inner.split::<P>().ok_or(EINVAL)?;
        f(core, p)
    }

    /// A fresh 31-bit pipe id.
    pub(crate) fn next_pipe_id(&self) -> u32 {
        let mut inner = self.inner.lock();
        let c = &mut inner.core;
        c.next_pipe_id = c.next_pipe_id.wrapping_add(1) & crate::proto::reqrep::ID_MASK;
        c.next_pipe_id
    }

    /// Options as they are now.
    pub(crate) fn opts(&self) -> Options {
        self.inner.lock().core.opts
    }

    /// Changes the options under the socket's lock.
    pub(crate) fn set_opts(&self, f: impl FnOnce(&mut Options) -> Result) -> Result {
        f(&mut self.inner.lock().core.opts)
    }

    /// Messages dropped (SP_DROPS).
    pub(crate) fn drops(&self) -> u64 {
        self.inner.lock().core.drops
    }

    /// A pattern's SOL_SP option: `None` if it has no such option.
    pub(crate) fn pattern_setopt(&self, name: u32, val: &[u8]) -> Option<Result> {
        self.ty.ops.setopt(&mut self.inner.lock(), name, val)
    }

    /// Reads a pattern's SOL_SP option.
    pub(crate) fn pattern_getopt(&self, name: u32) -> Option<i32> {
        self.ty.ops.getopt(&self.inner.lock(), name)
    }

    /// The staging buffer (see [`Socket::staging`]'s field).
    pub(crate) fn staging(&self) -> Guard<'_, KVec<u8>, MutexBackend> {
        self.staging.lock()
    }

    /// Arms the pattern's timer for `expires` (jiffies), unless it is due earlier.
    pub(crate) fn arm_timer_by(&self, expires: usize) {
        self.timer.arm_by(expires);
    }

    /// Whether nothing is queued for the user.
    pub(crate) fn nothing_received(&self) -> bool {
        // SAFETY: `sk` is valid.
        unsafe { sys::sp_sk_receive_queue_empty(self.sk) }
    }

    /// SO_SNDBUF, which also caps each pipe's queue.
    pub(crate) fn sndbuf(&self) -> usize {
        // SAFETY: `sk` is valid.
        unsafe { sys::sp_sk_sndbuf(self.sk) }.max(0) as usize
    }

    /// Connections whose SP header exchange has completed (SP_PEERS).
    pub(crate) fn peers(&self) -> usize {
        let inner = self.inner.lock();
        inner.core.pipes.iter().filter(|p| p.ready()).count()
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
        inner.core.pipes.push(Peer(pipe), GFP_ATOMIC)?;
        Ok(())
    }

    /// Registers a new endpoint; fails once the socket is closing.
    pub(crate) fn add_endpoint(&self, ep: Endpoint) -> Result<(), Endpoint> {
        let mut inner = self.inner.lock();
        if inner.core.closing {
            return Err(ep);
        }
        match inner.core.endpoints.push(ep.clone(), GFP_ATOMIC) {
            Ok(()) => Ok(()),
            Err(_) => Err(ep),
        }
    }

    /// The address of the most recent listening endpoint, for getsockname().
    pub(crate) fn local_addr(&self) -> Option<crate::addr::Addr> {
        let inner = self.inner.lock();
        inner.core.endpoints.iter().rev().find_map(|e| match e {
            Endpoint::Listener(l) => Some(l.local),
            Endpoint::Dialer(_) => None,
        })
    }

    /// Pipe `id` finished its handshake (softirq or process context).
    pub(crate) fn pipe_ready(&self, id: u32) {
        let mut inner = self.inner.lock();
        let Some(peer) = inner.core.peer(id).cloned() else {
            return;
        };
        peer.0.announce();
        let p = self.ty.ops.pipe_ready(&mut inner, &peer);
        if let Some(p) = p {
            p.kick();
        }
        self.drain_if_sent(&mut inner);
    }

    /// TCP took frames from pipe `id`'s queue: a reliable pattern hands it more.
    pub(crate) fn pipe_room(&self, id: u32) {
        let mut inner = self.inner.lock();
        let Some(peer) = inner.core.peer(id).cloned() else {
            return;
        };
        self.ty.ops.pipe_room(&mut inner, &peer);
        self.drain_if_sent(&mut inner);
    }

    /// A lingering socket whose last unsent message a pipe took: nothing is left to hand to
    /// pipes, they flush and go.
    fn drain_if_sent(&self, inner: &mut Inner) {
        if inner.core.closing && !self.draining() && !self.ty.ops.unsent(inner) {
            self.ty.ops.close(inner, false);
            self.start_drain(inner);
        }
    }

    /// Nothing more goes to pipes: each flushes its queue and shuts down (a pipe still
    /// in its handshake just goes), the socket goes with the last. Under `inner`.
    fn start_drain(&self, inner: &Inner) {
        self.drain.store(true, Ordering::Release);
        for Peer(p) in inner.core.pipes.iter() {
            if p.state() == PipeState::Handshake {
                p.kill();
            } else {
                p.kick();
            }
        }
        if inner.core.pipes.is_empty() {
            self.queue_finish();
        }
    }

    /// Has the workqueue run [`Socket::finish`]. Any context.
    fn queue_finish(&self) {
        // SAFETY: Sockets live in an `Arc`, kept alive by the caller.
        let arc: Arc<Socket> = unsafe { ArcBorrow::from_raw(self) }.into();
        let _ = queue().enqueue(arc);
    }

    /// A pipe is gone (it is dead: nothing is queued on it any more): forget it and let the
    /// pattern react, handing a reliable one what the pipe had not sent. Process context.
    pub(crate) fn pipe_removed(&self, pipe: &Pipe) {
        let unsent = if self.reliable() {
            // Senders queue under `inner` on ready pipes only: once it is released, nothing
            // more comes to this one.
            drop(self.inner.lock());
            pipe.take_unsent()
        } else {
            SkbQueue::new()
        };
        let removed;
        {
            let mut inner = self.inner.lock();
            let pipes = &mut inner.core.pipes;
            let pos = pipes.iter().position(|p| p.id() == pipe.id);
            removed = pos.and_then(|i| crate::sync::swap_remove(pipes, i));
            if !self.draining() {
                if let Some(p) = self.ty.ops.pipe_removed(&mut inner, pipe.id, unsent) {
                    p.kick();
                }
                self.drain_if_sent(&mut inner);
            } else if removed.is_some() && inner.core.pipes.is_empty() {
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
        self.ty.ops.receive(self, done);
    }

    /// [`Socket::receive`] for a pattern `P` whose `accept` says whether the user gets a
    /// message. Inlined into each pattern's [`Dispatch::receive`], so that the test per
    /// message is a direct call, and the pattern's state is looked up once per batch.
    #[inline(always)]
    pub(crate) fn receive_as<P: Any>(
        &self,
        done: &mut SkbQueue,
        mut accept: impl FnMut(&mut P, &mut Core, &Msg<'_>) -> bool,
    ) {
        let mut refused = SkbQueue::new();
        let mut queued = false;
        {
            let mut inner = self.inner.lock();
            let mut parts = inner.split::<P>();
            while let Some(mut skb) = done.pop() {
                let keep = match &mut parts {
                    Some((core, p)) => {
                        !core.closing
                            && rx::filter(&mut skb, |skb, rec| accept(p, core, &Msg::of(skb, rec)))
                    }
                    None => false,
                };
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
        for Peer(p) in self.inner.lock().core.pipes.iter() {
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
        // INVARIANT: The core's msghdr for this call.
        self.ty.ops.send(self, &UserMsg { msg, len })
    }

    /// A message skb for sendmsg() with `hdr` bytes of framing room in front of the payload,
    /// charged to the send buffer (blocks per SO_SNDTIMEO unless non-blocking).
    pub(crate) fn alloc_send(&self, hdr: usize, msg: &UserMsg) -> Result<Skb> {
        let mut err = 0;
        // SAFETY: `sk` and `msg.msg` are valid; the helper returns an owned skb or NULL with
        // `err`.
        let skb =
            unsafe { sys::sp_skb_alloc_send(self.sk, hdr as u32, msg.msg, msg.len, &mut err) };
        // SAFETY: As above.
        unsafe { Skb::from_raw(skb) }.ok_or_else(|| Error::from_errno(err))
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
        // INVARIANT: The core's msghdr for this call.
        self.ty.ops.recvmsg(self, &UserBuf { msg, size, flags })
    }

    /// [`Socket::recvmsg`] for a pattern whose `may_recv` says whether recv may wait for a
    /// message (or the error it fails with), and whose `received` takes a message (or looks
    /// at it, if `peek`): the offset of the user's payload in it, or `None` to drop it.
    /// Inlined into each pattern's [`Dispatch::recvmsg`], so that these are direct calls.
    #[inline(always)]
    pub(crate) fn recvmsg_as(
        &self,
        buf: &UserBuf,
        may_recv: impl Fn(&Socket) -> Result,
        received: impl Fn(&Socket, &Msg<'_>, bool) -> Option<usize>,
    ) -> Result<usize> {
        let &UserBuf { msg, size, flags } = buf;
        let uflags = flags as u32;
        if uflags & sys::MSG_OOB != 0 {
            return Err(errno(sys::EOPNOTSUPP));
        }
        let peek = uflags & sys::MSG_PEEK != 0;
        // SAFETY: `sk` is valid.
        let mut timeo = unsafe { sys::sp_sk_rcvtimeo(self.sk, uflags & sys::MSG_DONTWAIT != 0) };
        loop {
            // Read before the pattern's state: a wake-up after this ends the wait below.
            let seen = self.wakes.load(Ordering::SeqCst);
            may_recv(self)?;
            let reader = self.reader.lock();
            // SAFETY: `sk` is valid. The head skb (or NULL) stays queued, and so valid, while
            // we hold `reader`; the queue keeps its reference.
            let head = unsafe { Skb::from_raw(sys::sp_rx_peek(self.sk)) }.map(ManuallyDrop::new);
            let Some(skb) = head else {
                drop(reader);
                // Waits (per SO_RCVTIMEO, MSG_DONTWAIT and signals, over the whole call)
                // until something is queued or the pattern woke us since `seen`
                // ([`Socket::wake`]), taking nothing: messages are taken one by one under
                // `reader`.
                // SAFETY: `sk` is valid, `wakes` lives as long as `self`.
                let err =
                    unsafe { sys::sp_rx_wait(self.sk, &mut timeo, self.wakes.as_ptr(), seen) };
                if err < 0 {
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
            let body = received(self, &Msg::of(&skb, &rec), peek);
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
        let inner = self.inner.lock();
        match self.ty.ops.writable(&inner) {
            Some(true) => mask |= out,
            Some(false) => mask &= !out,
            None => {}
        }
        if self.ty.ops.readable(&inner) {
            mask |= sys::POLLIN | sys::POLLRDNORM;
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
            inner.core.closing = true;
            self.closed.store(true, Ordering::SeqCst);
            for Peer(p) in inner.core.pipes.iter() {
                // Nobody will make room: a stopped pipe reads on, discarding.
                p.resume();
            }
            // A request no pipe has taken yet keeps the endpoints making pipes for it.
            let has_endpoints = !inner.core.endpoints.is_empty();
            let waiting = self.ty.ops.close(&mut inner, has_endpoints);
            let endpoints = if waiting {
                KVec::new()
            } else {
                self.drain.store(true, Ordering::Release);
                core::mem::take(&mut inner.core.endpoints)
            };
            (endpoints, !waiting && inner.core.pipes.is_empty())
        };
        self.timer.shutdown();
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
            inner.core.closing = true;
            self.closed.store(true, Ordering::SeqCst);
            self.drain.store(true, Ordering::Release);
            self.ty.ops.close(&mut inner, false);
            (
                core::mem::take(&mut inner.core.endpoints),
                core::mem::take(&mut inner.core.pipes),
            )
        };
        self.linger_timer.shutdown();
        self.timer.shutdown();
        for ep in endpoints.iter() {
            ep.close();
        }
        for Peer(p) in pipes.iter() {
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

/// The pattern's timer (softirq).
///
/// # Safety
///
/// The timer core calls it with the `timer_list` of a [`Socket`]'s `timer`.
unsafe extern "C" fn pattern_timer_fn(t: *mut sys::timer_list) {
    // SAFETY: The timer is embedded in a live `Socket`: `close` and `finish` shut it down
    // before the socket can go away.
    let sock = unsafe { &*kernel::container_of!(t.cast::<Timer>(), Socket, timer) };
    sock.ty.ops.timer(sock);
}

#[pinned_drop]
impl PinnedDrop for Socket {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The reference taken in `new`.
        unsafe { sys::sp_sock_put(self.sk) };
    }
}
