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

use crate::proto::{frame, header};
use crate::skb::SkbQueue;
use crate::sock::{
    errno, Core, Dispatch, Inner, Msg, Peer, Socket, Type, UserBuf, UserMsg, SMALL_SEND,
};
use crate::sys;
use core::any::Any;
use core::marker::PhantomData;
use kernel::prelude::*;

mod bus;
mod pair;
#[path = "pub.rs"]
mod pub_;
mod pull;
mod push;
mod reliable;
mod rep;
mod req;
mod sub;
mod surveyor;

/// One socket type's behaviour. The methods taking `&mut self` run under the socket's lock
/// (spinlock, bottom halves off, maybe in softirq): they must not sleep, and allocate with
/// `GFP_ATOMIC`. The others run in the user's system call and lock through [`Socket::with`].
pub(crate) trait Pattern: Sized + Send + 'static {
    /// Bytes of the socket's staging buffer ([`Socket::staging`]).
    const STAGING: usize = 0;
    /// Whether what peers send is read at all (PUB: subscribers send nothing).
    const RECEIVES: bool = true;
    /// Whether [`Pattern::pipe_removed`] gets back what the pipe had not started to send,
    /// and [`Pattern::pipe_room`] is called (PUSH, PAIR: nothing is dropped).
    const RELIABLE: bool = false;

    /// The state of a new socket; `seed` is random.
    fn new(seed: u32) -> Result<Self>;

    /// `peer` finished its handshake; returns a peer a message was queued on (to be kicked).
    fn pipe_ready(&mut self, _core: &mut Core, _peer: &Peer) -> Option<Peer> {
        None
    }

    /// Pipe `id` is gone, with what it had not started to send if [`Pattern::RELIABLE`];
    /// returns a peer a message was queued on instead.
    fn pipe_removed(&mut self, _core: &mut Core, _id: u32, _unsent: SkbQueue) -> Option<Peer> {
        None
    }

    /// TCP took frames off `peer`'s queue (only if [`Pattern::RELIABLE`]).
    fn pipe_room(&mut self, _core: &mut Core, _peer: &Peer) {}

    /// Whether a message is held that no pipe has taken yet: a closed socket keeps its
    /// endpoints for it.
    fn unsent(&self) -> bool {
        false
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

    /// POLLIN though nothing may be queued: recv has something to report.
    fn readable(&self) -> bool {
        false
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

    fn reliable(&self) -> bool {
        P::RELIABLE
    }

    fn pipe_ready(&self, inner: &mut Inner, peer: &Peer) -> Option<Peer> {
        let (core, p) = inner.split::<P>()?;
        p.pipe_ready(core, peer)
    }

    fn pipe_removed(&self, inner: &mut Inner, id: u32, unsent: SkbQueue) -> Option<Peer> {
        let (core, p) = inner.split::<P>()?;
        p.pipe_removed(core, id, unsent)
    }

    fn pipe_room(&self, inner: &mut Inner, peer: &Peer) {
        if let Some((core, p)) = inner.split::<P>() {
            p.pipe_room(core, peer);
        }
    }

    fn unsent(&self, inner: &Inner) -> bool {
        inner.parts::<P>().is_some_and(|(_, p)| p.unsent())
    }

    fn receive(&self, sock: &Socket, done: &mut SkbQueue) {
        sock.receive_as::<P>(done, |p, core, msg| p.accept(core, msg));
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

    fn readable(&self, inner: &Inner) -> bool {
        inner.parts::<P>().is_some_and(|(_, p)| p.readable())
    }

    fn send(&self, sock: &Socket, msg: &UserMsg) -> Result<usize> {
        P::send(sock, msg)
    }

    fn recvmsg(&self, sock: &Socket, buf: &UserBuf) -> Result<usize> {
        sock.recvmsg_as(buf, P::may_recv, P::received)
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

/// Every socket type. (PAIR's ids are version 1's; SP_PAIR_VERSION changes them.)
pub(crate) static TYPES: [Type; 10] = [
    row!(req::Req, SOCK_REQ, REQ, REP),
    row!(rep::Rep, SOCK_REP, REP, REQ),
    row!(pub_::Pub, SOCK_PUB, PUB, SUB),
    row!(sub::Sub, SOCK_SUB, SUB, PUB),
    row!(push::Push, SOCK_PUSH, PUSH, PULL),
    row!(pull::Pull, SOCK_PULL, PULL, PUSH),
    row!(pair::Pair, SOCK_PAIR, PAIR1, PAIR1),
    row!(surveyor::Surveyor, SOCK_SURVEYOR, SURVEYOR, RESPONDENT),
    row!(rep::Rep, SOCK_RESPONDENT, RESPONDENT, SURVEYOR),
    row!(bus::Bus, SOCK_BUS, BUS, BUS),
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

/// A time option's value: milliseconds, more than 0 (SP_RESEND_IVL, SP_SURVEY_DEADLINE).
pub(crate) fn positive_ms(val: &[u8]) -> Result<u32> {
    u32::try_from(int(val)?)
        .ok()
        .filter(|&v| v > 0)
        .ok_or(EINVAL)
}

/// The jiffies `ms` milliseconds from now.
pub(crate) fn deadline(ms: u32) -> usize {
    crate::sync::jiffies().wrapping_add(crate::sync::ms_to_jiffies(ms))
}

/// Whether jiffies `t` is still ahead of `now`, across wrap-around.
pub(crate) fn before(now: usize, t: usize) -> bool {
    (now.wrapping_sub(t) as isize) < 0
}

/// SP_MAXTTL's value: 1 ..= `proto::reqrep::MAX_TTL` hops.
pub(crate) fn max_ttl(val: &[u8]) -> Result<u8> {
    let v = int(val)?;
    u8::try_from(v)
        .ok()
        .filter(|v| (1..=crate::proto::reqrep::MAX_TTL as u8).contains(v))
        .ok_or(EINVAL)
}

/// Sends a message to every ready pipe of a `P` socket, `head` (a survey id) between its
/// length and its body; a pipe whose queue is full loses it, counted (PUB, BUS, SURVEYOR).
///
/// A small message costs no allocation: it is framed in the socket's staging buffer (at
/// least `LEN_PREFIX + head + SMALL_SEND` bytes) and copied onto the end of each pipe's last
/// queued buffer; a larger one is one skb, cloned (sharing the payload) per pipe. The copies
/// go to TCP from the workqueue, not from the sender's own call: a sender sending one message
/// after another returns at once, while the worker, typically on another CPU, hands TCP
/// everything queued by then in one call. That batches frames into segments as a library's
/// I/O thread does, without the sender waiting for the TCP stack per message.
pub(crate) fn send_all<P: Pattern>(sock: &Socket, msg: &UserMsg, head: &[u8]) -> Result<usize> {
    let len = msg.len();
    let more = msg.more();
    let hdr = frame::LEN_PREFIX + head.len();
    let prefix = frame::encode_len(head.len() + len);
    if len <= SMALL_SEND {
        let mut staging = sock.staging();
        let frame = staging.get_mut(..hdr + len).ok_or(EINVAL)?;
        frame[..frame::LEN_PREFIX].copy_from_slice(&prefix);
        frame[frame::LEN_PREFIX..hdr].copy_from_slice(head);
        msg.copy_to(&mut frame[hdr..])?;
        let frame = &*frame;
        fan_out::<P>(sock, |p, cap| p.offer_frame(frame, cap, more))?;
    } else {
        let mut skb = sock.alloc_send(hdr, msg)?;
        let h = skb.head_mut(hdr);
        h[..frame::LEN_PREFIX].copy_from_slice(&prefix);
        h[frame::LEN_PREFIX..].copy_from_slice(head);
        fan_out::<P>(sock, |p, cap| p.offer(&skb, cap, more))?;
        // The clones keep the payload; the original's send-buffer charge ends here.
    }
    Ok(len)
}

/// Offers a message to every ready pipe with `offer(pipe, cap)` (see [`Peer::offer`]),
/// counting those that drop it.
fn fan_out<P: Pattern>(sock: &Socket, offer: impl Fn(&Peer, usize) -> Option<bool>) -> Result {
    let cap = sock.sndbuf();
    sock.with(|core, _: &mut P| {
        if core.closing() {
            return Err(errno(sys::EPIPE));
        }
        let mut dropped = 0;
        for p in core.peers().iter().filter(|p| p.ready()) {
            match offer(p, cap) {
                None => dropped += 1,
                // More to come: a short queue waits to go out with the next.
                Some(false) => {}
                Some(true) => p.kick(),
            }
        }
        core.dropped(dropped);
        Ok(())
    })
}
