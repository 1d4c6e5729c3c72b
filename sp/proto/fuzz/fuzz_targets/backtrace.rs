// SPDX-License-Identifier: GPL-2.0

//! REQ/REP tags: `Backtrace::parse` of a request as a REP receives it,
//! `reply_id` of a reply as a REQ receives it, and the request id generator,
//! each against a plain reading of the wire format.
//!
//! Input: four bytes of generator seed, one byte of generator steps, then
//! the message.

#![no_main]

#[allow(dead_code)]
#[path = "../../mod.rs"]
mod proto;

use libfuzzer_sys::fuzz_target;
use proto::reqrep::{
    reply_id, request_tag, Backtrace, BacktraceError, RequestIds, ID_MASK, MAX_HOPS, TAG_LEN,
};

/// The top bit of a tag, which ends the stack.
fn ends(tag: &[u8]) -> bool {
    tag[0] & 0x80 != 0
}

fuzz_target!(|data: &[u8]| {
    let Some((seed, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let Some((&steps, msg)) = rest.split_first() else {
        return;
    };

    // The stack is the tags up to the first with the top bit set; only the
    // first MAX_HOPS tags are looked at.
    let whole: Vec<&[u8]> = msg.chunks_exact(TAG_LEN).collect();
    let expected = match whole.iter().take(MAX_HOPS).position(|t| ends(t)) {
        Some(i) => Ok(i + 1),
        None if whole.len() >= MAX_HOPS => Err(BacktraceError::TooDeep),
        None => Err(BacktraceError::Truncated),
    };
    match (Backtrace::parse(msg, MAX_HOPS), expected) {
        (Ok((bt, body)), Ok(tags)) => {
            assert_eq!(bt.tags(), tags);
            assert_eq!(body, tags * TAG_LEN);
            assert_eq!(bt.as_bytes(), &msg[..body]);
            let last = whole[tags - 1];
            let id = u32::from_be_bytes(last.try_into().unwrap()) & ID_MASK;
            assert_eq!(bt.request_id(), id);
            // The reply goes back with the stack in front; once the devices
            // took their pipe tags off, the REQ finds its request id.
            let mut reply = bt.as_bytes().to_vec();
            reply.extend_from_slice(&msg[body..]);
            assert_eq!(reply, msg);
            assert_eq!(reply_id(&reply[body - TAG_LEN..]), Some(id));
            assert_eq!(request_tag(id), last);
        }
        (got, want) => assert_eq!(got.map(|(bt, _)| bt.tags()), want, "{msg:02x?}"),
    }

    let first = whole.first().filter(|t| ends(t));
    let id = first.map(|t| u32::from_be_bytes((*t).try_into().unwrap()) & ID_MASK);
    assert_eq!(reply_id(msg), id);

    let mut ids = RequestIds::new(u32::from_be_bytes(*seed));
    let mut prev = ids.next_id();
    assert_eq!(prev, (u32::from_be_bytes(*seed) & ID_MASK).max(1));
    for _ in 0..steps {
        let id = ids.next_id();
        assert!(id != 0 && id <= ID_MASK);
        assert_eq!(id, if prev == ID_MASK { 1 } else { prev + 1 });
        prev = id;
    }
});
