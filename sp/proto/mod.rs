// SPDX-License-Identifier: GPL-2.0

//! The Scalability Protocols' wire logic, independent of the kernel.
//!
//! Everything here is plain Rust on `core` only: no `kernel` crate, no
//! allocation, no `unsafe`, and no panic on anything a peer can send. The
//! module is compiled into `sp.ko` as `mod proto`, and the same files build
//! on the host as the `sp-proto` crate (`Cargo.toml` beside this file), where
//! `cargo test` runs their unit and property tests.
//!
//! - [`header`]: the 8-byte connection header and the protocol partner table.
//! - [`frame`]: 64-bit length framing and a streaming decoder.
//! - [`reqrep`]: request and survey ids, REP and RESPONDENT backtraces.
//! - [`pair`]: PAIR version 1's hop count.
//! - [`topic`]: SUB subscription prefixes and the message matcher.
//! - [`backoff`]: reconnect backoff with jitter.
//! - [`balance`]: send priorities and round-robin for load-balancing senders.
//! - [`url`]: `tcp://` endpoint URLs.

pub(crate) mod backoff;
pub(crate) mod balance;
pub(crate) mod frame;
pub(crate) mod header;
pub(crate) mod pair;
pub(crate) mod reqrep;
pub(crate) mod topic;
pub(crate) mod url;
