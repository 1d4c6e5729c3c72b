// SPDX-License-Identifier: GPL-2.0

//! The few synchronisation and deferral primitives the 6.12 kernel crate lacks.
//!
//! - [`BhLock`]: a spinlock that disables bottom halves, for state shared with TCP callbacks
//!   and strparser, which run in softirq. The kernel crate's `SpinLock` is a plain
//!   `spin_lock()` and must never be shared with softirq code.
//! - [`Timer`]: a `timer_list` embedded in a pinned object.
//! - [`queue`]: the module's own workqueue, which module exit drains.

use crate::sys;
use core::ptr;
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::lock::{Backend, Lock};
use kernel::types::Opaque;
use kernel::workqueue::Queue;

/// Backend of [`BhLock`]: `spin_lock_bh()` / `spin_unlock_bh()`.
pub(crate) struct BhBackend;

/// A spinlock usable from process context and softirq alike.
pub(crate) type BhLock<T> = Lock<T, BhBackend>;

// SAFETY: `lock` and `unlock` are `spin_lock_bh` and `spin_unlock_bh` on a lock initialised by
// `__spin_lock_init`, which give mutual exclusion; the guard state is empty.
unsafe impl Backend for BhBackend {
    type State = bindings::spinlock_t;
    type GuardState = ();

    unsafe fn init(
        ptr: *mut Self::State,
        name: *const kernel::ffi::c_char,
        key: *mut bindings::lock_class_key,
    ) {
        // SAFETY: The caller guarantees `ptr` is valid for writes and `name`/`key` live forever.
        unsafe { bindings::__spin_lock_init(ptr, name, key) }
    }

    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: The caller guarantees `ptr` was initialised by `init`.
        unsafe { sys::sp_spin_lock_bh(ptr.cast()) }
    }

    unsafe fn unlock(ptr: *mut Self::State, _guard_state: &Self::GuardState) {
        // SAFETY: The caller owns the lock.
        unsafe { sys::sp_spin_unlock_bh(ptr.cast()) }
    }
}

/// Creates a [`BhLock`] initialiser with its own lockdep class.
macro_rules! new_bh_lock {
    ($inner:expr, $name:literal) => {
        $crate::sync::BhLock::new($inner, kernel::c_str!($name), kernel::static_lock_class!())
    };
}
pub(crate) use new_bh_lock;

/// A kernel timer embedded in a pinned object.
///
/// The owner passes a callback that finds the owner again with `container_of!`, and must
/// call [`Timer::shutdown`] before it is freed.
#[repr(transparent)]
pub(crate) struct Timer(Opaque<sys::timer_list>);

impl Timer {
    /// An initialiser for a timer that calls `f` when it fires.
    pub(crate) fn new(f: unsafe extern "C" fn(*mut sys::timer_list)) -> impl PinInit<Self> {
        // SAFETY: `timer_setup` initialises the timer in place; `Timer` is transparent.
        unsafe {
            kernel::init::pin_init_from_closure(move |slot: *mut Self| {
                sys::sp_timer_setup(slot.cast(), Some(f));
                Ok(())
            })
        }
    }

    /// Raw pointer for `container_of!` in callbacks.
    pub(crate) fn as_ptr(&self) -> *mut sys::timer_list {
        self.0.get()
    }

    /// (Re)arms the timer to fire in `ms` milliseconds.
    pub(crate) fn arm_ms(&self, ms: u32) {
        // SAFETY: The timer was set up by `new` and lives as long as `self`.
        unsafe {
            let delay = sys::__msecs_to_jiffies(ms);
            sys::mod_timer(self.as_ptr(), sys::sp_jiffies().wrapping_add(delay));
        }
    }

    /// Arms the timer to fire at `expires` (jiffies) unless it is pending to fire earlier.
    /// Costs no lock then: cheap enough to call per request.
    pub(crate) fn arm_by(&self, expires: usize) {
        // SAFETY: As for `arm_ms`.
        unsafe { sys::timer_reduce(self.as_ptr(), expires) };
    }

    /// Stops the timer if pending, without waiting for a running callback.
    pub(crate) fn cancel(&self) {
        // SAFETY: As for `arm_ms`.
        unsafe { sys::timer_delete(self.as_ptr()) };
    }

    /// Stops the timer for good and waits for a running callback; it cannot be re-armed.
    ///
    /// Sleeps: process context only, and not from the timer's own callback.
    pub(crate) fn shutdown(&self) {
        // SAFETY: As for `arm_ms`.
        unsafe { sys::timer_shutdown_sync(self.as_ptr()) };
    }
}

/// The module's workqueue, set once by module init before any socket exists.
static mut QUEUE: *mut sys::workqueue_struct = ptr::null_mut();

/// Owner of the module's workqueue: created by [`WorkQueue::new`], drained and destroyed on
/// drop, after every socket is gone.
pub(crate) struct WorkQueue(());

impl WorkQueue {
    /// Allocates the workqueue.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: Plain allocation.
        let wq = unsafe { sys::sp_alloc_workqueue() };
        if wq.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: Module init runs once, before any socket (the only readers) exists.
        unsafe { QUEUE = wq };
        Ok(Self(()))
    }
}

impl Drop for WorkQueue {
    fn drop(&mut self) {
        // SAFETY: Module exit: no socket and hence no user of the queue is left; destroying it
        // drains what is still queued.
        unsafe {
            sys::destroy_workqueue(QUEUE);
            QUEUE = ptr::null_mut();
        }
    }
}

/// The module's workqueue.
pub(crate) fn queue() -> &'static Queue {
    // SAFETY: `QUEUE` is set before the first socket exists and stays valid until module exit,
    // which cannot happen while a socket (each holds a module reference) is alive.
    unsafe { Queue::from_raw(QUEUE.cast()) }
}

/// Removes element `i` of `v`, moving the last one into its place (6.12's `KVec` has no
/// `remove`).
pub(crate) fn swap_remove<T>(v: &mut KVec<T>, i: usize) -> Option<T> {
    let last = v.len().checked_sub(1)?;
    if i > last {
        return None;
    }
    v.as_mut_slice().swap(i, last);
    // SAFETY: `last` is in bounds; the element is moved out and the length shrunk so it is
    // not dropped twice.
    unsafe {
        let x = core::ptr::read(v.as_ptr().add(last));
        v.set_len(last);
        Some(x)
    }
}

/// The clock, in jiffies.
pub(crate) fn jiffies() -> usize {
    // SAFETY: Plain read of the clock.
    unsafe { sys::sp_jiffies() }
}

/// `ms` milliseconds in jiffies.
pub(crate) fn ms_to_jiffies(ms: u32) -> usize {
    // SAFETY: Plain conversion.
    unsafe { sys::__msecs_to_jiffies(ms) }
}
