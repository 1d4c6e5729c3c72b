// SPDX-License-Identifier: GPL-2.0

//! Sockets that outlive their file: delivery after close().
//!
//! A closed SP socket whose messages are not all delivered is adopted here, and lives on
//! without its file until they are, or until its linger time (SO_LINGER, by default
//! SP_LINGER_DEFAULT seconds) runs out. While it lingers:
//! - a REQ request that no connection took yet keeps the socket's endpoints: dialers go on
//!   dialing, listeners accepting, and the first connection ready takes it;
//! - every connection writes out its queue, then shuts down its sending side (FIN) and is
//!   released once the peer acknowledged everything, so that TCP never resets it with data
//!   unsent; what peers send meanwhile is read and discarded;
//! - the socket goes once its last connection did ([`Socket::finish`]).
//!
//! Lingering sockets hold no module reference (the `proto` has no owner; an open file holds
//! one through its `proto_ops`): module exit finishes what still lingers, through the
//! [`Reaper`], before the workqueue and the `proto` go.

use crate::sock::Socket;
use crate::sync::swap_remove;
use core::ptr;
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};

type List = Mutex<KVec<Arc<Socket>>>;

/// The lingering sockets, set once by module init before any socket exists.
static mut LIST: *const List = ptr::null();

/// Owner of the list of lingering sockets; finishes them all when dropped (module exit).
pub(crate) struct Reaper {
    list: Pin<KBox<List>>,
}

impl Reaper {
    /// Allocates the (empty) list.
    pub(crate) fn new() -> Result<Self> {
        let list = KBox::pin_init(new_mutex!(KVec::new(), "sp_lingering"), GFP_KERNEL)?;
        // SAFETY: Module init runs once, before any socket (the only users) exists.
        unsafe { LIST = &*list };
        Ok(Self { list })
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        // The family is unregistered and no file is open: nothing adopts any more.
        loop {
            let s = {
                let mut l = self.list.lock();
                let Some(last) = l.len().checked_sub(1) else {
                    break;
                };
                swap_remove(&mut l, last)
            };
            if let Some(s) = s {
                s.finish(false);
            }
        }
    }
}

fn list() -> &'static List {
    // SAFETY: Set before the first socket exists; the `Reaper` outlives every socket file,
    // each of which holds a module reference.
    unsafe { &*LIST }
}

/// Keeps `s` until [`release`]. Process context.
pub(crate) fn adopt(s: &Arc<Socket>) -> Result {
    list().lock().push(s.clone(), GFP_KERNEL)?;
    Ok(())
}

/// Lets go of `s` if it was adopted. Process context.
pub(crate) fn release(s: &Socket) {
    let gone = {
        let mut l = list().lock();
        match l.iter().position(|x| ptr::eq(&**x, s)) {
            Some(i) => swap_remove(&mut l, i),
            None => None,
        }
    };
    // Possibly the last reference: dropped outside the lock.
    drop(gone);
}
