// SPDX-License-Identifier: GPL-2.0

//! `header::check` against the wire format and the partner table written out
//! here from the Scalability Protocols' specifications.

#![no_main]

#[allow(dead_code)]
#[path = "../../mod.rs"]
mod proto;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use proto::header::{check, compatible, decode, encode, HeaderError};

/// (ours, theirs) for every pair of protocols that may talk.
const PARTNERS: [(u16, u16); 11] = [
    (0x10, 0x10), // PAIR0
    (0x11, 0x11), // PAIR1
    (0x20, 0x21), // PUB, SUB
    (0x21, 0x20),
    (0x30, 0x31), // REQ, REP
    (0x31, 0x30),
    (0x50, 0x51), // PUSH, PULL
    (0x51, 0x50),
    (0x62, 0x63), // SURVEYOR, RESPONDENT
    (0x63, 0x62),
    (0x70, 0x70), // BUS
];

#[derive(Arbitrary, Debug)]
struct Input {
    bytes: [u8; 8],
    /// Our protocol: mostly a known one, so that `Ok` is reachable.
    mine: u16,
    known: Option<u8>,
}

fuzz_target!(|input: Input| {
    let mine = match input.known {
        Some(i) => PARTNERS[usize::from(i) % PARTNERS.len()].0,
        None => input.mine,
    };
    let b = input.bytes;
    let theirs = u16::from_be_bytes([b[4], b[5]]);
    let expected = if b[..4] != [0, b'S', b'P', 0] {
        Err(HeaderError::BadMagic)
    } else if b[6..] != [0, 0] {
        Err(HeaderError::ReservedNonZero)
    } else if PARTNERS.contains(&(mine, theirs)) {
        Ok(theirs)
    } else {
        Err(HeaderError::Incompatible(theirs))
    };
    assert_eq!(check(&b, mine), expected, "{b:02x?} for {mine:#x}");
    assert_eq!(
        decode(&b).is_ok(),
        expected.is_ok() || matches!(expected, Err(HeaderError::Incompatible(_)))
    );
    assert_eq!(decode(&encode(mine)), Ok(mine));
    assert_eq!(compatible(mine, theirs), compatible(theirs, mine));
    assert_eq!(compatible(mine, theirs), PARTNERS.contains(&(mine, theirs)));
});
