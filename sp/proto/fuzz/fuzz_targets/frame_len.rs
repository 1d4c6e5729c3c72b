// SPDX-License-Identifier: GPL-2.0

//! `frame::decode_len`: a length prefix is accepted exactly when it is within
//! the receive limit and fits an `isize`, and then it is the prefix's value.

#![no_main]

#[allow(dead_code)]
#[path = "../../mod.rs"]
mod proto;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use proto::frame::{decode_len, encode_len, FrameError};

#[derive(Arbitrary, Debug)]
struct Input {
    prefix: [u8; 8],
    max: Option<u64>,
}

fuzz_target!(|input: Input| {
    let value = u64::from_be_bytes(input.prefix);
    let within = input.max.map_or(true, |max| value <= max) && value <= isize::MAX as u64;
    match decode_len(&input.prefix, input.max) {
        Ok(len) => {
            assert!(within, "accepted {value} against {:?}", input.max);
            assert_eq!(len as u64, value);
            assert_eq!(encode_len(len), input.prefix);
        }
        Err(FrameError::TooBig) => assert!(!within, "refused {value} against {:?}", input.max),
        Err(e) => panic!("decode_len returned {e:?}"),
    }
});
