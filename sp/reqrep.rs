// SPDX-License-Identifier: GPL-2.0

//! The REQ and REP patterns.
//!
//! REQ keeps one request at a time ([`Req`]): a new one cancels the old; it goes to a ready
//! pipe of the highest send priority that has one, with nothing queued if possible,
//! round-robin (`proto::balance`), is resent every SP_RESEND_IVL
//! and at once elsewhere when its pipe dies, and only a reply carrying its id is delivered.
//!
//! REP strips the backtrace of each request it hands to the user and remembers it with the
//! pipe the request came from ([`Rep`]); the reply gets the backtrace back in front and goes
//! to that pipe, or is dropped (counted) if the pipe is gone or full. Nothing here blocks.
//!
//! Everything runs under the socket's lock; transmit is left to the caller (see
//! `sock.rs`). The wire format itself lives in `proto::reqrep`.

use crate::pipe::{Pipe, PipeState};
use crate::proto::{balance, frame, reqrep as wire};
use crate::skb::Skb;
use crate::sock::{errno, Inner, Pattern, Socket, ESTATE, PIPE_TXQ_MAX, SMALL_SEND};
use crate::sync::Timer;
use crate::sys;
use kernel::prelude::*;
use kernel::sync::Arc;

/// A request a REQ socket keeps until it is answered or replaced.
struct Pending {
    id: u32,
    /// The framed request (length, id tag, body), charged to our send buffer; clones go out.
    skb: Skb,
    /// The pipe the last copy went out on.
    pipe: Option<u32>,
    /// When (jiffies) to send it again if no reply came.
    due: usize,
}

enum ReqState {
    /// Nothing asked: recv is a state error.
    Idle,
    /// A request is out (or waiting for a pipe).
    Waiting(Pending),
    /// The reply to request `id` is queued for the user.
    Answered(u32),
}

/// REQ state.
pub(crate) struct Req {
    ids: wire::RequestIds,
    state: ReqState,
}

impl Req {
    /// A REQ whose request ids start from `seed`.
    pub(crate) fn new(seed: u32) -> Self {
        Self {
            ids: wire::RequestIds::new(seed),
            state: ReqState::Idle,
        }
    }
}

/// What a REP socket owes: where the last request came from and its backtrace.
struct Owed {
    pipe: u32,
    bt: wire::Backtrace,
}

/// REP state.
#[derive(Default)]
pub(crate) struct Rep {
    owed: Option<Owed>,
}

/// REQ: sends the pending request's next copy to a pipe that can take it: the highest send
/// priority first, idle before busy, round-robin (`proto::balance`). Returns the pipe to
/// transmit on.
fn dispatch(inner: &mut Inner) -> Option<Arc<Pipe>> {
    let (pipe, copy) = choose(inner, Skb::clone_atomic)?;
    pipe.push(copy);
    Some(pipe)
}

/// REQ: picks the pipe for the pending request's next copy (see [`dispatch`]) and makes
/// the copy with `copy`; `None` if no pipe can take it, or no copy could be made (the resend
/// timer tries again).
fn choose(inner: &mut Inner, copy: impl FnOnce(&Skb) -> Option<Skb>) -> Option<(Arc<Pipe>, Skb)> {
    let Inner {
        pipes, rr, pattern, ..
    } = inner;
    let Pattern::Req(Req {
        state: ReqState::Waiting(pending),
        ..
    }) = pattern
    else {
        return None;
    };
    let choice = balance::pick(pipes.len(), *rr, |i| {
        let p = pipes.get(i)?;
        if p.state() != PipeState::Ready {
            return None;
        }
        let queued = p.tx_len();
        (queued < PIPE_TXQ_MAX).then_some(balance::Candidate {
            prio: p.prio,
            busy: queued > 0,
        })
    });
    pending.pipe = None;
    let i = choice?;
    *rr = i + 1;
    let pipe = pipes.get(i)?;
    let copy = copy(&pending.skb)?;
    pending.pipe = Some(pipe.id);
    Some((pipe.clone(), copy))
}

/// A pipe became ready: a request waiting for one goes out on it.
pub(crate) fn pipe_ready(inner: &mut Inner) -> Option<Arc<Pipe>> {
    match &inner.pattern {
        Pattern::Req(Req {
            state: ReqState::Waiting(p),
            ..
        }) if p.pipe.is_none() => dispatch(inner),
        _ => None,
    }
}

/// A pipe is gone: a request that went out on it goes out again elsewhere, at once.
pub(crate) fn pipe_removed(inner: &mut Inner, id: u32) -> Option<Arc<Pipe>> {
    match &inner.pattern {
        Pattern::Req(Req {
            state: ReqState::Waiting(p),
            ..
        }) if p.pipe == Some(id) => dispatch(inner),
        _ => None,
    }
}

/// Drops what the socket still holds (release), except, if `keep_unsent`, a request no pipe
/// has taken yet; returns whether it kept one.
pub(crate) fn forget(inner: &mut Inner, keep_unsent: bool) -> bool {
    match &mut inner.pattern {
        Pattern::Req(r) => {
            if keep_unsent && matches!(&r.state, ReqState::Waiting(p) if p.pipe.is_none()) {
                return true;
            }
            r.state = ReqState::Idle;
        }
        Pattern::Rep(r) => r.owed = None,
        _ => {}
    }
    false
}

/// REQ send: the message becomes the pending request, replacing any other.
pub(crate) fn req_send(sock: &Socket, msg: *mut sys::msghdr, len: usize) -> Result<usize> {
    let hdr = frame::LEN_PREFIX + wire::TAG_LEN;
    let mut skb = sock.alloc_send(hdr, msg, len)?;
    // Unread replies answer requests this one replaces. One to the old request may still
    // be queued between here and the switch below; recv knows it by its id.
    sock.purge_received();
    let target = {
        let mut inner = sock.inner.lock();
        if inner.closing {
            return Err(errno(sys::EPIPE));
        }
        let due = deadline(inner.opts.resend_ivl);
        let Pattern::Req(req) = &mut inner.pattern else {
            return Err(EINVAL);
        };
        let id = req.ids.next_id();
        let head = skb.head_mut(hdr);
        head[..frame::LEN_PREFIX].copy_from_slice(&frame::encode_len(len + wire::TAG_LEN));
        head[frame::LEN_PREFIX..].copy_from_slice(&wire::request_tag(id));
        // A new request cancels the old one.
        req.state = ReqState::Waiting(Pending {
            id,
            skb,
            pipe: None,
            due,
        });
        // Left running when the reply comes: a timer that fires early is armed again for
        // the request then outstanding, if any (see `resend`).
        sock.resend_timer.arm_by(due);
        if len <= SMALL_SEND {
            // Written straight from the pending request (see below).
            choose(&mut inner, |skb| Some(skb.share())).map(|(p, skb)| (p, Some(skb)))
        } else {
            dispatch(&mut inner).map(|p| (p, None))
        }
    };
    match target {
        // A small request is linear: its bytes go to TCP from our own reference to it,
        // without a clone or a trip through the pipe's queue.
        Some((p, Some(skb))) if skb.len() == skb.linear().len() => p.send_frame(skb.linear())?,
        Some((p, Some(skb))) => {
            if let Some(copy) = skb.clone_atomic() {
                p.push(copy);
                p.transmit();
            }
        }
        Some((p, None)) => p.transmit(),
        None => {}
    }
    Ok(len)
}

/// Room in front of a small reply in [`Socket::staging`]: its length prefix and the longest
/// backtrace.
const REP_HEAD: usize = frame::LEN_PREFIX + wire::TAG_LEN * wire::MAX_HOPS;

/// The size of a REP's [`Socket::staging`].
pub(crate) const REP_STAGING: usize = REP_HEAD + SMALL_SEND;

/// REP send: the reply to the request last received, back where it came from.
pub(crate) fn rep_send(sock: &Socket, msg: *mut sys::msghdr, len: usize) -> Result<usize> {
    if len <= SMALL_SEND {
        return rep_send_small(sock, msg, len);
    }
    let cap = sock.sndbuf();
    let bt_len = {
        let mut inner = sock.inner.lock();
        let Inner { pattern, pipes, .. } = &mut *inner;
        let Pattern::Rep(rep) = pattern else {
            return Err(EINVAL);
        };
        let Some(owed) = &rep.owed else {
            return Err(errno(ESTATE));
        };
        if !pipes.iter().any(|p| p.id == owed.pipe && routable(p, cap)) {
            // Dropped before anything is allocated: a peer that is gone or does not read
            // never makes a REP block.
            rep.owed = None;
            inner.drops += 1;
            return Ok(len);
        }
        owed.bt.as_bytes().len()
    };
    let hdr = frame::LEN_PREFIX + bt_len;
    let mut skb = sock.alloc_send(hdr, msg, len)?;
    // Bounded by the pipe's queue from here on, not by the socket's send buffer.
    skb.orphan();
    let target = {
        let mut inner = sock.inner.lock();
        let Pattern::Rep(rep) = &mut inner.pattern else {
            return Err(EINVAL);
        };
        let Some(owed) = rep.owed.take() else {
            return Err(errno(ESTATE));
        };
        let bt = owed.bt.as_bytes();
        if bt.len() != bt_len {
            // A concurrent recv replaced what we owed: answer that one instead.
            rep.owed = Some(owed);
            return Err(errno(sys::EAGAIN));
        }
        let head = skb.head_mut(hdr);
        head[..frame::LEN_PREFIX].copy_from_slice(&frame::encode_len(bt_len + len));
        head[frame::LEN_PREFIX..].copy_from_slice(bt);
        // A reply that cannot be routed (peer gone, queue full) is dropped.
        let pipe = inner.pipes.iter().find(|p| p.id == owed.pipe).cloned();
        match pipe {
            Some(p) if routable(&p, cap) => {
                p.push(skb);
                Some(p)
            }
            _ => {
                inner.drops += 1;
                None
            }
        }
    };
    if let Some(p) = target {
        p.transmit();
    }
    Ok(len)
}

/// REP send of a small reply: framed in the staging buffer and written to TCP at once from
/// the sender's call, without an skb unless TCP cannot take it all.
fn rep_send_small(sock: &Socket, msg: *mut sys::msghdr, len: usize) -> Result<usize> {
    let mut staging = sock.staging.lock();
    let buf = staging.get_mut(..REP_HEAD + len).ok_or(EINVAL)?;
    Socket::copy_from_msg(&mut buf[REP_HEAD..], msg)?;
    let cap = sock.sndbuf();
    let (pipe, start) = {
        let mut inner = sock.inner.lock();
        let Inner {
            pattern,
            pipes,
            drops,
            ..
        } = &mut *inner;
        let Pattern::Rep(rep) = pattern else {
            return Err(EINVAL);
        };
        let owed = rep.owed.take().ok_or(errno(ESTATE))?;
        let Some(p) = pipes.iter().find(|p| p.id == owed.pipe && routable(p, cap)) else {
            // A peer that is gone or does not read never makes a REP block.
            *drops += 1;
            return Ok(len);
        };
        let bt = owed.bt.as_bytes();
        let start = REP_HEAD - bt.len() - frame::LEN_PREFIX;
        let head = &mut buf[start..REP_HEAD];
        head[..frame::LEN_PREFIX].copy_from_slice(&frame::encode_len(bt.len() + len));
        head[frame::LEN_PREFIX..].copy_from_slice(bt);
        (p.clone(), start)
    };
    pipe.send_frame(&buf[start..])?;
    Ok(len)
}

/// REP: whether a reply can go on `p`: ready, and its queue not full.
fn routable(p: &Pipe, cap: usize) -> bool {
    p.state() == PipeState::Ready && p.tx_room(PIPE_TXQ_MAX, cap)
}

/// REQ, softirq: is this the reply to the request outstanding? If so the request is answered.
pub(crate) fn req_accept(inner: &mut Inner, skb: &Skb, off: usize, len: usize) -> bool {
    let mut tag = [0u8; wire::TAG_LEN];
    if len < tag.len() || !skb.copy_bits(off, &mut tag) {
        return false;
    }
    let Some(id) = wire::reply_id(&tag) else {
        return false;
    };
    let Pattern::Req(req) = &mut inner.pattern else {
        return false;
    };
    if !matches!(&req.state, ReqState::Waiting(p) if p.id == id) {
        // Not the request outstanding: stale or forged, dropped.
        return false;
    }
    req.state = ReqState::Answered(id);
    true
}

/// REQ recv: a state error unless a request is outstanding or its reply is queued.
pub(crate) fn req_may_recv(sock: &Socket) -> Result {
    let inner = sock.inner.lock();
    // SAFETY: `sk` is valid.
    let empty = unsafe { sys::sp_sk_receive_queue_empty(sock.sk()) };
    match &inner.pattern {
        Pattern::Req(Req {
            state: ReqState::Idle,
            ..
        }) if empty => Err(errno(ESTATE)),
        _ => Ok(()),
    }
}

/// REQ recv: the offset of the body if `skb` answers the current request.
pub(crate) fn req_received(sock: &Socket, skb: &Skb, off: usize, peek: bool) -> Option<usize> {
    let mut tag = [0u8; wire::TAG_LEN];
    let id = skb
        .copy_bits(off, &mut tag)
        .then(|| wire::reply_id(&tag))
        .flatten()?;
    let mut inner = sock.inner.lock();
    let Pattern::Req(req) = &mut inner.pattern else {
        return None;
    };
    // Usually `Answered`; `Waiting` when the reply was held back by a full receive buffer
    // and queued later by `resume`.
    let current = match &req.state {
        ReqState::Answered(want) => *want,
        ReqState::Waiting(p) => p.id,
        ReqState::Idle => return None,
    };
    if id != current {
        // A reply to a request since replaced.
        return None;
    }
    if !peek {
        req.state = ReqState::Idle;
    }
    Some(wire::TAG_LEN)
}

/// Reads the tag stack at the front of a request.
fn backtrace(skb: &Skb, off: usize, len: usize) -> Option<(wire::Backtrace, usize)> {
    let mut tags = [0u8; wire::TAG_LEN * wire::MAX_HOPS];
    let n = len.min(tags.len());
    if !skb.copy_bits(off, &mut tags[..n]) {
        return None;
    }
    wire::Backtrace::parse(&tags[..n]).ok()
}

/// REP, softirq: a request with a well-formed backtrace no deeper than the hop limit.
pub(crate) fn rep_acceptable(skb: &Skb, off: usize, len: usize) -> bool {
    backtrace(skb, off, len).is_some()
}

/// REP recv: remembers what the reply owes, to `pipe`; returns the offset of the body.
pub(crate) fn rep_received(
    sock: &Socket,
    skb: &Skb,
    off: usize,
    len: usize,
    pipe: u32,
    peek: bool,
) -> Option<usize> {
    let (bt, body) = backtrace(skb, off, len)?;
    if !peek {
        if let Pattern::Rep(rep) = &mut sock.inner.lock().pattern {
            rep.owed = Some(Owed { pipe, bt });
        }
    }
    Some(body)
}

/// REP poll: writable only while a request is owed an answer.
pub(crate) fn rep_owes(inner: &Inner) -> bool {
    matches!(&inner.pattern, Pattern::Rep(Rep { owed: Some(_) }))
}

/// The jiffies `ms` milliseconds from now.
fn deadline(ms: u32) -> usize {
    // SAFETY: Plain conversion and read of the clock.
    unsafe { sys::sp_jiffies().wrapping_add(sys::__msecs_to_jiffies(ms)) }
}

/// The resend timer fired: the request outstanding, if its time came without a reply, goes
/// out again; if it is younger, the timer waits for its time.
fn resend(sock: &Socket) {
    let mut inner = sock.inner.lock();
    if inner.closing {
        // A lingering REQ's request went out once; it is not resent.
        return;
    }
    let ivl = inner.opts.resend_ivl;
    let Pattern::Req(Req {
        state: ReqState::Waiting(pending),
        ..
    }) = &mut inner.pattern
    else {
        return;
    };
    // SAFETY: Plain read of the clock.
    let now = unsafe { sys::sp_jiffies() };
    // Compared as jiffies are, across wrap-around.
    if (now.wrapping_sub(pending.due) as isize) < 0 {
        sock.resend_timer.arm_by(pending.due);
        return;
    }
    pending.due = deadline(ivl);
    sock.resend_timer.arm_by(pending.due);
    if let Some(p) = dispatch(&mut inner) {
        p.kick();
    }
}

/// The REQ resend timer (softirq).
///
/// # Safety
///
/// The timer core calls it with the `timer_list` of a [`Socket`]'s `resend_timer`.
pub(crate) unsafe extern "C" fn resend_timer_fn(t: *mut sys::timer_list) {
    // SAFETY: The timer is embedded in a live `Socket`: `close` shuts it down before the
    // socket can go away.
    let sock = unsafe { &*kernel::container_of!(t.cast::<Timer>(), Socket, resend_timer) };
    resend(sock);
}
