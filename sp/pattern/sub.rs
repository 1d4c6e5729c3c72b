// SPDX-License-Identifier: GPL-2.0

//! SUB: what matches a subscription, filtered before it is queued.
//!
//! SUB filters in the receive path, in softirq, before a message is queued for the user: the
//! subscriptions are a trie (`proto::topic`) walked over the first bytes of the message, so
//! an unwanted message costs no wake-up and no copy, whatever the number of subscriptions.

use super::Pattern;
use crate::proto::topic::{self, Step, Store, TopicError, Topics};
use crate::sock::{errno, Core, Msg, Socket, UserMsg};
use crate::sys;
use kernel::prelude::*;

/// The trie's nodes in a kernel vector; grown under the socket's spinlock, so atomically.
struct Nodes(KVec<topic::Node>);

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

impl Pattern for Sub {
    /// No subscription: nothing is delivered.
    fn new(_seed: u32) -> Result<Self> {
        Ok(Self {
            topics: Topics::new(Nodes(KVec::new())),
        })
    }

    /// Whether the message matches a subscription.
    fn accept(&mut self, _core: &mut Core, msg: &Msg<'_>) -> bool {
        let topics = &self.topics;
        if topics.is_empty() {
            return false;
        }
        let mut cursor = topics.cursor();
        let mut chunk = [0u8; 64];
        let mut pos = 0;
        // At least one feed, even of nothing: the empty prefix matches the empty message.
        loop {
            let n = (msg.len() - pos).min(chunk.len());
            if n > 0 && !msg.copy(pos, &mut chunk[..n]) {
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

    /// A SUB sends nothing.
    fn writable(&self, _core: &Core) -> Option<bool> {
        Some(false)
    }

    fn send(_sock: &Socket, _msg: &UserMsg) -> Result<usize> {
        Err(errno(sys::EOPNOTSUPP))
    }

    /// SP_SUBSCRIBE / SP_UNSUBSCRIBE: the prefix is the whole value.
    fn setopt(&mut self, _core: &mut Core, name: u32, val: &[u8]) -> Option<Result> {
        let r = match name {
            sys::SP_SUBSCRIBE => self.topics.subscribe(val).map(drop),
            sys::SP_UNSUBSCRIBE => self.topics.unsubscribe(val),
            _ => return None,
        };
        Some(r.map_err(|e| match e {
            TopicError::TooLong => EINVAL,
            TopicError::NotFound => errno(sys::ENOENT),
            TopicError::NoMem => ENOMEM,
        }))
    }
}
