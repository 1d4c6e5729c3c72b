// SPDX-License-Identifier: GPL-2.0

//! SURVEYOR: asks every respondent, takes the answers until a deadline.
//!
//! A survey goes to every ready pipe (as PUB sends: `send_all`) with a new survey id in
//! front, the tag of a request id (`proto::reqrep`), and cancels the survey before it:
//! unread answers to that one are dropped, and so is any answer whose first tag is not the
//! current survey's (counted in SP_DROPS, as are malformed ones). SP_SURVEY_DEADLINE ms
//! after the survey went out, the timer ends it: answers that came in time are still read,
//! then recv fails with ETIMEDOUT once (poll reports POLLIN until it has), and after that
//! with EPROTO, as before any survey. POLLOUT is always set: a new survey may be sent.

use super::{before, deadline, estate, max_ttl, positive_ms, send_all, Pattern};
use crate::proto::{frame, reqrep as wire};
use crate::sock::{errno, Core, Msg, Socket, UserMsg, SMALL_SEND};
use crate::sync::jiffies;
use crate::sys;
use kernel::prelude::*;

/// SURVEYOR state.
pub(crate) struct Surveyor {
    ids: wire::RequestIds,
    /// The survey whose answers are taken.
    current: Option<u32>,
    /// When (jiffies) it ends.
    due: usize,
    /// It ended; recv has not said so yet.
    expired: bool,
    /// SP_SURVEY_DEADLINE, ms.
    deadline_ms: u32,
    /// SP_MAXTTL: kept for devices (an answer to a SURVEYOR carries one tag).
    max_ttl: u8,
}

/// The survey an answer is to, by its first tag.
fn survey_id(msg: &Msg<'_>) -> Option<u32> {
    let mut tag = [0u8; wire::TAG_LEN];
    msg.copy(0, &mut tag)
        .then(|| wire::reply_id(&tag))
        .flatten()
}

impl Pattern for Surveyor {
    const STAGING: usize = frame::LEN_PREFIX + wire::TAG_LEN + SMALL_SEND;

    fn new(seed: u32) -> Result<Self> {
        Ok(Self {
            ids: wire::RequestIds::new(seed),
            current: None,
            due: 0,
            expired: false,
            deadline_ms: sys::SP_SURVEY_DEADLINE_DEFAULT,
            max_ttl: sys::SP_MAXTTL_DEFAULT as u8,
        })
    }

    /// Answers to the current survey, until it ends.
    fn accept(&mut self, core: &mut Core, msg: &Msg<'_>) -> bool {
        let ok = !self.expired && self.current.is_some() && survey_id(msg) == self.current;
        if !ok {
            core.dropped(1);
        }
        ok
    }

    fn close(&mut self, _core: &mut Core, _keep_unsent: bool) -> bool {
        self.current = None;
        self.expired = false;
        false
    }

    fn writable(&self, _core: &Core) -> Option<bool> {
        Some(true)
    }

    fn readable(&self) -> bool {
        self.expired
    }

    /// A new survey, to every respondent; the one before ends.
    fn send(sock: &Socket, msg: &UserMsg) -> Result<usize> {
        // Unread answers are to the survey this one cancels. One may still be queued
        // between here and the switch below; recv knows it by its id.
        sock.purge_received();
        let id = sock.with(|core, s: &mut Surveyor| {
            if core.closing() {
                return Err(errno(sys::EPIPE));
            }
            let id = s.ids.next_id();
            s.current = Some(id);
            s.expired = false;
            s.due = deadline(s.deadline_ms);
            sock.arm_timer_by(s.due);
            Ok(id)
        })?;
        send_all::<Self>(sock, msg, &wire::request_tag(id))
    }

    /// A state error before any survey; ETIMEDOUT once, when the survey ended and its
    /// answers are read.
    fn may_recv(sock: &Socket) -> Result {
        sock.with(|_, s: &mut Surveyor| {
            if !sock.nothing_received() {
                return Ok(());
            }
            if s.expired {
                s.expired = false;
                s.current = None;
                return Err(errno(sys::ETIMEDOUT));
            }
            if s.current.is_none() {
                return Err(estate());
            }
            Ok(())
        })
    }

    /// An answer to the current survey; one to a survey since replaced is dropped.
    fn received(sock: &Socket, msg: &Msg<'_>, _peek: bool) -> Option<usize> {
        let id = survey_id(msg)?;
        sock.with(|_, s: &mut Surveyor| Ok(s.current == Some(id)))
            .ok()
            .filter(|&ok| ok)
            .map(|_| wire::TAG_LEN)
    }

    /// The survey's time is up: recv says so, poll wakes.
    fn timer(sock: &Socket) {
        let ended = sock.with(|_, s: &mut Surveyor| {
            if s.current.is_none() || s.expired {
                return Ok(false);
            }
            if before(jiffies(), s.due) {
                sock.arm_timer_by(s.due);
                return Ok(false);
            }
            s.expired = true;
            Ok(true)
        });
        if ended.unwrap_or(false) {
            sock.wake();
        }
    }

    fn setopt(&mut self, _core: &mut Core, name: u32, val: &[u8]) -> Option<Result> {
        let r = match name {
            sys::SP_SURVEY_DEADLINE => positive_ms(val).map(|v| self.deadline_ms = v),
            sys::SP_MAXTTL => max_ttl(val).map(|v| self.max_ttl = v),
            _ => return None,
        };
        Some(r)
    }

    fn getopt(&self, _core: &Core, name: u32) -> Option<i32> {
        match name {
            sys::SP_SURVEY_DEADLINE => Some(self.deadline_ms as i32),
            sys::SP_MAXTTL => Some(self.max_ttl.into()),
            _ => None,
        }
    }
}
