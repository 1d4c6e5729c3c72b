// SPDX-License-Identifier: GPL-2.0

//! REQ: one request at a time, resent until answered.
//!
//! A new request cancels the old; it goes to a ready pipe of the highest send priority that
//! has one, with nothing queued if possible, round-robin (`proto::balance`), is resent every
//! SP_RESEND_IVL and at once elsewhere when its pipe dies, and only a reply carrying its id
//! is delivered. The wire format lives in `proto::reqrep`.

use super::{before, deadline, estate, max_ttl, positive_ms, Pattern};
use crate::proto::balance::Candidate;
use crate::proto::{frame, reqrep as wire};
use crate::skb::{Skb, SkbQueue};
use crate::sock::{errno, Core, Msg, Peer, Socket, UserMsg, PIPE_TXQ_MAX, SMALL_SEND};
use crate::sync::jiffies;
use crate::sys;
use kernel::prelude::*;

/// A request kept until it is answered or replaced.
struct Pending {
    id: u32,
    /// The framed request (length, id tag, body), charged to our send buffer; clones go out.
    skb: Skb,
    /// The pipe the last copy went out on.
    pipe: Option<u32>,
    /// When (jiffies) to send it again if no reply came.
    due: usize,
}

enum State {
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
    state: State,
    /// SP_RESEND_IVL, ms.
    resend_ivl: u32,
    /// SP_MAXTTL: kept for devices (a reply to a REQ carries one tag).
    max_ttl: u8,
}

/// Picks the pipe for the pending request's next copy: the highest send priority first,
/// idle before busy, round-robin; makes the copy with `copy`. `None` if no pipe can take it
/// or no copy could be made (the resend timer tries again).
fn choose(
    core: &mut Core,
    req: &mut Req,
    copy: impl FnOnce(&Skb) -> Option<Skb>,
) -> Option<(Peer, Skb)> {
    let State::Waiting(pending) = &mut req.state else {
        return None;
    };
    let choice = core.pick(|p| {
        let queued = p.queued();
        (p.ready() && queued < PIPE_TXQ_MAX).then_some(Candidate {
            prio: p.prio(),
            busy: queued > 0,
        })
    });
    pending.pipe = None;
    let peer = choice?;
    let copy = copy(&pending.skb)?;
    pending.pipe = Some(peer.id());
    Some((peer, copy))
}

/// Queues the pending request's next copy on the pipe [`choose`] picks; returns that pipe,
/// to transmit on.
fn dispatch(core: &mut Core, req: &mut Req) -> Option<Peer> {
    let (peer, copy) = choose(core, req, Skb::clone_atomic)?;
    peer.push(copy);
    Some(peer)
}

impl Req {
    /// Whether a request waits for a pipe to take it, or (`on`) went out on pipe `on`.
    fn waits_on(&self, on: Option<u32>) -> bool {
        matches!(&self.state, State::Waiting(p) if p.pipe == on)
    }
}

impl Pattern for Req {
    fn new(seed: u32) -> Result<Self> {
        Ok(Self {
            ids: wire::RequestIds::new(seed),
            state: State::Idle,
            resend_ivl: sys::SP_RESEND_IVL_DEFAULT,
            max_ttl: sys::SP_MAXTTL_DEFAULT as u8,
        })
    }

    /// A request waiting for a pipe goes out on this one.
    fn pipe_ready(&mut self, core: &mut Core, _peer: &Peer) -> Option<Peer> {
        self.waits_on(None).then(|| dispatch(core, self)).flatten()
    }

    /// A request that went out on the pipe goes out again elsewhere, at once.
    fn pipe_removed(&mut self, core: &mut Core, id: u32, _unsent: SkbQueue) -> Option<Peer> {
        self.waits_on(Some(id))
            .then(|| dispatch(core, self))
            .flatten()
    }

    /// The reply to the request outstanding is delivered, and answers it; any other reply
    /// (stale, forged, malformed) is dropped.
    fn accept(&mut self, _core: &mut Core, msg: &Msg<'_>) -> bool {
        let mut tag = [0u8; wire::TAG_LEN];
        let Some(id) = msg
            .copy(0, &mut tag)
            .then(|| wire::reply_id(&tag))
            .flatten()
        else {
            return false;
        };
        if !matches!(&self.state, State::Waiting(p) if p.id == id) {
            return false;
        }
        self.state = State::Answered(id);
        true
    }

    /// A request no pipe has taken yet.
    fn unsent(&self) -> bool {
        self.waits_on(None)
    }

    fn close(&mut self, _core: &mut Core, keep_unsent: bool) -> bool {
        if keep_unsent && self.waits_on(None) {
            return true;
        }
        self.state = State::Idle;
        false
    }

    /// The message becomes the pending request, replacing any other.
    fn send(sock: &Socket, msg: &UserMsg) -> Result<usize> {
        let len = msg.len();
        let hdr = frame::LEN_PREFIX + wire::TAG_LEN;
        let mut skb = sock.alloc_send(hdr, msg)?;
        // Unread replies answer requests this one replaces. One to the old request may still
        // be queued between here and the switch below; recv knows it by its id.
        sock.purge_received();
        let target = sock.with(|core, req: &mut Req| {
            if core.closing() {
                return Err(errno(sys::EPIPE));
            }
            let due = deadline(req.resend_ivl);
            let id = req.ids.next_id();
            let head = skb.head_mut(hdr);
            head[..frame::LEN_PREFIX].copy_from_slice(&frame::encode_len(len + wire::TAG_LEN));
            head[frame::LEN_PREFIX..].copy_from_slice(&wire::request_tag(id));
            // A new request cancels the old one.
            req.state = State::Waiting(Pending {
                id,
                skb,
                pipe: None,
                due,
            });
            // Left running when the reply comes: a timer that fires early is armed again for
            // the request then outstanding, if any (see `timer`).
            sock.arm_timer_by(due);
            Ok(if len <= SMALL_SEND {
                // Written straight from the pending request (see below).
                choose(core, req, |skb| Some(skb.share())).map(|(p, skb)| (p, Some(skb)))
            } else {
                dispatch(core, req).map(|p| (p, None))
            })
        })?;
        match target {
            // A small request is linear: its bytes go to TCP from our own reference to it,
            // without a clone or a trip through the pipe's queue.
            Some((p, Some(skb))) if skb.len() == skb.linear().len() => {
                p.send_frame(skb.linear())?
            }
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

    /// A state error unless a request is outstanding or its reply is queued.
    fn may_recv(sock: &Socket) -> Result {
        sock.with(|_, req: &mut Req| {
            if matches!(req.state, State::Idle) && sock.nothing_received() {
                return Err(estate());
            }
            Ok(())
        })
    }

    /// The reply to the current request; one to a request since replaced is dropped.
    fn received(sock: &Socket, msg: &Msg<'_>, peek: bool) -> Option<usize> {
        let mut tag = [0u8; wire::TAG_LEN];
        let id = msg
            .copy(0, &mut tag)
            .then(|| wire::reply_id(&tag))
            .flatten()?;
        sock.with(|_, req: &mut Req| {
            // Usually `Answered`; `Waiting` when the reply was held back by a full receive
            // buffer and queued later by `resume`.
            let current = match &req.state {
                State::Answered(want) => *want,
                State::Waiting(p) => p.id,
                State::Idle => return Err(EINVAL),
            };
            if id != current {
                return Err(EINVAL);
            }
            if !peek {
                req.state = State::Idle;
            }
            Ok(wire::TAG_LEN)
        })
        .ok()
    }

    /// The request outstanding, if its time came without a reply, goes out again; if it is
    /// younger, the timer waits for its time.
    fn timer(sock: &Socket) {
        let _ = sock.with(|core, req: &mut Req| {
            if core.closing() {
                // A lingering REQ's request went out once; it is not resent.
                return Ok(());
            }
            let ivl = req.resend_ivl;
            let State::Waiting(pending) = &mut req.state else {
                return Ok(());
            };
            if before(jiffies(), pending.due) {
                sock.arm_timer_by(pending.due);
                return Ok(());
            }
            pending.due = deadline(ivl);
            sock.arm_timer_by(pending.due);
            if let Some(p) = dispatch(core, req) {
                p.kick();
            }
            Ok(())
        });
    }

    fn setopt(&mut self, _core: &mut Core, name: u32, val: &[u8]) -> Option<Result> {
        let set = || match name {
            sys::SP_RESEND_IVL => {
                self.resend_ivl = positive_ms(val)?;
                Ok(())
            }
            _ => {
                self.max_ttl = max_ttl(val)?;
                Ok(())
            }
        };
        matches!(name, sys::SP_RESEND_IVL | sys::SP_MAXTTL).then(set)
    }

    fn getopt(&self, _core: &Core, name: u32) -> Option<i32> {
        match name {
            sys::SP_RESEND_IVL => Some(self.resend_ivl as i32),
            sys::SP_MAXTTL => Some(self.max_ttl.into()),
            _ => None,
        }
    }
}
