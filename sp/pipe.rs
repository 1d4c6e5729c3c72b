// SPDX-License-Identifier: GPL-2.0

//! One TCP connection under an SP socket: handshake, framing, transmit, teardown.
//!
//! Receive runs in the TCP socket's `sk_data_ready` callback (its receive softirq, or where
//! its lock is held): [`crate::rx`] reads TCP's queue with `tcp_read_sock()`, frames it and
//! hands complete messages to the SP socket in batches. A pipe paused because the socket's
//! receive buffer is full reads again from `rx_work` once recv made room.
//!
//! Transmit runs in `tx_work` on the module's workqueue: it writes queued frames with
//! `skb_send_sock_locked()` (non-blocking) and, when TCP's buffer is full, waits for
//! `sk_write_space` to queue it again.
//!
//! Teardown ([`Pipe::close_sync`], process context) restores the TCP callbacks, stops the
//! handshake timer, releases the TCP socket and removes the pipe from its SP socket. Any
//! context may ask for it with [`Pipe::kill`].

use crate::endpoint::Dialer;
use crate::proto::header;
use crate::rx::Rx;
use crate::skb::{len_of, Skb, SkbQueue};
use crate::sock::{Socket, PIPE_TXQ_MAX};
use crate::sync::{new_bh_lock, queue, BhLock, Timer};
use crate::sys;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow, Mutex};
use kernel::workqueue::{impl_has_work, new_work, Work, WorkItem};

/// How long a peer has to send its SP header (nng allows 10 s, nanomsg 1 s).
const HANDSHAKE_TIMEOUT_MS: u32 = 10_000;

/// Frames and bytes handed to TCP in one call: enough to fill several segments with small
/// messages, little enough for the stack.
const TX_IOV: usize = 32;
const TX_BYTES: usize = 64 * 1024;

/// Small messages are packed into buffers of this size (a page's worth; see
/// [`Skb::alloc_batch`]).
const TX_BUF: usize = 4096;

/// Where a pipe is in its life.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum PipeState {
    /// Waiting for the peer's SP header.
    Handshake = 0,
    /// Carrying messages.
    Ready = 1,
    /// Being torn down.
    Dead = 2,
}

/// What the transmit side owns, under the pipe's mutex (process context only).
struct Conn {
    /// The TCP socket; null once closed.
    tcp: *mut sys::socket,
    /// Bytes of the head frame already written.
    off: usize,
}

/// Frames waiting to go out.
struct Queues {
    tx: SkbQueue,
}

/// One TCP connection.
#[pin_data]
pub(crate) struct Pipe {
    /// 31-bit id, unique in the socket; REP replies are routed by it.
    pub(crate) id: u32,
    /// Send priority of the endpoint that made it: 1 (highest) .. 16.
    pub(crate) prio: u8,
    sock: Arc<Socket>,
    dialer: Option<Arc<Dialer>>,
    /// The TCP `struct sock`; valid while `conn.tcp` is not null.
    tcp_sk: *mut sys::sock,
    state: AtomicU8,
    /// The peer's header was good at some point (resets the dialer's backoff).
    handshaken: AtomicBool,
    /// Teardown has started.
    closed: AtomicBool,
    /// [`Pipe::start`] is done with it: a kill queues the teardown, and reads begin. Until
    /// then a kill only marks the pipe dead and `start` queues the teardown once the pipe is
    /// in its socket, so that teardown neither misses it there nor releases TCP under
    /// `start`'s feet; and what arrives waits in TCP, so that the peer's header is taken
    /// only once the socket knows the pipe it makes ready.
    published: AtomicBool,
    /// The pattern was told the pipe is ready (under the socket's `inner`): from then on it
    /// may carry messages.
    announced: AtomicBool,
    /// Our sending side is shut down (a lingering socket's pipe, flushed).
    fin: AtomicBool,
    /// Stopped reading: the socket's receive buffer is full.
    rx_paused: AtomicBool,
    /// Transmit is queued to run, or waits for TCP's `sk_write_space`: [`Pipe::kick`] need
    /// not queue it.
    tx_due: AtomicBool,
    #[pin]
    conn: Mutex<Conn>,
    #[pin]
    q: BhLock<Queues>,
    /// The receive side; see [`Rx`] for who may touch it.
    rx: UnsafeCell<Rx>,
    /// The TCP socket's own callbacks, saved at attach, restored at close.
    saved: UnsafeCell<sys::sp_saved_cbs>,
    #[pin]
    hdr_timer: Timer,
    #[pin]
    tx_work: Work<Pipe, 0>,
    #[pin]
    close_work: Work<Pipe, 1>,
    #[pin]
    rx_work: Work<Pipe, 2>,
}

// SAFETY: Shared state is atomics or behind locks; `saved` is written once before the
// callbacks that read it can run; `rx` is used only under the TCP socket's lock (see `Rx`);
// raw pointers are owned TCP objects used under `conn`.
unsafe impl Send for Pipe {}
// SAFETY: As above.
unsafe impl Sync for Pipe {}

impl_has_work! {
    impl HasWork<Self, 0> for Pipe { self.tx_work }
    impl HasWork<Self, 1> for Pipe { self.close_work }
    impl HasWork<Self, 2> for Pipe { self.rx_work }
}

impl Pipe {
    /// Runs a new connection `tcp` (owned; released on failure) under `sock`, with the
    /// send priority `prio` of its endpoint.
    pub(crate) fn start(
        sock: &Arc<Socket>,
        tcp: *mut sys::socket,
        dialer: Option<Arc<Dialer>>,
        prio: u8,
    ) -> Result {
        // SAFETY: `tcp` is a valid, connected kernel TCP socket we own.
        let tcp_sk = unsafe { (*tcp).sk };
        // Once released, TCP finishes the connection on its own (retransmits, FIN) only if
        // the socket holds its namespace.
        // SAFETY: As above; process context, socket not locked.
        let r = unsafe { sys::sp_tcp_hold_net(tcp_sk) };
        if r < 0 {
            // SAFETY: We own `tcp`.
            unsafe { sys::sock_release(tcp) };
            return Err(Error::from_errno(r));
        }
        let opts = sock.opts();
        let pipe = Arc::pin_init(
            pin_init!(Self {
                id: sock.next_pipe_id(),
                prio,
                sock: sock.clone(),
                dialer,
                tcp_sk,
                state: AtomicU8::new(PipeState::Handshake as u8),
                handshaken: AtomicBool::new(false),
                closed: AtomicBool::new(false),
                published: AtomicBool::new(false),
                announced: AtomicBool::new(false),
                fin: AtomicBool::new(false),
                rx_paused: AtomicBool::new(false),
                tx_due: AtomicBool::new(false),
                conn <- new_mutex!(Conn { tcp, off: 0 }, "sp_pipe_conn"),
                q <- new_bh_lock!(Queues { tx: SkbQueue::new() }, "sp_pipe_q"),
                rx: UnsafeCell::new(Rx::new(opts.rcvmaxsize.map(u64::from))),
                saved: UnsafeCell::new(Default::default()),
                hdr_timer <- Timer::new(hdr_timer_fn),
                tx_work <- new_work!("sp_pipe_tx"),
                close_work <- new_work!("sp_pipe_close"),
                rx_work <- new_work!("sp_pipe_rx"),
            }),
            GFP_KERNEL,
        );
        let pipe = match pipe {
            Ok(p) => p,
            Err(e) => {
                // SAFETY: We own `tcp`.
                unsafe { sys::sock_release(tcp) };
                return Err(e);
            }
        };
        // Our header goes first, before anything a pattern might send once the peer's comes.
        if !pipe.send_header() {
            pipe.kill();
        }
        // SAFETY: `tcp_sk` is valid; the pipe is pinned in its `Arc` and outlives the
        // callbacks, which `close_sync` detaches before the socket's reference goes.
        unsafe {
            sys::tcp_sock_set_nodelay(tcp_sk);
            // A send buffer the user sized bounds TCP's too, so that what a slow peer can
            // hold stays within what the user asked for rather than TCP's autotuned megabytes.
            let user_sndbuf = sys::sp_sk_user_sndbuf(sock.sk());
            if user_sndbuf > 0 {
                sys::sp_sk_lock_sndbuf(tcp_sk, user_sndbuf);
            }
            sys::sp_cb_attach(
                tcp_sk,
                &*pipe as *const Pipe as *mut _,
                pipe.saved.get(),
                Some(tcp_data_ready),
                Some(tcp_write_space),
                Some(tcp_state_change),
            );
        }

        // Visible to the socket only now, with the callbacks set up, so that any
        // teardown finds them.
        if let Err(e) = sock.add_pipe(pipe.clone()) {
            pipe.close_sync();
            return Err(e);
        }
        pipe.hdr_timer.arm_ms(HANDSHAKE_TIMEOUT_MS);

        // From here kills queue the teardown; one that came before (the peer closed while
        // we set up, say) is ours to queue. SeqCst, paired with `kill`: at least one of
        // the two sees the other, and a second enqueue of the same work is harmless.
        pipe.published.store(true, Ordering::SeqCst);
        if pipe.state.load(Ordering::SeqCst) == PipeState::Dead as u8 {
            pipe.queue_close();
        } else {
            // What arrived before the callbacks were ours or while reads waited for this.
            pipe.read_locked();
        }
        Ok(())
    }

    /// Sends our SP header; false if the connection is gone. A fresh TCP socket always has
    /// room for 8 bytes. Under `conn`: a socket that ends at the same time may already tear
    /// its new pipe down.
    ///
    /// The state is not looked at: over loopback the peer may have taken the header, sent
    /// all it had and closed its side before this returns, and that is read first (`read`
    /// ends the pipe once it has all of it).
    fn send_header(&self) -> bool {
        let conn = self.conn.lock();
        if conn.tcp.is_null() {
            return false;
        }
        let hdr = header::encode(self.sock.proto());
        let mut iov = sys::kvec {
            iov_base: hdr.as_ptr() as *mut _,
            iov_len: hdr.len(),
        };
        let mut msg = dontwait();
        // SAFETY: `conn.tcp` is valid while set, which we hold; `iov` and `msg` live across
        // the call.
        let sent = unsafe { sys::kernel_sendmsg(conn.tcp, &mut msg, &mut iov, 1, hdr.len()) };
        sent == hdr.len() as i32
    }

    /// Where the pipe is in its life.
    pub(crate) fn state(&self) -> PipeState {
        match self.state.load(Ordering::Acquire) {
            0 => PipeState::Handshake,
            1 => PipeState::Ready,
            _ => PipeState::Dead,
        }
    }

    /// Frames queued for transmit.
    pub(crate) fn tx_len(&self) -> usize {
        self.q.lock().tx.len()
    }

    /// Whether fewer than `frames` frames and `bytes` bytes are queued.
    pub(crate) fn tx_room(&self, frames: usize, bytes: usize) -> bool {
        let q = self.q.lock();
        q.tx.len() < frames && q.tx.bytes() < bytes
    }

    /// Queues a copy of `skb` unless the queue holds `PIPE_TXQ_MAX` frames or `cap` bytes
    /// (then returns `None`: dropped). Returns whether the queue should go to TCP now: with
    /// `more` (the sender has more messages coming) a queue of less than a transmit batch and
    /// less than half of `cap` waits for them. Any context.
    pub(crate) fn offer(&self, skb: &Skb, cap: usize, more: bool) -> Option<bool> {
        self.offer_with(cap, more, |tx| {
            tx.push(skb.clone_atomic()?);
            Some(())
        })
    }

    /// As [`Pipe::offer`], for a small framed message: copied onto the end of the last queued
    /// buffer if that has room, else into a new one.
    pub(crate) fn offer_frame(&self, frame: &[u8], cap: usize, more: bool) -> Option<bool> {
        self.offer_with(cap, more, |tx| {
            if !tx.append(frame) {
                tx.push_open(Skb::copy_of(frame, TX_BUF)?);
            }
            Some(())
        })
    }

    fn offer_with(
        &self,
        cap: usize,
        more: bool,
        add: impl FnOnce(&mut SkbQueue) -> Option<()>,
    ) -> Option<bool> {
        let mut q = self.q.lock();
        if q.tx.len() >= PIPE_TXQ_MAX || q.tx.bytes() >= cap {
            return None;
        }
        add(&mut q.tx)?;
        Some(!more || q.tx.len() >= TX_IOV || q.tx.bytes() >= TX_BYTES.min(cap / 2))
    }

    /// Queues a framed message; the caller then runs [`Pipe::transmit`] (process context) or
    /// [`Pipe::kick`] (any context).
    pub(crate) fn push(&self, skb: Skb) {
        self.q.lock().tx.push(skb);
    }

    /// Sends one framed message from the caller's own system call: straight to TCP if
    /// nothing is queued before it (no skb at all when TCP takes it whole), else after what
    /// is. What TCP does not take is queued for the worker. Process context.
    pub(crate) fn send_frame(&self, frame: &[u8]) -> Result {
        let conn = self.conn.lock();
        if conn.tcp.is_null() {
            // Closed: lost with the connection, as anything queued would be.
            return Ok(());
        }
        if !self.q.lock().tx.is_empty() {
            drop(conn);
            self.push(Skb::copy_of(frame, 0).ok_or(ENOMEM)?);
            self.transmit();
            return Ok(());
        }
        let mut iov = sys::kvec {
            iov_base: frame.as_ptr() as *mut _,
            iov_len: frame.len(),
        };
        let mut msg = dontwait();
        // SAFETY: `tcp_sk` is valid while `conn.tcp` is set, which we hold; `iov` and `msg`
        // live across the call.
        let sent = unsafe {
            sys::sp_lock_sock(self.tcp_sk);
            let sent = sys::kernel_sendmsg_locked(self.tcp_sk, &mut msg, &mut iov, 1, frame.len());
            sys::release_sock(self.tcp_sk);
            sent
        };
        if sent < 0 && sent != -(sys::EAGAIN as i32) {
            drop(conn);
            self.kill();
            return Ok(());
        }
        let rest = frame.get(sent.max(0) as usize..).unwrap_or_default();
        if !rest.is_empty() {
            // TCP is full. The rest goes first: with `conn` held nothing else was sent, so
            // frames queued meanwhile are still whole. `sk_write_space` brings the worker.
            let Some(skb) = Skb::copy_of(rest, 0) else {
                // Part of a frame is out: the stream cannot go on.
                drop(conn);
                self.kill();
                return Err(ENOMEM);
            };
            self.q.lock().tx.push_front(skb);
            self.tx_due.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// Has the workqueue transmit what is queued, unless it is due to already. Any context;
    /// call after queueing.
    ///
    /// The worker clears `tx_due` before it looks at the queue, so that what was queued
    /// before the clear goes out with that run and what comes after queues a new one. A
    /// transmit that stops on a full TCP socket sets it again: `sk_write_space` queues the
    /// next run, and senders meanwhile cost no wake-up each.
    pub(crate) fn kick(self: &Arc<Self>) {
        if self.tx_due.load(Ordering::Acquire) || self.tx_due.swap(true, Ordering::AcqRel) {
            return;
        }
        let _ = queue().enqueue::<Arc<Pipe>, 0>(self.clone());
    }

    /// The SP socket.
    pub(crate) fn sock(&self) -> &Socket {
        &self.sock
    }

    /// Marks the pipe stopped (or going again) for a full receive buffer.
    pub(crate) fn set_rx_paused(&self, paused: bool) {
        self.rx_paused.store(paused, Ordering::SeqCst);
    }

    /// Has the workqueue read again if the pipe stopped for a full receive buffer. Any
    /// context.
    pub(crate) fn resume(self: &Arc<Self>) {
        if self.rx_paused.swap(false, Ordering::SeqCst) {
            let _ = queue().enqueue::<Arc<Pipe>, 2>(self.clone());
        }
    }

    /// Reads what TCP holds and hands it to the socket; once the peer closed its side and
    /// all it sent is read, the pipe goes.
    ///
    /// # Safety
    ///
    /// The caller holds the TCP socket's lock or runs in its receive path (`sk_data_ready`),
    /// with our callbacks attached.
    unsafe fn read(&self) {
        extern "C" fn actor(
            desc: *mut sys::read_descriptor_t,
            skb: *mut sys::sk_buff,
            off: u32,
            len: usize,
        ) -> i32 {
            // SAFETY: `read` passed its pipe in the descriptor; TCP passes a valid skb of
            // which `off + len` bytes are in range.
            let (pipe, skb) = unsafe { (&*(*desc).arg.data.cast::<Pipe>(), &*skb) };
            // SAFETY: `read`'s caller holds the TCP socket's lock: `rx` is ours.
            let rx = unsafe { &mut *pipe.rx.get() };
            rx.read(pipe, skb, off as usize, len) as i32
        }
        if !self.published.load(Ordering::SeqCst) {
            // `start` reads once the pipe is in its socket (see `published`).
            return;
        }
        // SAFETY: See above: `rx` is ours for the call.
        let rx = unsafe { &mut *self.rx.get() };
        rx.start();
        let mut desc = sys::read_descriptor_t {
            count: 1,
            ..Default::default()
        };
        desc.arg.data = self as *const Pipe as *mut _;
        // SAFETY: As above; the actor gets the pipe back through `desc`.
        unsafe { sys::tcp_read_sock(self.tcp_sk, &mut desc, Some(actor)) };
        // SAFETY: As above (the actor's borrow ended).
        let rx = unsafe { &mut *self.rx.get() };
        rx.flush(self);
        // SAFETY: As above.
        if !rx.stopped() && self.tcp_over(unsafe { self.tcp_state() }) {
            self.kill();
        }
    }

    /// The TCP socket's state (`TCP_*`).
    ///
    /// # Safety
    ///
    /// `tcp_sk` is valid: `conn.tcp` is set, or a TCP callback of ours runs.
    unsafe fn tcp_state(&self) -> u32 {
        // SAFETY: The caller's.
        unsafe { sys::sp_sk_state(self.tcp_sk) as u32 }
    }

    /// Whether the connection is over for us in TCP `state`: anything but an open
    /// connection, or one whose sending side we are flushing (FIN_WAIT1 after our own
    /// shutdown; FIN_WAIT2 follows once the peer acked it all, and then we are done).
    fn tcp_over(&self, state: u32) -> bool {
        let flushing = state == sys::TCP_FIN_WAIT1 && self.fin.load(Ordering::Acquire);
        state != sys::TCP_ESTABLISHED && !flushing
    }

    /// The pattern was told the pipe is ready. Under the socket's `inner`.
    pub(crate) fn announce(&self) {
        self.announced.store(true, Ordering::Release);
    }

    /// Ready, and its pattern knows.
    pub(crate) fn announced(&self) -> bool {
        self.announced.load(Ordering::Acquire) && self.state() == PipeState::Ready
    }

    /// Reads what TCP holds, from process context.
    fn read_locked(&self) {
        let conn = self.conn.lock();
        if conn.tcp.is_null() || self.state() == PipeState::Dead {
            return;
        }
        // SAFETY: `tcp_sk` is valid while `conn.tcp` is set; callbacks are attached until
        // `close_sync`, which takes `conn` before it clears `rx`.
        unsafe {
            sys::sp_lock_sock(self.tcp_sk);
            self.read();
            sys::release_sock(self.tcp_sk);
        }
    }

    /// Asks for teardown from any context; idempotent.
    pub(crate) fn kill(&self) {
        if self.state.swap(PipeState::Dead as u8, Ordering::SeqCst) == PipeState::Dead as u8 {
            return;
        }
        // Paired with `start` (see `published`).
        if self.published.load(Ordering::SeqCst) {
            self.queue_close();
        }
    }

    /// Has the workqueue run [`Pipe::close_sync`]. Any context.
    fn queue_close(&self) {
        // SAFETY: `self` lives in an `Arc` (all pipes do), kept alive by the caller.
        let arc: Arc<Pipe> = unsafe { ArcBorrow::from_raw(self) }.into();
        let _ = queue().enqueue::<Arc<Pipe>, 1>(arc);
    }

    /// Tears the connection down and removes the pipe from its socket. Process context.
    pub(crate) fn close_sync(&self) {
        self.state.store(PipeState::Dead as u8, Ordering::Release);
        if self.closed.swap(true, Ordering::AcqRel) {
            // Someone else is tearing it down (close work and release may race).
            return;
        }
        // SAFETY: `start` attached the callbacks before the pipe became visible to anyone who
        // could call this. Restoring them under `sk_callback_lock` waits for running ones and
        // ends new invocations. The TCP socket stays valid until `close_sync_detached`.
        unsafe { sys::sp_cb_detach(self.tcp_sk, self.saved.get()) };
        self.sock.pipe_removed(self);
        self.hdr_timer.shutdown();
        self.close_sync_detached();
        if let Some(d) = &self.dialer {
            d.pipe_closed(self.handshaken.load(Ordering::Acquire));
        }
    }

    /// Releases the TCP socket and drops queued frames (callbacks already detached or never
    /// attached).
    fn close_sync_detached(&self) {
        let mut conn = self.conn.lock();
        if !conn.tcp.is_null() {
            // SAFETY: We own the socket; nothing else uses it once `conn.tcp` is null.
            unsafe { sys::sock_release(conn.tcp) };
            conn.tcp = core::ptr::null_mut();
        }
        // SAFETY: No callback runs any more and `rx_work` reads only with `conn` held and the
        // socket set: `rx` is ours.
        unsafe { &mut *self.rx.get() }.clear();
        drop(conn);
        self.q.lock().tx.purge();
    }

    /// Writes queued frames until done or TCP is full, in the caller's context: the
    /// workqueue, or a sender's own system call (sparing it a hand-off to a worker). Once the
    /// queue is empty and the socket draining, shuts down our sending side.
    /// Sleeps (mutex, socket lock): process context only.
    pub(crate) fn transmit(&self) {
        let mut conn = self.conn.lock();
        if conn.tcp.is_null() {
            return;
        }
        // SAFETY: `tcp_sk` is valid while `conn.tcp` is set, which we hold.
        unsafe { sys::sp_lock_sock(self.tcp_sk) };
        let mut failed = false;
        let mut flushed;
        let mut iov = [sys::kvec {
            iov_base: core::ptr::null_mut(),
            iov_len: 0,
        }; TX_IOV];
        loop {
            let (head, n, bytes) = {
                let q = self.q.lock();
                // Read under `q`: a REQ's last push happens under it before drain is set.
                flushed = q.tx.is_empty() && self.sock.draining();
                let (n, bytes) = q.tx.gather(conn.off, &mut iov, TX_BYTES);
                (q.tx.peek(), n, bytes)
            };
            if head.is_null() {
                break;
            }
            // SAFETY: The skbs `iov` and `head` point into stay queued: only this function
            // (serialised by `conn`) and teardown (which also holds `conn`) remove them. Only
            // an open linear tail grows meanwhile, never one with fragments. The TCP socket is
            // locked.
            let sent = unsafe {
                if n > 0 {
                    // Every frame that fits, in one call: TCP fills whole segments.
                    let mut msg = dontwait();
                    sys::kernel_sendmsg_locked(self.tcp_sk, &mut msg, iov.as_mut_ptr(), n, bytes)
                } else {
                    // A large message, with page fragments: on its own.
                    let len = len_of(head);
                    let off = conn.off;
                    sys::skb_send_sock_locked(self.tcp_sk, head, off as i32, (len - off) as i32)
                }
            };
            if sent < 0 {
                failed = sent != -(sys::EAGAIN as i32);
                if !failed {
                    // TCP is full; `sk_write_space` brings us back.
                    self.tx_due.store(true, Ordering::Release);
                }
                break;
            }
            self.advance(&mut conn, sent as usize);
            if n > 0 && (sent as usize) < bytes {
                // As above.
                self.tx_due.store(true, Ordering::Release);
                break;
            }
        }
        // SAFETY: Locked above.
        unsafe { sys::release_sock(self.tcp_sk) };
        if failed {
            drop(conn);
            self.kill();
            return;
        }
        if flushed {
            self.shut_down(&conn);
        }
    }

    /// Frees the frames `sent` bytes completed and moves the offset into the next.
    fn advance(&self, conn: &mut Conn, mut sent: usize) {
        let mut done = SkbQueue::new();
        {
            let mut q = self.q.lock();
            while sent > 0 {
                let head = q.tx.peek();
                if head.is_null() {
                    break;
                }
                // SAFETY: A queued skb, valid (see `transmit`), and `q` is held.
                let left = unsafe { len_of(head) } - conn.off;
                if sent < left {
                    conn.off += sent;
                    break;
                }
                sent -= left;
                conn.off = 0;
                if let Some(skb) = q.tx.pop() {
                    done.push(skb);
                }
            }
        }
        // Freed (uncharging the send buffer, waking senders) outside the lock.
        let room = !done.is_empty();
        drop(done);
        if room && self.sock.reliable() {
            self.sock.pipe_room(self.id);
        }
    }

    /// Takes the frames not yet started, for a reliable pattern to send elsewhere; one that
    /// TCP took part of is lost with the connection. Process context.
    pub(crate) fn take_unsent(&self) -> SkbQueue {
        let mut conn = self.conn.lock();
        let mut unsent = SkbQueue::new();
        let partial;
        {
            let mut q = self.q.lock();
            partial = if conn.off > 0 { q.tx.pop() } else { None };
            conn.off = 0;
            while let Some(skb) = q.tx.pop() {
                unsent.push(skb);
            }
        }
        drop(partial);
        unsent
    }

    /// A draining socket's pipe has nothing more to send: FIN after what TCP holds, and
    /// `tcp_state_change` closes the pipe once the peer acknowledged it all.
    fn shut_down(&self, conn: &Conn) {
        match self.state() {
            PipeState::Handshake => self.kill(),
            PipeState::Ready if !self.fin.swap(true, Ordering::AcqRel) => {
                // SAFETY: `conn.tcp` is valid (the caller holds `conn`, checked non-null).
                if unsafe { sys::kernel_sock_shutdown(conn.tcp, sys::sock_shutdown_cmd_SHUT_WR) }
                    < 0
                {
                    self.kill();
                }
            }
            _ => {}
        }
    }

    /// Discards what is queued and makes the coming release reset the connection
    /// (SO_LINGER { 1, 0 } on the SP socket). Process context.
    pub(crate) fn abort(&self) {
        let conn = self.conn.lock();
        if !conn.tcp.is_null() {
            // SAFETY: `tcp_sk` is valid while `conn.tcp` is set.
            unsafe { sys::sock_no_linger(self.tcp_sk) };
        }
        drop(conn);
        self.q.lock().tx.purge();
    }

    /// The peer's SP header arrived.
    pub(crate) fn handshake(&self, hdr: &[u8; header::HEADER_LEN]) {
        if !header::decode(hdr).is_ok_and(|id| self.sock.partner(id)) {
            self.kill();
            return;
        }
        if self
            .state
            .compare_exchange(
                PipeState::Handshake as u8,
                PipeState::Ready as u8,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
        {
            self.hdr_timer.cancel();
            self.handshaken.store(true, Ordering::Release);
            self.sock.pipe_ready(self.id);
        }
    }
}

impl WorkItem<0> for Pipe {
    type Pointer = Arc<Pipe>;

    fn run(this: Arc<Pipe>) {
        // Before the queue is read (see `kick`).
        this.tx_due.store(false, Ordering::SeqCst);
        this.transmit();
    }
}

impl WorkItem<1> for Pipe {
    type Pointer = Arc<Pipe>;

    fn run(this: Arc<Pipe>) {
        this.close_sync();
    }
}

impl WorkItem<2> for Pipe {
    type Pointer = Arc<Pipe>;

    fn run(this: Arc<Pipe>) {
        this.read_locked();
    }
}

/// A `msghdr` for a non-blocking `kernel_sendmsg()`.
fn dontwait() -> sys::msghdr {
    sys::msghdr {
        msg_flags: sys::MSG_DONTWAIT,
        ..Default::default()
    }
}

/// The pipe attached to a TCP socket, under `sk_callback_lock`, for callback `f` called as
/// the socket's `which` (`SP_CB_*`); `None` once `f` is not that callback any more.
///
/// # Safety
///
/// `sk` must be a valid TCP socket, and the caller must hold its callback lock.
unsafe fn pipe_of<'a>(
    sk: *mut sys::sock,
    which: u32,
    f: unsafe extern "C" fn(*mut sys::sock),
) -> Option<&'a Pipe> {
    // SAFETY: While `f` is the callback, the user data is the `Pipe` that attached it, kept
    // alive until the callbacks are detached, which takes the callback lock for writing.
    unsafe {
        sys::sp_cb_user(sk, which as i32, Some(f))
            .cast::<Pipe>()
            .as_ref()
    }
}

/// A pipe's TCP `sk_data_ready`: reads what arrived.
///
/// # Safety
///
/// TCP calls it with a valid `sk`, in its receive softirq or from `release_sock()`.
unsafe extern "C" fn tcp_data_ready(sk: *mut sys::sock) {
    // SAFETY: Called by TCP with a valid `sk`.
    unsafe {
        sys::sp_cb_read_lock(sk);
        if let Some(p) = pipe_of(sk, sys::SP_CB_DATA_READY, tcp_data_ready) {
            // TCP calls this in its receive softirq with the socket's spinlock held, or
            // from `release_sock()` in the owner's context: either way the socket is ours.
            p.read();
        }
        sys::sp_cb_read_unlock(sk);
    }
}

/// A pipe's TCP `sk_write_space`: the transmit worker goes on.
///
/// # Safety
///
/// TCP calls it with a valid `sk`.
unsafe extern "C" fn tcp_write_space(sk: *mut sys::sock) {
    // SAFETY: As for `tcp_data_ready`.
    unsafe {
        sys::sp_cb_read_lock(sk);
        if let Some(p) = pipe_of(sk, sys::SP_CB_WRITE_SPACE, tcp_write_space) {
            if p.tx_len() > 0 {
                let arc: Arc<Pipe> = ArcBorrow::from_raw(p).into();
                let _ = queue().enqueue::<Arc<Pipe>, 0>(arc);
            }
        }
        sys::sp_cb_read_unlock(sk);
    }
}

/// A pipe's TCP `sk_state_change`: the connection ends unless it is our own shutdown.
///
/// # Safety
///
/// TCP calls it with a valid `sk`.
unsafe extern "C" fn tcp_state_change(sk: *mut sys::sock) {
    // SAFETY: As for `tcp_data_ready`.
    unsafe {
        sys::sp_cb_read_lock(sk);
        if let Some(p) = pipe_of(sk, sys::SP_CB_STATE_CHANGE, tcp_state_change) {
            // The peer's FIN (CLOSE_WAIT) comes before the data it came with is read
            // (`tcp_fin()` runs ahead of `sk_data_ready`): `read` ends the pipe once it took
            // all of it.
            let state = p.tcp_state();
            if state != sys::TCP_CLOSE_WAIT && p.tcp_over(state) {
                p.kill();
            }
        }
        sys::sp_cb_read_unlock(sk);
    }
}

/// The peer took too long to send its header (softirq).
///
/// # Safety
///
/// The timer core calls it with the `timer_list` of a [`Pipe`]'s `hdr_timer`.
unsafe extern "C" fn hdr_timer_fn(t: *mut sys::timer_list) {
    // SAFETY: The timer is embedded in a live pipe: `close_sync` shuts it down first.
    let pipe = unsafe { &*kernel::container_of!(t.cast::<Timer>(), Pipe, hdr_timer) };
    if pipe.state() == PipeState::Handshake {
        pipe.kill();
    }
}
