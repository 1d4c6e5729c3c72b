// SPDX-License-Identifier: GPL-2.0

//! PUSH: each message to one PULL, never dropped.
//!
//! A message goes to a ready pipe of the highest send priority that has one, round-robin
//! (`proto::balance`), among those whose queue behind TCP is short; while none can take it, it waits in the socket's backlog (see `reliable`), bounded
//! by SO_SNDBUF. What a pipe that dies had not started to write goes to another. PUSH
//! receives nothing.

use super::reliable::{self, Backlog, Reliable, PIPE_BYTES};
use super::Pattern;
use crate::proto::balance::Candidate;
use crate::skb::SkbQueue;
use crate::sock::{errno, Core, Msg, Peer, Socket, UserMsg};
use crate::sys;
use kernel::prelude::*;

/// PUSH state: what no pipe has taken yet.
pub(crate) struct Push {
    backlog: Backlog,
}

impl Reliable for Push {
    fn backlog(&mut self) -> &mut Backlog {
        &mut self.backlog
    }

    fn pick(&mut self, core: &mut Core) -> Option<Peer> {
        core.pick(|p| {
            // Strict round-robin among those that can take it: an idle-first choice would
            // favour the quickest reader, and the pipeline is meant to spread the work.
            p.has_room(PIPE_BYTES).then(|| Candidate {
                prio: p.prio(),
                busy: false,
            })
        })
    }
}

impl Pattern for Push {
    const RELIABLE: bool = true;

    fn new(_seed: u32) -> Result<Self> {
        Ok(Self {
            backlog: Backlog::new(),
        })
    }

    fn pipe_ready(&mut self, core: &mut Core, _peer: &Peer) -> Option<Peer> {
        reliable::flush(self, core);
        None
    }

    fn pipe_removed(&mut self, core: &mut Core, _id: u32, unsent: SkbQueue) -> Option<Peer> {
        self.backlog.reclaim(unsent);
        reliable::flush(self, core);
        None
    }

    fn pipe_room(&mut self, core: &mut Core, _peer: &Peer) {
        reliable::flush(self, core);
    }

    fn unsent(&self) -> bool {
        !self.backlog.is_empty()
    }

    /// A PULL sends nothing; whatever it does send is ignored.
    fn accept(&mut self, _core: &mut Core, _msg: &Msg<'_>) -> bool {
        false
    }

    fn close(&mut self, _core: &mut Core, keep_unsent: bool) -> bool {
        reliable::close(self, keep_unsent)
    }

    fn send(sock: &Socket, msg: &UserMsg) -> Result<usize> {
        reliable::send::<Self>(sock, msg, &[])
    }

    fn may_recv(_sock: &Socket) -> Result {
        Err(errno(sys::EOPNOTSUPP))
    }
}
