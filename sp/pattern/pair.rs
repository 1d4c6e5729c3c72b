// SPDX-License-Identifier: GPL-2.0

//! PAIR: one peer at a time, nothing dropped.
//!
//! The first pipe up is the peer; another that comes up while it is there is closed. What
//! is sent waits in the backlog while there is no peer or its queue is full (see
//! `reliable`). Version 1 (nng's pair1, the default) puts a hop count in front of each
//! message, 1 as we send it, and drops what arrives counted 0 or beyond SP_MAXTTL, and the
//! connection of a peer that sends a message too short for one or counted beyond 0xff
//! (`proto::pair`); version 0 (nanomsg's and nng's pair0) has no header. SP_PAIR_VERSION
//! picks it before the first bind or connect.

use super::reliable::{self, Backlog, Reliable, PIPE_BYTES};
use super::{int, max_ttl, Pattern};
use crate::proto::header;
use crate::proto::pair::{self as wire, Hops};
use crate::skb::SkbQueue;
use crate::sock::{Core, Msg, Peer, Socket, UserMsg};
use crate::sys;
use kernel::prelude::*;

/// PAIR state.
pub(crate) struct Pair {
    backlog: Backlog,
    /// The pipe that is our peer.
    peer: Option<u32>,
    /// Version 1: hop counts.
    v1: bool,
    /// SP_MAXTTL, for version 1's hop counts.
    max_ttl: u8,
}

impl Pair {
    /// Where the user's payload starts in a message.
    fn body(&self) -> usize {
        if self.v1 {
            wire::HOPS_LEN
        } else {
            0
        }
    }
}

impl Reliable for Pair {
    fn backlog(&mut self) -> &mut Backlog {
        &mut self.backlog
    }

    fn pick(&mut self, core: &mut Core) -> Option<Peer> {
        let id = self.peer?;
        core.peer(id).filter(|p| p.has_room(PIPE_BYTES)).cloned()
    }
}

impl Pattern for Pair {
    const RELIABLE: bool = true;

    fn new(_seed: u32) -> Result<Self> {
        Ok(Self {
            backlog: Backlog::new(),
            peer: None,
            v1: sys::SP_PAIR_VERSION_DEFAULT == 1,
            max_ttl: sys::SP_MAXTTL_DEFAULT as u8,
        })
    }

    /// The new pipe is the peer, unless we have one: then it is closed.
    fn pipe_ready(&mut self, core: &mut Core, peer: &Peer) -> Option<Peer> {
        let taken = self
            .peer
            .is_some_and(|id| id != peer.id() && core.peer(id).is_some_and(Peer::ready));
        if taken {
            peer.close();
            return None;
        }
        self.peer = Some(peer.id());
        reliable::flush(self, core);
        None
    }

    /// What the pipe had not written goes to the next peer.
    fn pipe_removed(&mut self, _core: &mut Core, id: u32, unsent: SkbQueue) -> Option<Peer> {
        if self.peer == Some(id) {
            self.peer = None;
        }
        self.backlog.reclaim(unsent);
        None
    }

    fn pipe_room(&mut self, core: &mut Core, _peer: &Peer) {
        reliable::flush(self, core);
    }

    fn unsent(&self) -> bool {
        !self.backlog.is_empty()
    }

    /// Only the peer's messages, and in version 1 only those with a good hop count.
    fn accept(&mut self, core: &mut Core, msg: &Msg<'_>) -> bool {
        if self.peer != Some(msg.pipe()) {
            // A refused pipe's, before it is gone.
            return false;
        }
        if !self.v1 {
            return true;
        }
        let mut buf = [0u8; wire::HOPS_LEN];
        let head = msg.head(&mut buf).unwrap_or_default();
        match wire::check(head, self.max_ttl.into()) {
            Hops::Deliver => return true,
            Hops::Drop => {}
            Hops::Malformed => {
                if let Some(p) = core.peer(msg.pipe()) {
                    p.close();
                }
            }
        }
        core.dropped(1);
        false
    }

    fn close(&mut self, _core: &mut Core, keep_unsent: bool) -> bool {
        reliable::close(self, keep_unsent)
    }

    fn send(sock: &Socket, msg: &UserMsg) -> Result<usize> {
        let v1 = sock.with(|_, p: &mut Pair| Ok(p.v1))?;
        let head: &[u8] = if v1 { &wire::DIRECT } else { &[] };
        reliable::send::<Self>(sock, msg, head)
    }

    fn received(sock: &Socket, _msg: &Msg<'_>, _peek: bool) -> Option<usize> {
        sock.with(|_, p: &mut Pair| Ok(p.body())).ok()
    }

    fn setopt(&mut self, core: &mut Core, name: u32, val: &[u8]) -> Option<Result> {
        let r = match name {
            sys::SP_PAIR_VERSION => int(val).and_then(|v| {
                let (v1, proto) = match v {
                    0 => (false, header::PAIR0),
                    1 => (true, header::PAIR1),
                    _ => return Err(EINVAL),
                };
                core.set_protocol(proto, proto)?;
                self.v1 = v1;
                Ok(())
            }),
            sys::SP_MAXTTL => max_ttl(val).map(|v| self.max_ttl = v),
            _ => return None,
        };
        Some(r)
    }

    fn getopt(&self, _core: &Core, name: u32) -> Option<i32> {
        match name {
            sys::SP_PAIR_VERSION => Some(self.v1.into()),
            sys::SP_MAXTTL => Some(self.max_ttl.into()),
            _ => None,
        }
    }
}
