// SPDX-License-Identifier: GPL-2.0

//! BUS: every message to every directly connected peer, and from all of them.
//!
//! Sending is PUB's (`send_all`: a peer whose queue is full loses the message, counted in
//! SP_DROPS); receiving is PULL's. Nothing received is sent on: that is a device's job.

use super::{send_all, Pattern};
use crate::proto::frame;
use crate::sock::{Socket, UserMsg, SMALL_SEND};
use kernel::prelude::*;

/// BUS state: none.
pub(crate) struct Bus;

impl Pattern for Bus {
    const STAGING: usize = frame::LEN_PREFIX + SMALL_SEND;

    fn new(_seed: u32) -> Result<Self> {
        Ok(Self)
    }

    fn send(sock: &Socket, msg: &UserMsg) -> Result<usize> {
        send_all::<Self>(sock, msg, &[])
    }
}
