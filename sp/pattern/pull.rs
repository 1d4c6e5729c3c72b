// SPDX-License-Identifier: GPL-2.0

//! PULL: every message from every PUSH, fair-queued; PULL sends nothing.
//!
//! Each pipe's messages are queued for the user as they arrive, each pipe reading while the
//! receive buffer has room, so that no PUSH starves another: the socket core's receive path
//! is all of it.

use super::Pattern;
use crate::sock::{errno, Core, Socket, UserMsg};
use crate::sys;
use kernel::prelude::*;

/// PULL state: none.
pub(crate) struct Pull;

impl Pattern for Pull {
    fn new(_seed: u32) -> Result<Self> {
        Ok(Self)
    }

    fn writable(&self, _core: &Core) -> Option<bool> {
        Some(false)
    }

    fn send(_sock: &Socket, _msg: &UserMsg) -> Result<usize> {
        Err(errno(sys::EOPNOTSUPP))
    }
}
