// SPDX-License-Identifier: GPL-2.0

//! REP and RESPONDENT: answer each request (survey) back where it came from.
//!
//! REP strips the backtrace of each request it hands to the user and remembers it with the
//! pipe the request came from; the reply gets the backtrace back in front and goes to that
//! pipe, or is dropped (counted) if the pipe is gone or full. One reply per request: a
//! second send is a state error. Nothing here blocks. A RESPONDENT is the same pattern
//! under other protocol ids: a survey carries the same tags as a request. The wire format
//! lives in `proto::reqrep`.

use super::{estate, max_ttl, Pattern};
use crate::proto::{frame, reqrep as wire};
use crate::sock::{errno, Core, Msg, Socket, UserMsg, SMALL_SEND};
use crate::sys;
use kernel::prelude::*;

/// What a REP socket owes: where the last request came from and its backtrace.
struct Owed {
    pipe: u32,
    bt: wire::Backtrace,
}

/// REP state.
pub(crate) struct Rep {
    owed: Option<Owed>,
    /// SP_MAXTTL: the most tags a request may carry.
    max_ttl: u8,
}

/// Room in front of a small reply in the staging buffer: its length prefix and the longest
/// backtrace.
const REP_HEAD: usize = frame::LEN_PREFIX + wire::TAG_LEN * wire::MAX_TTL;

/// Reads the tag stack at the front of a request, of at most `max` tags: the backtrace and
/// where the body starts.
fn backtrace(msg: &Msg<'_>, max: u8) -> Option<(wire::Backtrace, usize)> {
    let mut tags = [0u8; wire::TAG_LEN * wire::MAX_TTL];
    wire::Backtrace::parse(msg.head(&mut tags)?, max.into()).ok()
}

impl Pattern for Rep {
    const STAGING: usize = REP_HEAD + SMALL_SEND;

    fn new(_seed: u32) -> Result<Self> {
        Ok(Self {
            owed: None,
            max_ttl: sys::SP_MAXTTL_DEFAULT as u8,
        })
    }

    /// Malformed or looping requests are dropped (counted), as nng does.
    fn accept(&mut self, core: &mut Core, msg: &Msg<'_>) -> bool {
        let ok = backtrace(msg, self.max_ttl).is_some();
        if !ok {
            core.dropped(1);
        }
        ok
    }

    fn close(&mut self, _core: &mut Core, _keep_unsent: bool) -> bool {
        self.owed = None;
        false
    }

    /// Writable only while a request is owed an answer.
    fn writable(&self, _core: &Core) -> Option<bool> {
        Some(self.owed.is_some())
    }

    /// The reply to the request last received, back where it came from.
    fn send(sock: &Socket, msg: &UserMsg) -> Result<usize> {
        let len = msg.len();
        if len <= SMALL_SEND {
            return send_small(sock, msg);
        }
        let cap = sock.sndbuf();
        let bt_len = sock.with(|core, rep: &mut Rep| {
            let Some(owed) = &rep.owed else {
                return Err(estate());
            };
            if !core.peer(owed.pipe).is_some_and(|p| p.has_room(cap)) {
                // Dropped before anything is allocated: a peer that is gone or does not read
                // never makes a REP block.
                rep.owed = None;
                core.dropped(1);
                return Ok(None);
            }
            Ok(Some(owed.bt.as_bytes().len()))
        })?;
        let Some(bt_len) = bt_len else {
            return Ok(len);
        };
        let hdr = frame::LEN_PREFIX + bt_len;
        let mut skb = sock.alloc_send(hdr, msg)?;
        // Bounded by the pipe's queue from here on, not by the socket's send buffer.
        skb.orphan();
        let target = sock.with(|core, rep: &mut Rep| {
            let Some(owed) = rep.owed.take() else {
                return Err(estate());
            };
            if owed.bt.as_bytes().len() != bt_len {
                // A concurrent recv replaced what we owed: answer that one instead.
                rep.owed = Some(owed);
                return Err(errno(sys::EAGAIN));
            }
            let bt = owed.bt.as_bytes();
            let head = skb.head_mut(hdr);
            head[..frame::LEN_PREFIX].copy_from_slice(&frame::encode_len(bt_len + len));
            head[frame::LEN_PREFIX..].copy_from_slice(bt);
            // A reply that cannot be routed (peer gone, queue full) is dropped.
            match core.peer(owed.pipe).filter(|p| p.has_room(cap)).cloned() {
                Some(p) => {
                    p.push(skb);
                    Ok(Some(p))
                }
                None => {
                    core.dropped(1);
                    Ok(None)
                }
            }
        })?;
        if let Some(p) = target {
            p.transmit();
        }
        Ok(len)
    }

    /// Remembers what the reply owes, to the pipe the request came from. (The request passed
    /// `accept`: its backtrace fits the longest limit.)
    fn received(sock: &Socket, msg: &Msg<'_>, peek: bool) -> Option<usize> {
        let (bt, body) = backtrace(msg, wire::MAX_TTL as u8)?;
        if !peek {
            let pipe = msg.pipe();
            let _ = sock.with(|_, rep: &mut Rep| {
                rep.owed = Some(Owed { pipe, bt });
                Ok(())
            });
        }
        Some(body)
    }

    fn setopt(&mut self, _core: &mut Core, name: u32, val: &[u8]) -> Option<Result> {
        (name == sys::SP_MAXTTL).then(|| {
            self.max_ttl = max_ttl(val)?;
            Ok(())
        })
    }

    fn getopt(&self, _core: &Core, name: u32) -> Option<i32> {
        (name == sys::SP_MAXTTL).then_some(self.max_ttl.into())
    }
}

/// A small reply: framed in the staging buffer and written to TCP at once from the sender's
/// call, without an skb unless TCP cannot take it all.
fn send_small(sock: &Socket, msg: &UserMsg) -> Result<usize> {
    let len = msg.len();
    let mut staging = sock.staging();
    let buf = staging.get_mut(..REP_HEAD + len).ok_or(EINVAL)?;
    msg.copy_to(&mut buf[REP_HEAD..])?;
    let cap = sock.sndbuf();
    let target = sock.with(|core, rep: &mut Rep| {
        let owed = rep.owed.take().ok_or_else(estate)?;
        let Some(p) = core.peer(owed.pipe).filter(|p| p.has_room(cap)).cloned() else {
            // A peer that is gone or does not read never makes a REP block.
            core.dropped(1);
            return Ok(None);
        };
        let bt = owed.bt.as_bytes();
        let start = REP_HEAD - bt.len() - frame::LEN_PREFIX;
        let head = &mut buf[start..REP_HEAD];
        head[..frame::LEN_PREFIX].copy_from_slice(&frame::encode_len(bt.len() + len));
        head[frame::LEN_PREFIX..].copy_from_slice(bt);
        Ok(Some((p, start)))
    })?;
    if let Some((p, start)) = target {
        p.send_frame(&buf[start..])?;
    }
    Ok(len)
}
