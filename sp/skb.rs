// SPDX-License-Identifier: GPL-2.0

//! Owned socket buffers and a plain FIFO of them.
//!
//! Messages travel as `sk_buff`s: built by sendmsg (charged to the SP socket's send buffer),
//! cloned (sharing the payload) onto the transmit queue of the pipe they go out on, or, small
//! ones a PUB sends, packed into buffers on that queue; received ones are batches of small
//! messages or one large message each (see `rx`).

use crate::sys;
use core::ptr::NonNull;

/// An `sk_buff` this code owns one reference to; freed on drop.
pub(crate) struct Skb(NonNull<sys::sk_buff>);

// SAFETY: An skb reference may be handed to and freed from any context.
unsafe impl Send for Skb {}

impl Skb {
    /// Takes ownership of one reference.
    ///
    /// # Safety
    ///
    /// `skb` must be a valid skb whose reference the caller gives up.
    pub(crate) unsafe fn from_raw(skb: *mut sys::sk_buff) -> Option<Self> {
        NonNull::new(skb).map(Self)
    }

    /// An empty linear skb with room for `size` bytes, or for a page's worth if `size` is
    /// larger (`GFP_ATOMIC`).
    pub(crate) fn alloc_batch(size: usize) -> Option<Self> {
        let size = u32::try_from(size).unwrap_or(u32::MAX);
        // SAFETY: Plain allocation; the helper returns an owned skb or NULL.
        unsafe { Self::from_raw(sys::sp_batch_alloc(size)) }
    }

    /// A linear skb (see [`Skb::alloc_batch`]) with room for `size` bytes, holding a copy of
    /// `bytes`; `None` without memory or if `bytes` do not fit.
    pub(crate) fn copy_of(bytes: &[u8], size: usize) -> Option<Self> {
        let mut skb = Self::alloc_batch(size.max(bytes.len()))?;
        skb.put(bytes.len())?.copy_from_slice(bytes);
        Some(skb)
    }

    /// Gives up ownership without freeing.
    pub(crate) fn into_raw(self) -> *mut sys::sk_buff {
        let p = self.0.as_ptr();
        core::mem::forget(self);
        p
    }

    /// The raw pointer, still owned by `self`.
    pub(crate) fn as_ptr(&self) -> *mut sys::sk_buff {
        self.0.as_ptr()
    }

    /// Total length, linear part and fragments.
    pub(crate) fn len(&self) -> usize {
        // SAFETY: `self` owns a valid skb.
        unsafe { len_of(self.as_ptr()) }
    }

    /// The first `n` bytes of the linear part, for writing framing in front of a payload.
    ///
    /// Only for skbs built by `sp_skb_alloc_send` with at least `n` bytes of headroom, which
    /// nobody else references yet.
    pub(crate) fn head_mut(&mut self, n: usize) -> &mut [u8] {
        // SAFETY: The skb was built with `n` linear bytes reserved for framing and is not
        // shared, so the bytes are valid and ours to write for the borrow of `self`.
        unsafe { core::slice::from_raw_parts_mut((*self.as_ptr()).data, n) }
    }

    /// Copies `out.len()` bytes at `offset`, wherever they live in the skb.
    pub(crate) fn copy_bits(&self, offset: usize, out: &mut [u8]) -> bool {
        // SAFETY: `self` owns a valid skb.
        copy_bits(unsafe { &*self.as_ptr() }, offset, out)
    }

    /// Ends its charge to the socket that sent it (the queue it goes on is bounded instead).
    pub(crate) fn orphan(&mut self) {
        // SAFETY: `self` owns a valid skb.
        unsafe { sys::sp_skb_orphan(self.as_ptr()) }
    }

    /// Total memory the skb takes, as charged to a socket.
    pub(crate) fn truesize(&self) -> usize {
        // SAFETY: `self` owns a valid skb.
        unsafe { sys::sp_skb_truesize(self.as_ptr()) as usize }
    }

    /// Free bytes after the linear data.
    pub(crate) fn tailroom(&self) -> usize {
        // SAFETY: `self` owns a valid skb.
        unsafe { sys::sp_skb_tailroom(self.as_ptr()) as usize }
    }

    /// Extends the linear data by `n` bytes and returns them, for writing. Only for skbs
    /// nobody else references, with `n` bytes of tailroom (else `None`).
    pub(crate) fn put(&mut self, n: usize) -> Option<&mut [u8]> {
        if n > self.tailroom() {
            return None;
        }
        // SAFETY: There is room; the skb is ours alone, so the new bytes are ours to write
        // for the borrow of `self`.
        unsafe {
            Some(core::slice::from_raw_parts_mut(
                sys::sp_skb_put(self.as_ptr(), n as u32),
                n,
            ))
        }
    }

    /// The linear data.
    pub(crate) fn linear(&self) -> &[u8] {
        // SAFETY: The linear part is `headlen` bytes at `data`, valid while we hold the skb;
        // nobody writes queued skbs' data.
        unsafe { core::slice::from_raw_parts((*self.as_ptr()).data, headlen_of(self.as_ptr())) }
    }

    /// The linear data, for writing. Only for skbs nobody else references.
    pub(crate) fn linear_mut(&mut self) -> &mut [u8] {
        // SAFETY: The linear part is `headlen` bytes at `data`; the skb is ours alone.
        unsafe {
            let p = self.as_ptr();
            core::slice::from_raw_parts_mut((*p).data, headlen_of(p))
        }
    }

    /// Cuts the linear data to `len` bytes.
    pub(crate) fn trim(&mut self, len: usize) {
        // SAFETY: `self` owns a valid skb; `skb_trim` ignores lengths above the current one.
        unsafe { sys::sp_skb_trim(self.as_ptr(), len as u32) }
    }

    /// The receive-side description in the control block (`struct sp_rx_cb`).
    pub(crate) fn rx_cb(&self) -> sys::sp_rx_cb {
        // SAFETY: The control block of a received skb holds an `sp_rx_cb` (it fits: the C
        // side asserts so), written only by `set_rx_cb`, whose callers exclude concurrent
        // writers.
        unsafe {
            core::ptr::addr_of!((*self.as_ptr()).cb)
                .cast::<sys::sp_rx_cb>()
                .read_unaligned()
        }
    }

    /// Writes the receive-side description.
    ///
    /// # Safety
    ///
    /// Nobody may read or write the control block meanwhile: the skb is not queued yet, or the
    /// caller holds the socket's reader lock.
    pub(crate) unsafe fn set_rx_cb(&self, cb: sys::sp_rx_cb) {
        // SAFETY: See above, and `rx_cb`.
        unsafe {
            core::ptr::addr_of_mut!((*self.as_ptr()).cb)
                .cast::<sys::sp_rx_cb>()
                .write_unaligned(cb)
        }
    }

    /// Another reference to the same skb, only for reading it: never to be changed or
    /// queued (a queue links its skbs through them).
    pub(crate) fn share(&self) -> Self {
        // SAFETY: `self` is valid; `skb_get` takes a reference and returns the same skb.
        Self(unsafe { NonNull::new_unchecked(sys::sp_skb_get(self.as_ptr())) })
    }

    /// A clone sharing the payload (`GFP_ATOMIC`: used under spinlocks).
    pub(crate) fn clone_atomic(&self) -> Option<Self> {
        // SAFETY: `self` is valid; `skb_clone` returns a new reference or NULL.
        unsafe { Self::from_raw(sys::skb_clone(self.as_ptr(), kernel::bindings::GFP_ATOMIC)) }
    }
}

impl Drop for Skb {
    fn drop(&mut self) {
        // SAFETY: We own one reference.
        unsafe { sys::sp_kfree_skb(self.as_ptr()) }
    }
}

/// The length of the skb at `p`, linear part and fragments.
///
/// # Safety
///
/// `p` must be a valid skb whose length nobody changes meanwhile (ours, or queued and read
/// under the lock that appending to it takes).
pub(crate) unsafe fn len_of(p: *const sys::sk_buff) -> usize {
    // SAFETY: See above.
    unsafe { (*p).len as usize }
}

/// The length of the linear part of the skb at `p`.
///
/// # Safety
///
/// As for [`len_of`].
unsafe fn headlen_of(p: *const sys::sk_buff) -> usize {
    // SAFETY: See above.
    unsafe { ((*p).len - (*p).data_len) as usize }
}

/// Copies `out.len()` bytes at `offset` of `skb` (ours or one TCP lent us), wherever they
/// live in it; false if the range is not all there.
pub(crate) fn copy_bits(skb: &sys::sk_buff, offset: usize, out: &mut [u8]) -> bool {
    let (Ok(off), Ok(len)) = (i32::try_from(offset), i32::try_from(out.len())) else {
        return false;
    };
    // SAFETY: `out` is valid for `len` bytes; `skb_copy_bits` checks the range.
    unsafe { sys::skb_copy_bits(skb, off, out.as_mut_ptr().cast(), len) == 0 }
}

/// A FIFO of owned skbs linked through `skb->next`, with a byte count.
///
/// The last skb may be left open ([`SkbQueue::push_open`]): a linear buffer that later frames
/// are copied onto the end of ([`SkbQueue::append`]), so that a stream of small messages costs
/// one skb per buffer rather than one per message. Whoever reads queued bytes outside the
/// queue's lock (transmit) reads only up to the length it saw under the lock; appending writes
/// past it.
///
/// Plain data without self-references, so it can live inside a lock's data.
pub(crate) struct SkbQueue {
    head: *mut sys::sk_buff,
    tail: *mut sys::sk_buff,
    len: usize,
    bytes: usize,
    /// `tail` was pushed open: only this queue references it and it is linear.
    open: bool,
}

// SAFETY: The queue owns its skbs, which may move between contexts.
unsafe impl Send for SkbQueue {}

impl SkbQueue {
    /// An empty queue.
    pub(crate) const fn new() -> Self {
        Self {
            head: core::ptr::null_mut(),
            tail: core::ptr::null_mut(),
            len: 0,
            bytes: 0,
            open: false,
        }
    }

    /// Number of skbs queued.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes queued.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Appends `skb`.
    pub(crate) fn push(&mut self, skb: Skb) {
        self.bytes += skb.len();
        let p = skb.into_raw();
        // SAFETY: `p` is owned by the queue from here on; `tail` is valid when non-null.
        unsafe {
            sys::sp_skb_set_next(p, core::ptr::null_mut());
            if self.tail.is_null() {
                self.head = p;
            } else {
                sys::sp_skb_set_next(self.tail, p);
            }
        }
        self.tail = p;
        self.len += 1;
        self.open = false;
    }

    /// Puts `skb` first.
    pub(crate) fn push_front(&mut self, skb: Skb) {
        let was_empty = self.head.is_null();
        self.bytes += skb.len();
        let p = skb.into_raw();
        // SAFETY: `p` is owned by the queue from here on; `head` is valid or null.
        unsafe { sys::sp_skb_set_next(p, self.head) };
        self.head = p;
        if was_empty {
            self.tail = p;
            self.open = false;
        }
        self.len += 1;
    }

    /// Appends `skb`, a linear skb nobody else references, left open for [`SkbQueue::append`].
    pub(crate) fn push_open(&mut self, skb: Skb) {
        self.push(skb);
        self.open = true;
    }

    /// Copies `frame` onto the end of the last skb if that was pushed open and has room.
    pub(crate) fn append(&mut self, frame: &[u8]) -> bool {
        if !self.open || self.tail.is_null() {
            return false;
        }
        let n = frame.len();
        // SAFETY: An open tail is a valid linear skb that only the queue references; readers
        // of its bytes read below the length they saw under the queue's lock, which the caller
        // holds as it writes beyond that length.
        unsafe {
            if (sys::sp_skb_tailroom(self.tail) as usize) < n {
                return false;
            }
            let dst = sys::sp_skb_put(self.tail, n as u32);
            core::ptr::copy_nonoverlapping(frame.as_ptr(), dst, n);
        }
        self.bytes += n;
        true
    }

    /// The first skb, still owned by the queue.
    pub(crate) fn peek(&self) -> *mut sys::sk_buff {
        self.head
    }

    /// Points `iov` at the bytes of the first skbs, from `off` into the first, for one
    /// `sendmsg`: as many as fit `iov` and `max` bytes, stopping before the first skb with
    /// fragments (only whole linear skbs, the first possibly partly sent). Returns the number
    /// of entries and of bytes; the pointers stay valid until the skbs are popped.
    pub(crate) fn gather(&self, off: usize, iov: &mut [sys::kvec], max: usize) -> (usize, usize) {
        let (mut n, mut bytes, mut off) = (0, 0, off);
        let mut p = self.head;
        while !p.is_null() && n < iov.len() {
            // SAFETY: `p` is a valid skb owned by the queue.
            // SAFETY: `p` is a valid skb owned by the queue.
            let (len, head) = unsafe { (len_of(p), headlen_of(p)) };
            if len != head || off >= head || (n > 0 && bytes + len > max) {
                break;
            }
            let Some(slot) = iov.get_mut(n) else { break };
            // SAFETY: As above; `off` is within the linear data.
            slot.iov_base = unsafe { (*p).data.add(off) }.cast();
            slot.iov_len = head - off;
            bytes += slot.iov_len;
            n += 1;
            off = 0;
            // SAFETY: As above.
            p = unsafe { sys::sp_skb_next(p) };
        }
        (n, bytes)
    }

    /// Removes the first skb.
    pub(crate) fn pop(&mut self) -> Option<Skb> {
        if self.head.is_null() {
            return None;
        }
        let p = self.head;
        // SAFETY: `p` is a valid skb owned by the queue; ownership moves to the caller.
        unsafe {
            self.head = sys::sp_skb_next(p);
            sys::sp_skb_set_next(p, core::ptr::null_mut());
        }
        if self.head.is_null() {
            self.tail = core::ptr::null_mut();
            self.open = false;
        }
        self.len -= 1;
        // SAFETY: As above.
        let skb = unsafe { Skb::from_raw(p) }?;
        self.bytes -= skb.len();
        Some(skb)
    }

    /// Frees everything queued.
    pub(crate) fn purge(&mut self) {
        while self.pop().is_some() {}
    }
}

impl Drop for SkbQueue {
    fn drop(&mut self) {
        self.purge();
    }
}
