// SPDX-License-Identifier: GPL-2.0

//! The PUB and SUB patterns.
//!
//! PUB sends every message to every ready pipe: a small one copied onto the end of each pipe's
//! last queued buffer, a large one as one skb built from the user's data with one clone
//! (sharing the payload) per subscriber. It never blocks: a subscriber whose queue is full
//! (SO_SNDBUF bytes or `PIPE_TXQ_MAX` frames behind TCP's own buffer) loses that message,
//! and the socket counts it (SP_DROPS). Anything a subscriber sends is ignored. A message
//! sent with MSG_MORE (or by sendmmsg(), but for the last) is held, up to a batch, to go to
//! TCP with the following ones in one call: fewer, fuller segments.
//!
//! SUB filters in the receive path, in softirq, before a message is queued for the user: the
//! subscriptions are a trie (`proto::topic`) walked over the first bytes of the message, so
//! an unwanted message costs no wake-up and no copy, whatever the number of subscriptions.

use crate::pipe::{Pipe, PipeState};
use crate::proto::frame;
use crate::proto::topic::{self, Step, Store, TopicError, Topics};
use crate::skb::Skb;
use crate::sock::{errno, Inner, Pattern, Socket, SMALL_SEND};
use crate::sys;
use kernel::prelude::*;

/// The trie's nodes in a kernel vector; grown under the socket's spinlock, so atomically.
pub(crate) struct Nodes(KVec<topic::Node>);

impl Store for Nodes {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn get(&self, i: usize) -> Option<&topic::Node> {
        self.0.get(i)
    }

    fn get_mut(&mut self, i: usize) -> Option<&mut topic::Node> {
        self.0.get_mut(i)
    }

    fn push(&mut self, node: topic::Node) -> Result<(), topic::NoMem> {
        self.0.push(node, GFP_ATOMIC).map_err(|_| topic::NoMem)
    }
}

/// SUB state: the subscriptions.
pub(crate) struct Sub {
    topics: Topics<Nodes>,
}

impl Sub {
    /// No subscription: nothing is delivered.
    pub(crate) fn new() -> Self {
        Self {
            topics: Topics::new(Nodes(KVec::new())),
        }
    }
}

/// SUB, softirq: does the message at `off..off + len` of `skb` match a subscription?
pub(crate) fn sub_wants(inner: &Inner, skb: &Skb, off: usize, len: usize) -> bool {
    let Pattern::Sub(sub) = &inner.pattern else {
        return false;
    };
    let topics = &sub.topics;
    if topics.is_empty() {
        return false;
    }
    let mut cursor = topics.cursor();
    let mut chunk = [0u8; 64];
    let mut pos = 0;
    // At least one feed, even of nothing: the empty prefix matches the empty message.
    loop {
        let n = (len - pos).min(chunk.len());
        if n > 0 && !skb.copy_bits(off + pos, &mut chunk[..n]) {
            return false;
        }
        match cursor.feed(topics, &chunk[..n]) {
            Step::Match => return true,
            Step::NoMatch => return false,
            Step::More if n == 0 => return cursor.end(),
            Step::More => pos += n,
        }
    }
}

/// SP_SUBSCRIBE / SP_UNSUBSCRIBE.
pub(crate) fn set_subscription(sock: &Socket, prefix: &[u8], add: bool) -> Result {
    let mut inner = sock.inner.lock();
    let Pattern::Sub(sub) = &mut inner.pattern else {
        return Err(errno(sys::ENOPROTOOPT));
    };
    let r = if add {
        sub.topics.subscribe(prefix).map(drop)
    } else {
        sub.topics.unsubscribe(prefix)
    };
    r.map_err(|e| match e {
        TopicError::TooLong => EINVAL,
        TopicError::NotFound => errno(sys::ENOENT),
        TopicError::NoMem => ENOMEM,
    })
}

/// The longest prefix SP_SUBSCRIBE takes.
pub(crate) const MAX_PREFIX: usize = topic::MAX_PREFIX;

/// The size of a PUB's [`Socket::staging`]: a small message, framed. Small messages are
/// copied into each subscriber's queue, packed with others into shared buffers; larger ones
/// are queued as one skb, cloned per subscriber.
pub(crate) const STAGING: usize = frame::LEN_PREFIX + SMALL_SEND;

/// PUB send: a copy to every ready subscriber that has room, never blocking.
///
/// The copies go to TCP from the workqueue, not from the sender's own call: a publisher
/// sending one message after another returns at once, while the worker, typically on another
/// CPU, hands TCP everything queued by then in one call. That batches frames into segments as
/// a library's I/O thread does, without the sender waiting for the TCP stack per message.
/// A small message costs no allocation: it is framed in the socket's staging buffer and
/// copied onto the end of each subscriber's last queued buffer.
pub(crate) fn pub_send(sock: &Socket, msg: *mut sys::msghdr, len: usize) -> Result<usize> {
    // SAFETY: The socket core passes a valid msghdr.
    let more = unsafe { (*msg).msg_flags } & (sys::MSG_MORE | sys::MSG_BATCH) != 0;
    let hdr = frame::LEN_PREFIX;
    if len <= SMALL_SEND {
        let mut staging = sock.staging.lock();
        let frame = staging.get_mut(..hdr + len).ok_or(EINVAL)?;
        frame[..hdr].copy_from_slice(&frame::encode_len(len));
        Socket::copy_from_msg(&mut frame[hdr..], msg)?;
        let frame = &*frame;
        fan_out(sock, |p, cap| p.offer_frame(frame, cap, more))?;
    } else {
        let mut skb = sock.alloc_send(hdr, msg, len)?;
        skb.head_mut(hdr).copy_from_slice(&frame::encode_len(len));
        fan_out(sock, |p, cap| p.offer(&skb, cap, more))?;
        // The clones keep the payload; the original's send-buffer charge ends here.
    }
    Ok(len)
}

/// Offers a message to every ready pipe with `offer(pipe, cap)` (see [`Pipe::offer`]),
/// counting those that drop it.
fn fan_out(sock: &Socket, offer: impl Fn(&Pipe, usize) -> Option<bool>) -> Result {
    let cap = sock.sndbuf();
    let mut inner = sock.inner.lock();
    if inner.closing {
        return Err(errno(sys::EPIPE));
    }
    let mut dropped = 0;
    for p in inner.pipes.iter() {
        if p.state() != PipeState::Ready {
            continue;
        }
        match offer(p, cap) {
            None => dropped += 1,
            // More to come: a short queue waits to go out with the next.
            Some(false) => {}
            Some(true) => p.kick(),
        }
    }
    inner.drops += dropped;
    Ok(())
}
