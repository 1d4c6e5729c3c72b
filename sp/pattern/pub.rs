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

use super::{send_all, Pattern};
use crate::proto::frame;
use crate::sock::{errno, Core, Msg, Socket, UserMsg, SMALL_SEND};
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

    /// A copy to every ready subscriber that has room (see [`send_all`]).
    fn send(sock: &Socket, msg: &UserMsg) -> Result<usize> {
        send_all::<Self>(sock, msg, &[])
    }

    fn may_recv(_sock: &Socket) -> Result {
        Err(errno(sys::EOPNOTSUPP))
    }
}
