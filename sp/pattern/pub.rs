// SPDX-License-Identifier: GPL-2.0

//! PUB: every message to every subscriber, never blocking.
//!
//! A small message is copied onto the end of each pipe's last queued buffer, a large one is
//! one skb built from the user's data with one clone (sharing the payload) per subscriber.
//! A subscriber whose queue is full (SO_SNDBUF bytes or `PIPE_TXQ_MAX` frames behind TCP's
//! own buffer) loses that message, and the socket counts it (SP_DROPS). Anything a
//! subscriber sends is ignored. A message sent with MSG_MORE (or by sendmmsg(), but for the
//! last) is held, up to a batch, to go to TCP with the following ones in one call: fewer,
//! fuller segments.

use super::Pattern;
use crate::proto::frame;
use crate::sock::{errno, Core, Msg, Peer, Socket, UserMsg, SMALL_SEND};
use crate::sys;
use kernel::prelude::*;

/// PUB state: none.
pub(crate) struct Pub;

impl Pattern for Pub {
    /// A small message, framed. Small messages are copied into each subscriber's queue,
    /// packed with others into shared buffers; larger ones are queued as one skb, cloned per
    /// subscriber.
    const STAGING: usize = frame::LEN_PREFIX + SMALL_SEND;
    const RECEIVES: bool = false;

    fn new(_seed: u32) -> Result<Self> {
        Ok(Self)
    }

    fn accept(&mut self, _core: &mut Core, _msg: &Msg<'_>) -> bool {
        false
    }

    /// A copy to every ready subscriber that has room.
    ///
    /// The copies go to TCP from the workqueue, not from the sender's own call: a publisher
    /// sending one message after another returns at once, while the worker, typically on
    /// another CPU, hands TCP everything queued by then in one call. That batches frames into
    /// segments as a library's I/O thread does, without the sender waiting for the TCP stack
    /// per message. A small message costs no allocation: it is framed in the socket's staging
    /// buffer and copied onto the end of each subscriber's last queued buffer.
    fn send(sock: &Socket, msg: &UserMsg) -> Result<usize> {
        let len = msg.len();
        let more = msg.more();
        let hdr = frame::LEN_PREFIX;
        if len <= SMALL_SEND {
            let mut staging = sock.staging();
            let frame = staging.get_mut(..hdr + len).ok_or(EINVAL)?;
            frame[..hdr].copy_from_slice(&frame::encode_len(len));
            msg.copy_to(&mut frame[hdr..])?;
            let frame = &*frame;
            fan_out(sock, |p, cap| p.offer_frame(frame, cap, more))?;
        } else {
            let mut skb = sock.alloc_send(hdr, msg)?;
            skb.head_mut(hdr).copy_from_slice(&frame::encode_len(len));
            fan_out(sock, |p, cap| p.offer(&skb, cap, more))?;
            // The clones keep the payload; the original's send-buffer charge ends here.
        }
        Ok(len)
    }

    fn may_recv(_sock: &Socket) -> Result {
        Err(errno(sys::EOPNOTSUPP))
    }
}

/// Offers a message to every ready pipe with `offer(pipe, cap)` (see [`Peer::offer`]),
/// counting those that drop it.
fn fan_out(sock: &Socket, offer: impl Fn(&Peer, usize) -> Option<bool>) -> Result {
    let cap = sock.sndbuf();
    sock.with(|core, _: &mut Pub| {
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
