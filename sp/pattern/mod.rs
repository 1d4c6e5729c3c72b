// SPDX-License-Identifier: GPL-2.0

//! The patterns: one file per socket type, each a [`Pattern`], and the table of types.
//!
//! A pattern holds its state and its rules: what to do when a pipe comes up or goes, when a
//! message arrives (in softirq, under the socket's lock), when the user sends or receives,
//! what poll reports, which options it takes. It sees only the socket core's small API
//! (`sock.rs`): [`Core`] with the pipes as [`Peer`]s, [`Msg`], [`UserMsg`] and a few
//! [`Socket`] methods; the wire rules it applies live in `proto/`. Pattern files hold no
//! `unsafe`.
//!
//! [`Ops`] turns a `Pattern` into the socket core's [`Dispatch`], once for all: the core
//! keeps each socket's pattern state, and hands it back typed to these calls. Adding a socket
//! type is its file, a row in [`TYPES`] and its tests.

use crate::proto::header;
use crate::sock::{Core, Dispatch, Inner, Msg, Peer, Socket, Type, UserMsg};
use crate::sys;
use core::any::Any;
use core::marker::PhantomData;
use kernel::prelude::*;

#[path = "pub.rs"]
mod pub_;
mod rep;
mod req;
mod sub;

/// One socket type's behaviour. The methods taking `&mut self` run under the socket's lock
/// (spinlock, bottom halves off, maybe in softirq): they must not sleep, and allocate with
/// `GFP_ATOMIC`. The others run in the user's system call and lock through [`Socket::with`].
pub(crate) trait Pattern: Sized + Send + 'static {
    /// Bytes of the socket's staging buffer ([`Socket::staging`]).
    const STAGING: usize = 0;
    /// Whether what peers send is read at all (PUB: subscribers send nothing).
    const RECEIVES: bool = true;

    /// The state of a new socket; `seed` is random.
    fn new(seed: u32) -> Result<Self>;

    /// `peer` finished its handshake; returns a peer a message was queued on (to be kicked).
    fn pipe_ready(&mut self, _core: &mut Core, _peer: &Peer) -> Option<Peer> {
        None
    }

    /// Pipe `id` is gone; returns a peer a message was queued on instead.
    fn pipe_removed(&mut self, _core: &mut Core, _id: u32) -> Option<Peer> {
        None
    }

    /// Softirq: whether the user gets `msg`, which arrived on a pipe.
    fn accept(&mut self, _core: &mut Core, _msg: &Msg<'_>) -> bool {
        true
    }

    /// The socket is closed: drop what is held, except, if `keep_unsent`, a message that no
    /// pipe has taken yet (it keeps the socket dialing); returns whether one was kept.
    fn close(&mut self, _core: &mut Core, _keep_unsent: bool) -> bool {
        false
    }

    /// POLLOUT: `None` leaves it to the core (room in the send buffer).
    fn writable(&self, _core: &Core) -> Option<bool> {
        None
    }

    /// sendmsg(): one message.
    fn send(sock: &Socket, msg: &UserMsg) -> Result<usize>;

    /// recvmsg() may wait for a message; or the error it fails with.
    fn may_recv(_sock: &Socket) -> Result {
        Ok(())
    }

    /// recvmsg() takes `msg` (or looks at it, if `peek`): the offset of the user's payload in
    /// it, or `None` if it is dropped instead.
    fn received(_sock: &Socket, _msg: &Msg<'_>, _peek: bool) -> Option<usize> {
        Some(0)
    }

    /// The socket's timer fired (softirq).
    fn timer(_sock: &Socket) {}

    /// A SOL_SP option of this pattern, with its value; `None` if it has no such option.
    fn setopt(&mut self, _core: &mut Core, _name: u32, _val: &[u8]) -> Option<Result> {
        None
    }

    /// Reads an option of this pattern.
    fn getopt(&self, _core: &Core, _name: u32) -> Option<i32> {
        None
    }
}

/// A [`Pattern`] as the socket core's [`Dispatch`].
struct Ops<P>(PhantomData<fn() -> P>);

impl<P: Pattern> Dispatch for Ops<P> {
    fn new_state(&self, seed: u32) -> Result<KBox<dyn Any + Send>> {
        crate::sock::boxed(P::new(seed)?)
    }

    fn staging(&self) -> usize {
        P::STAGING
    }

    fn receives(&self) -> bool {
        P::RECEIVES
    }

    fn pipe_ready(&self, inner: &mut Inner, peer: &Peer) -> Option<Peer> {
        let (core, p) = inner.split::<P>()?;
        p.pipe_ready(core, peer)
    }

    fn pipe_removed(&self, inner: &mut Inner, id: u32) -> Option<Peer> {
        let (core, p) = inner.split::<P>()?;
        p.pipe_removed(core, id)
    }

    fn accept(&self, inner: &mut Inner, msg: &Msg<'_>) -> bool {
        inner
            .split::<P>()
            .is_some_and(|(core, p)| p.accept(core, msg))
    }

    fn close(&self, inner: &mut Inner, keep_unsent: bool) -> bool {
        inner
            .split::<P>()
            .is_some_and(|(core, p)| p.close(core, keep_unsent))
    }

    fn writable(&self, inner: &Inner) -> Option<bool> {
        let (core, p) = inner.parts::<P>()?;
        p.writable(core)
    }

    fn send(&self, sock: &Socket, msg: &UserMsg) -> Result<usize> {
        P::send(sock, msg)
    }

    fn may_recv(&self, sock: &Socket) -> Result {
        P::may_recv(sock)
    }

    fn received(&self, sock: &Socket, msg: &Msg<'_>, peek: bool) -> Option<usize> {
        P::received(sock, msg, peek)
    }

    fn timer(&self, sock: &Socket) {
        P::timer(sock)
    }

    fn setopt(&self, inner: &mut Inner, name: u32, val: &[u8]) -> Option<Result> {
        let (core, p) = inner.split::<P>()?;
        p.setopt(core, name, val)
    }

    fn getopt(&self, inner: &Inner, name: u32) -> Option<i32> {
        let (core, p) = inner.parts::<P>()?;
        p.getopt(core, name)
    }
}

/// A row of [`TYPES`]: pattern, `socket()` type, our protocol id, the peer's.
macro_rules! row {
    ($p:ty, $ty:ident, $proto:ident, $peer:ident) => {
        Type {
            ty: sys::$ty,
            proto: header::$proto,
            peer: header::$peer,
            ops: &Ops::<$p>(PhantomData),
        }
    };
}

/// Every socket type.
pub(crate) static TYPES: [Type; 4] = [
    row!(req::Req, SOCK_REQ, REQ, REP),
    row!(rep::Rep, SOCK_REP, REP, REQ),
    row!(pub_::Pub, SOCK_PUB, PUB, SUB),
    row!(sub::Sub, SOCK_SUB, SUB, PUB),
];

/// The type for a `socket()` type argument.
pub(crate) fn find(ty: i32) -> Option<&'static Type> {
    let ty = u32::try_from(ty).ok()?;
    TYPES.iter().find(|t| t.ty == ty)
}

/// The errno of a pattern state error (recv on REQ with nothing asked, send on REP with
/// nothing to answer); documented in the README.
pub(crate) fn estate() -> Error {
    crate::sock::errno(sys::EPROTO)
}

/// The longest value a pattern's option takes (SP_SUBSCRIBE's prefix).
pub(crate) const OPT_MAX: usize = crate::proto::topic::MAX_PREFIX;

/// An `int` option's value.
pub(crate) fn int(val: &[u8]) -> Result<i32> {
    let v = val.first_chunk::<4>().ok_or(EINVAL)?;
    Ok(i32::from_ne_bytes(*v))
}

/// The jiffies `ms` milliseconds from now.
pub(crate) fn deadline(ms: u32) -> usize {
    crate::sync::jiffies().wrapping_add(crate::sync::ms_to_jiffies(ms))
}

/// Whether jiffies `t` is still ahead of `now`, across wrap-around.
pub(crate) fn before(now: usize, t: usize) -> bool {
    (now.wrapping_sub(t) as isize) < 0
}
