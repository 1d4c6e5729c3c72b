// SPDX-License-Identifier: GPL-2.0

//! PF_SP: the Scalability Protocols (nanomsg/nng "SP") as Linux sockets.
//!
//! `socket(PF_SP, SOCK_REQ, IPPROTO_TCP)` gives a message socket that speaks the SP wire
//! protocol over TCP. Under each SP socket the module keeps any number of kernel TCP
//! connections ("pipes"), accepted on the endpoints the socket bound and dialed (and re-dialed)
//! to the peers it connected to; the socket type's pattern routes messages across them.
//!
//! Layout:
//! - [`proto`]: the wire logic (header, framing, request ids, backtraces, URLs, backoff),
//!   free of the kernel crate and tested on the host.
//! - [`family`]: registration of the family and its `proto_ops`, the C trampolines.
//! - [`sock`]: one SP socket: its state and the system calls all patterns share.
//! - [`pattern`]: one file per socket type, behind one interface, and the table of types.
//! - [`pipe`]: one TCP connection under a socket: handshake, transmit, teardown.
//! - [`rx`]: its receive side: framing straight off TCP, batches of messages, backpressure.
//! - [`endpoint`]: listeners and dialers that make pipes.
//! - [`linger`]: closed sockets that still deliver what was sent.
//! - [`addr`], [`sockopt`]: the user-facing address and option handling.
//! - [`sync`], [`skb`], [`sys`]: glue the 6.12 kernel crate lacks, socket buffers, and the
//!   generated bindings.

// `pin_init!` of the larger structures nests deeper than the default limit.
#![recursion_limit = "256"]

use kernel::prelude::*;

mod addr;
mod endpoint;
mod family;
mod kunit;
mod linger;
mod pattern;
mod pipe;
#[allow(dead_code)]
mod proto;
mod rx;
mod skb;
mod sock;
mod sockopt;
mod sync;
mod sys;

module! {
    type: SpModule,
    name: "sp",
    author: "The sp authors",
    description: "PF_SP: Scalability Protocols (REQ/REP, PUB/SUB) sockets over TCP",
    license: "GPL",
}

/// The loaded module. Fields drop in order: the family (no new sockets; none is open, each
/// holds a module reference), the lingering sockets, the workqueue (drained), the `proto`.
struct SpModule {
    _family: family::Registration,
    _lingering: linger::Reaper,
    _queue: sync::WorkQueue,
    _proto: family::Proto,
}

impl kernel::Module for SpModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let proto = family::Proto::new()?;
        let queue = sync::WorkQueue::new()?;
        let lingering = linger::Reaper::new()?;
        let family = family::Registration::new(module, &proto)?;
        Ok(Self {
            _family: family,
            _lingering: lingering,
            _queue: queue,
            _proto: proto,
        })
    }
}
