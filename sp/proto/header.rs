// SPDX-License-Identifier: GPL-2.0

//! The SP connection header.
//!
//! As soon as a connection is up, both sides send eight bytes: `00 'S' 'P' 00`,
//! their 16-bit protocol id in big-endian order, and two zero bytes. A peer
//! whose header is malformed, or whose protocol is not our partner, is
//! disconnected.

/// Length of the connection header in bytes.
pub(crate) const HEADER_LEN: usize = 8;

/// PAIR version 0; partner: itself.
pub(crate) const PAIR0: u16 = 0x10;
/// PAIR version 1; partner: itself.
pub(crate) const PAIR1: u16 = 0x11;
/// Publisher; partner: [`SUB`].
pub(crate) const PUB: u16 = 0x20;
/// Subscriber; partner: [`PUB`].
pub(crate) const SUB: u16 = 0x21;
/// Requester; partner: [`REP`].
pub(crate) const REQ: u16 = 0x30;
/// Replier; partner: [`REQ`].
pub(crate) const REP: u16 = 0x31;
/// Pipeline sender; partner: [`PULL`].
pub(crate) const PUSH: u16 = 0x50;
/// Pipeline receiver; partner: [`PUSH`].
pub(crate) const PULL: u16 = 0x51;
/// Surveyor; partner: [`RESPONDENT`].
pub(crate) const SURVEYOR: u16 = 0x62;
/// Survey respondent; partner: [`SURVEYOR`].
pub(crate) const RESPONDENT: u16 = 0x63;
/// Bus; partner: itself.
pub(crate) const BUS: u16 = 0x70;

/// Why a peer's connection header was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeaderError {
    /// The first four bytes are not `00 'S' 'P' 00`.
    BadMagic,
    /// The last two bytes are not zero.
    ReservedNonZero,
    /// The peer's protocol (carried here) is not our partner.
    Incompatible(u16),
}

/// Returns the header that announces protocol `proto`.
pub(crate) fn encode(proto: u16) -> [u8; HEADER_LEN] {
    let [hi, lo] = proto.to_be_bytes();
    [0, b'S', b'P', 0, hi, lo, 0, 0]
}

/// Returns the protocol id announced by a well-formed header.
///
/// The id is not checked against the known protocols: see [`check`].
pub(crate) fn decode(bytes: &[u8; HEADER_LEN]) -> Result<u16, HeaderError> {
    match *bytes {
        [0, b'S', b'P', 0, hi, lo, 0, 0] => Ok(u16::from_be_bytes([hi, lo])),
        [0, b'S', b'P', 0, ..] => Err(HeaderError::ReservedNonZero),
        _ => Err(HeaderError::BadMagic),
    }
}

/// Returns the protocol a socket of protocol `proto` talks to, or `None` if
/// `proto` is unknown.
pub(crate) fn peer_of(proto: u16) -> Option<u16> {
    match proto {
        PAIR0 | PAIR1 | BUS => Some(proto),
        PUB => Some(SUB),
        SUB => Some(PUB),
        REQ => Some(REP),
        REP => Some(REQ),
        PUSH => Some(PULL),
        PULL => Some(PUSH),
        SURVEYOR => Some(RESPONDENT),
        RESPONDENT => Some(SURVEYOR),
        _ => None,
    }
}

/// Returns whether a socket of protocol `mine` may talk to a peer of
/// protocol `theirs`.
pub(crate) fn compatible(mine: u16, theirs: u16) -> bool {
    peer_of(mine) == Some(theirs)
}

/// Decodes a peer's header and checks that its protocol is our partner.
///
/// Returns the peer's protocol id. On any error the connection must be
/// closed.
pub(crate) fn check(bytes: &[u8; HEADER_LEN], mine: u16) -> Result<u16, HeaderError> {
    let theirs = decode(bytes)?;
    if compatible(mine, theirs) {
        Ok(theirs)
    } else {
        Err(HeaderError::Incompatible(theirs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ALL: [u16; 11] = [
        PAIR0, PAIR1, PUB, SUB, REQ, REP, PUSH, PULL, SURVEYOR, RESPONDENT, BUS,
    ];

    #[test]
    fn encode_matches_the_wire() {
        assert_eq!(
            encode(REQ),
            [0x00, 0x53, 0x50, 0x00, 0x00, 0x30, 0x00, 0x00]
        );
        assert_eq!(encode(0xabcd), [0, b'S', b'P', 0, 0xab, 0xcd, 0, 0]);
    }

    #[test]
    fn decode_rejects_bad_headers() {
        let good = encode(REP);
        assert_eq!(decode(&good), Ok(REP));
        for i in 0..4 {
            let mut bad = good;
            bad[i] ^= 0x01;
            assert_eq!(decode(&bad), Err(HeaderError::BadMagic), "byte {i}");
        }
        for i in 6..8 {
            let mut bad = good;
            bad[i] = 1;
            assert_eq!(decode(&bad), Err(HeaderError::ReservedNonZero), "byte {i}");
        }
        // nanomsg's and nng's magic is checked before the reserved bytes.
        assert_eq!(decode(&[0xff; 8]), Err(HeaderError::BadMagic));
    }

    #[test]
    fn partner_table() {
        let pairs = [
            (PAIR0, PAIR0),
            (PAIR1, PAIR1),
            (PUB, SUB),
            (REQ, REP),
            (PUSH, PULL),
            (SURVEYOR, RESPONDENT),
            (BUS, BUS),
        ];
        for (a, b) in pairs {
            assert_eq!(peer_of(a), Some(b));
            assert_eq!(peer_of(b), Some(a));
        }
        for p in ALL {
            let partners = ALL.iter().filter(|&&q| compatible(p, q)).count();
            assert_eq!(partners, 1, "{p:#x}");
        }
        assert!(!compatible(PAIR0, PAIR1));
        assert!(!compatible(PUB, PUB));
        assert_eq!(peer_of(0), None);
        assert_eq!(peer_of(0x16), None);
    }

    #[test]
    fn check_reports_the_peer() {
        assert_eq!(check(&encode(REP), REQ), Ok(REP));
        assert_eq!(
            check(&encode(REQ), REQ),
            Err(HeaderError::Incompatible(REQ))
        );
        assert_eq!(
            check(&encode(0x99), SUB),
            Err(HeaderError::Incompatible(0x99))
        );
        assert_eq!(check(&[0; 8], SUB), Err(HeaderError::BadMagic));
    }

    proptest! {
        #[test]
        fn roundtrip(proto: u16) {
            prop_assert_eq!(decode(&encode(proto)), Ok(proto));
        }

        #[test]
        fn decode_accepts_exactly_the_encodings(bytes: [u8; 8]) {
            let ok = bytes[..4] == *b"\0SP\0" && bytes[6..] == [0, 0];
            match decode(&bytes) {
                Ok(proto) => prop_assert!(ok && encode(proto) == bytes),
                Err(_) => prop_assert!(!ok),
            }
        }

        #[test]
        fn compatible_is_symmetric(a: u16, b: u16) {
            prop_assert_eq!(compatible(a, b), compatible(b, a));
        }
    }
}
