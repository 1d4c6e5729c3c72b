// SPDX-License-Identifier: GPL-2.0

//! The send side that never drops a message: PUSH's and PAIR's.
//!
//! A message sent is an skb charged to the socket's send buffer until TCP has taken it, so
//! that SO_SNDBUF bounds everything a sender has queued (in the [`Backlog`], waiting for a
//! pipe, and on the pipes): send blocks (per SO_SNDTIMEO, or fails with EAGAIN) when it is
//! full, and POLLOUT is the core's own. A pipe takes messages while its queue behind TCP is
//! short; when it drains, or a pipe comes up, the backlog moves on; when a pipe goes, what it
//! had not started to write comes back to the front of the backlog, for another pipe.

use super::Pattern;
use crate::proto::frame;
use crate::skb::{Skb, SkbQueue};
use crate::sock::{errno, Core, Peer, Socket, UserMsg};
use crate::sys;
use kernel::prelude::*;

/// Bytes a pipe may hold behind TCP's own buffer before a reliable sender looks elsewhere:
/// a slow peer holds little, the others get the rest.
pub(crate) const PIPE_BYTES: usize = 64 * 1024;

/// Messages no pipe has taken yet, oldest first.
pub(crate) struct Backlog(SkbQueue);

/// A pattern that sends through a [`Backlog`].
pub(crate) trait Reliable: Pattern {
    fn backlog(&mut self) -> &mut Backlog;
    /// The pipe the next message goes to, if one can take it now.
    fn pick(&mut self, core: &mut Core) -> Option<Peer>;
}

impl Backlog {
    pub(crate) fn new() -> Self {
        Self(SkbQueue::new())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Drops everything (the socket is closed for good).
    pub(crate) fn clear(&mut self) {
        self.0.purge();
    }

    /// Puts `unsent`, which a pipe that went had not written, back in front, in order.
    pub(crate) fn reclaim(&mut self, mut unsent: SkbQueue) {
        if unsent.is_empty() {
            return;
        }
        while let Some(skb) = self.0.pop() {
            unsent.push(skb);
        }
        self.0 = unsent;
    }
}

/// Hands the backlog, in order, to the pipes `p` picks, while they can take it.
pub(crate) fn flush<P: Reliable>(p: &mut P, core: &mut Core) {
    while !p.backlog().is_empty() {
        let Some(peer) = p.pick(core) else {
            return;
        };
        let Some(skb) = p.backlog().0.pop() else {
            return;
        };
        peer.push(skb);
        peer.kick();
    }
}

/// sendmsg() of a reliable pattern: the message, `head` (a hop count) in front of its body,
/// joins the backlog, which goes to pipes at once if they can take it.
pub(crate) fn send<P: Reliable>(sock: &Socket, msg: &UserMsg, head: &[u8]) -> Result<usize> {
    let len = msg.len();
    let hdr = frame::LEN_PREFIX + head.len();
    let mut skb: Skb = sock.alloc_send(hdr, msg)?;
    let h = skb.head_mut(hdr);
    h[..frame::LEN_PREFIX].copy_from_slice(&frame::encode_len(head.len() + len));
    h[frame::LEN_PREFIX..].copy_from_slice(head);
    sock.with(|core, p: &mut P| {
        if core.closing() {
            return Err(errno(sys::EPIPE));
        }
        p.backlog().0.push(skb);
        flush(p, core);
        Ok(len)
    })
}

/// [`Pattern::close`] of a reliable pattern.
pub(crate) fn close<P: Reliable>(p: &mut P, keep_unsent: bool) -> bool {
    if keep_unsent && !p.backlog().is_empty() {
        return true;
    }
    p.backlog().clear();
    false
}
