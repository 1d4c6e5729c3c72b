// SPDX-License-Identifier: GPL-2.0

//! Endpoints: where pipes come from.
//!
//! A [`Listener`] (bind) owns a listening kernel TCP socket; its `sk_data_ready` queues
//! `accept_work`, which accepts every pending connection as a pipe. A [`Dialer`] (connect)
//! dials its peer from `work` with a non-blocking connect, is woken by `sk_state_change`, and
//! after a failure or when its pipe dies re-dials after an exponential, jittered backoff
//! (SP_RECONNECT_IVL .. SP_RECONNECT_IVL_MAX) kept in [`proto::backoff`].
//!
//! Both are torn down synchronously by [`Endpoint::close`] when the socket ends, and make no
//! more pipes once it drains (see `linger.rs`).

use crate::addr::Addr;
use crate::pipe::Pipe;
use crate::proto::backoff::Backoff;
use crate::sock::Socket;
use crate::sync::{queue, Timer};
use crate::sys;
use core::cell::UnsafeCell;
use core::ptr;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow, Mutex};
use kernel::workqueue::{impl_has_work, new_work, Work, WorkItem};

/// Connections a listener keeps waiting to be accepted.
const BACKLOG: i32 = 128;

/// An endpoint of a socket.
#[derive(Clone)]
pub(crate) enum Endpoint {
    Listener(Arc<Listener>),
    Dialer(Arc<Dialer>),
}

impl Endpoint {
    /// Stops the endpoint for good. Process context.
    pub(crate) fn close(&self) {
        match self {
            Self::Listener(l) => l.close(),
            Self::Dialer(d) => d.close(),
        }
    }
}

/// Creates a kernel TCP socket in the network namespace of `sock`.
fn tcp_socket(sock: &Socket, family: u16) -> Result<*mut sys::socket> {
    let mut tcp = ptr::null_mut();
    // SAFETY: `sk` is valid; on success we own `tcp`.
    let r = unsafe {
        sys::sock_create_kern(
            sys::sp_sock_net(sock.sk()),
            i32::from(family),
            sys::sock_type_SOCK_STREAM as i32,
            sys::IPPROTO_TCP as i32,
            &mut tcp,
        )
    };
    if r < 0 {
        return Err(Error::from_errno(r));
    }
    Ok(tcp)
}

/// A bound, listening endpoint.
#[pin_data]
pub(crate) struct Listener {
    sock: Arc<Socket>,
    /// The listening TCP socket; null once closed.
    #[pin]
    tcp: Mutex<*mut sys::socket>,
    tcp_sk: *mut sys::sock,
    saved: UnsafeCell<sys::sp_saved_cbs>,
    /// The address actually bound (port 0 resolved).
    pub(crate) local: Addr,
    /// SP_SNDPRIO when the endpoint was added, for its pipes.
    prio: u8,
    #[pin]
    accept_work: Work<Listener>,
}

// SAFETY: `tcp` is behind a mutex, `saved` is written before the callbacks run, the rest is
// immutable.
unsafe impl Send for Listener {}
// SAFETY: As above.
unsafe impl Sync for Listener {}

impl_has_work! {
    impl HasWork<Self> for Listener { self.accept_work }
}

impl Listener {
    /// Listens on `addr` at once; errors (EADDRINUSE...) go back to bind().
    pub(crate) fn start(sock: &Arc<Socket>, addr: &Addr) -> Result<Arc<Self>> {
        let tcp = tcp_socket(sock, addr.family())?;
        let release = |e: Error| {
            // SAFETY: We own `tcp` until the listener does.
            unsafe { sys::sock_release(tcp) };
            e
        };
        let mut local = *addr;
        // SAFETY: `tcp` is a valid socket we own; the address buffers outlive the calls.
        unsafe {
            let sk = (*tcp).sk;
            sys::sock_set_reuseaddr(sk);
            let r = sys::kernel_bind(tcp, addr.as_ptr(), addr.len() as i32);
            if r < 0 {
                return Err(release(Error::from_errno(r)));
            }
            let r = sys::kernel_listen(tcp, BACKLOG);
            if r < 0 {
                return Err(release(Error::from_errno(r)));
            }
            let r = sys::kernel_getsockname(tcp, local.as_mut_ptr());
            if r < 0 {
                return Err(release(Error::from_errno(r)));
            }
            local.set_len(r as usize);
        }
        // SAFETY: As above.
        let tcp_sk = unsafe { (*tcp).sk };
        let l = Arc::pin_init(
            pin_init!(Self {
                sock: sock.clone(),
                tcp <- new_mutex!(tcp, "sp_listener"),
                tcp_sk,
                saved: UnsafeCell::new(Default::default()),
                local,
                prio: sock.opts().sndprio,
                accept_work <- new_work!("sp_accept"),
            }),
            GFP_KERNEL,
        )
        .map_err(release)?;
        // SAFETY: `l` is pinned in its `Arc` and outlives the callbacks, which `close`
        // detaches before the socket lets its reference go. Accepted children copy the
        // callbacks but not the user data (NOCOPY), which the callback checks.
        unsafe {
            sys::sp_cb_attach_nocopy(
                tcp_sk,
                &*l as *const Listener as *mut _,
                l.saved.get(),
                Some(listener_data_ready),
            );
        }
        // Connections that were already waiting.
        let _ = queue().enqueue(l.clone());
        Ok(l)
    }

    fn accept_all(&self) {
        let tcp = self.tcp.lock();
        if tcp.is_null() || self.sock.draining() {
            return;
        }
        loop {
            let mut new = ptr::null_mut();
            // SAFETY: `*tcp` is our listening socket, valid under the mutex.
            let r = unsafe { sys::kernel_accept(*tcp, &mut new, sys::O_NONBLOCK as i32) };
            if r < 0 {
                break;
            }
            if Pipe::start(&self.sock, new, None, self.prio).is_err() {
                // `Pipe::start` released the connection; the peer will see it close.
                continue;
            }
        }
    }

    fn close(&self) {
        let mut tcp = self.tcp.lock();
        if tcp.is_null() {
            return;
        }
        // SAFETY: Ours until released here; detaching under the callback lock ends callbacks.
        unsafe {
            sys::sp_cb_detach(self.tcp_sk, self.saved.get());
            sys::sock_release(*tcp);
        }
        *tcp = ptr::null_mut();
    }
}

impl WorkItem for Listener {
    type Pointer = Arc<Listener>;

    fn run(this: Arc<Listener>) {
        this.accept_all();
    }
}

/// The `sk_data_ready` of a listener's TCP socket (and, inherited, of its accepted
/// children until a pipe takes them over).
///
/// # Safety
///
/// TCP calls it with a valid `sk`.
unsafe extern "C" fn listener_data_ready(sk: *mut sys::sock) {
    // SAFETY: Called by TCP with a valid `sk`. While this is its `sk_data_ready`, the user
    // data is a live listener (detached under the write lock before it goes); an accepted
    // clone inherits the callback, not the user data, and `sp_cb_user` sees when it has
    // passed to a pipe.
    unsafe {
        sys::sp_cb_read_lock(sk);
        let user = sys::sp_cb_user(sk, sys::SP_CB_DATA_READY as i32, Some(listener_data_ready));
        if let Some(l) = user.cast::<Listener>().as_ref() {
            let arc: Arc<Listener> = ArcBorrow::from_raw(l).into();
            let _ = queue().enqueue(arc);
        }
        sys::sp_cb_read_unlock(sk);
    }
}

/// What a dialer's mutex protects.
struct DialState {
    /// The socket being connected; null when none.
    tcp: *mut sys::socket,
    /// A pipe of ours is up (or handshaking): do not dial.
    piped: bool,
    backoff: Backoff,
    closed: bool,
}

/// A connecting endpoint.
#[pin_data]
pub(crate) struct Dialer {
    sock: Arc<Socket>,
    peer: Addr,
    /// SP_SNDPRIO when the endpoint was added, for its pipes.
    prio: u8,
    #[pin]
    st: Mutex<DialState>,
    saved: UnsafeCell<sys::sp_saved_cbs>,
    closing: AtomicBool,
    /// A new connection may be started: set at start and when the backoff ends. A step
    /// that `sk_state_change` queued for an attempt already over must not start one early.
    due: AtomicBool,
    #[pin]
    work: Work<Dialer>,
    #[pin]
    timer: Timer,
}

// SAFETY: As for `Listener`.
unsafe impl Send for Dialer {}
// SAFETY: As above.
unsafe impl Sync for Dialer {}

impl_has_work! {
    impl HasWork<Self> for Dialer { self.work }
}

impl Dialer {
    /// Starts dialing `peer` in the background; returns at once.
    pub(crate) fn start(sock: &Arc<Socket>, peer: &Addr) -> Result<Arc<Self>> {
        let opts = sock.opts();
        let d = Arc::pin_init(
            pin_init!(Self {
                sock: sock.clone(),
                peer: *peer,
                prio: opts.sndprio,
                st <- new_mutex!(DialState {
                    tcp: ptr::null_mut(),
                    piped: false,
                    backoff: Backoff::new(opts.reconnect_ivl, opts.reconnect_ivl_max),
                    closed: false,
                }, "sp_dialer"),
                saved: UnsafeCell::new(Default::default()),
                closing: AtomicBool::new(false),
                due: AtomicBool::new(true),
                work <- new_work!("sp_dial"),
                timer <- Timer::new(dial_timer_fn),
            }),
            GFP_KERNEL,
        )?;
        let _ = queue().enqueue(d.clone());
        Ok(d)
    }

    /// One step: start a connect, or hand a finished one to a pipe, or schedule a retry.
    fn step(self: Arc<Self>) {
        let mut st = self.st.lock();
        if st.closed || st.piped || self.sock.draining() {
            return;
        }
        if st.tcp.is_null() {
            if !self.due.swap(false, Ordering::AcqRel) {
                return;
            }
            match self.connect() {
                Ok(tcp) => st.tcp = tcp,
                Err(_) => {
                    self.retry(&mut st);
                    return;
                }
            }
        }
        // SAFETY: `st.tcp` is our socket, valid under the mutex.
        let sk = unsafe { (*st.tcp).sk };
        // SAFETY: As above.
        let state = unsafe { sys::sp_sk_state(sk) } as u32;
        if state == sys::TCP_SYN_SENT {
            // `sk_state_change` brings us back.
            return;
        }
        // SAFETY: Ours; the callbacks go before the socket changes hands or is released.
        unsafe { sys::sp_cb_detach(sk, self.saved.get()) };
        let tcp = st.tcp;
        st.tcp = ptr::null_mut();
        if state == sys::TCP_ESTABLISHED {
            st.piped = true;
            drop(st);
            if Pipe::start(&self.sock, tcp, Some(self.clone()), self.prio).is_err() {
                self.pipe_closed(false);
            }
        } else {
            // SAFETY: Ours.
            unsafe { sys::sock_release(tcp) };
            self.retry(&mut st);
        }
    }

    /// A non-blocking connect, with `sk_state_change` pointing at us.
    fn connect(&self) -> Result<*mut sys::socket> {
        let tcp = tcp_socket(&self.sock, self.peer.family())?;
        // SAFETY: `tcp` is ours; the callbacks reference `self`, which `close` detaches.
        unsafe {
            sys::sp_cb_attach(
                (*tcp).sk,
                self as *const Dialer as *mut _,
                self.saved.get(),
                None,
                None,
                Some(dialer_state_change),
            );
            let r = sys::kernel_connect(
                tcp,
                self.peer.as_ptr(),
                self.peer.len() as i32,
                sys::O_NONBLOCK as i32,
            );
            if r < 0 && r != -(sys::EINPROGRESS as i32) {
                sys::sp_cb_detach((*tcp).sk, self.saved.get());
                sys::sock_release(tcp);
                return Err(Error::from_errno(r));
            }
        }
        Ok(tcp)
    }

    fn retry(&self, st: &mut DialState) {
        // SAFETY: Plain random number.
        let delay = st.backoff.next_delay(unsafe { sys::get_random_u32() });
        if !self.closing.load(Ordering::Acquire) && !self.sock.draining() {
            self.timer.arm_ms(delay);
        }
    }

    /// Our pipe is gone: dial again after the backoff, which starts over from the shortest
    /// if the pipe had completed its handshake.
    pub(crate) fn pipe_closed(&self, handshaken: bool) {
        let mut st = self.st.lock();
        st.piped = false;
        if handshaken {
            st.backoff.reset();
        }
        if !st.closed {
            self.retry(&mut st);
        }
    }

    fn close(&self) {
        self.closing.store(true, Ordering::Release);
        self.timer.shutdown();
        let mut st = self.st.lock();
        st.closed = true;
        if !st.tcp.is_null() {
            // SAFETY: Ours; detach ends callbacks before release.
            unsafe {
                sys::sp_cb_detach((*st.tcp).sk, self.saved.get());
                sys::sock_release(st.tcp);
            }
            st.tcp = ptr::null_mut();
        }
    }
}

impl WorkItem for Dialer {
    type Pointer = Arc<Dialer>;

    fn run(this: Arc<Dialer>) {
        this.step();
    }
}

/// The `sk_state_change` of a dialer's connecting TCP socket.
///
/// # Safety
///
/// TCP calls it with a valid `sk`.
unsafe extern "C" fn dialer_state_change(sk: *mut sys::sock) {
    // SAFETY: As for `listener_data_ready`.
    unsafe {
        sys::sp_cb_read_lock(sk);
        let user = sys::sp_cb_user(
            sk,
            sys::SP_CB_STATE_CHANGE as i32,
            Some(dialer_state_change),
        );
        if let Some(d) = user.cast::<Dialer>().as_ref() {
            let arc: Arc<Dialer> = ArcBorrow::from_raw(d).into();
            let _ = queue().enqueue(arc);
        }
        sys::sp_cb_read_unlock(sk);
    }
}

/// A dialer's backoff is over (softirq).
///
/// # Safety
///
/// The timer core calls it with the `timer_list` of a [`Dialer`]'s `timer`.
unsafe extern "C" fn dial_timer_fn(t: *mut sys::timer_list) {
    // SAFETY: The timer is embedded in a live dialer: `close` shuts it down first.
    let d = unsafe { &*kernel::container_of!(t.cast::<Timer>(), Dialer, timer) };
    // SAFETY: Dialers live in an `Arc`, kept alive here by the socket's endpoint list
    // (`close` runs before that reference goes).
    let arc: Arc<Dialer> = unsafe { ArcBorrow::from_raw(d) }.into();
    arc.due.store(true, Ordering::Release);
    let _ = queue().enqueue(arc);
}
