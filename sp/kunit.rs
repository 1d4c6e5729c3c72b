// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of the glue that only exists in the kernel: address conversion into real
//! `sockaddr`s, skb queues over real skbs, the socket type table, a reader's wait on a real
//! PF_SP socket. They run when the module is loaded (CONFIG_KUNIT) and report KTAP in the
//! kernel log, which `make test` collects.
//!
//! 6.12's kernel crate has no `#[kunit_tests]`, so the suite is declared by hand: a
//! `kunit_suite` whose address sits in the `.kunit_test_suites` section of the module.

use crate::addr::Addr;
use crate::pattern;
use crate::proto::header;
use crate::skb::{Skb, SkbQueue};
use crate::sys;
use core::ptr::{self, addr_of_mut};

/// Marks `test` failed when `ok` is false, naming the check in the log.
fn check(test: *mut sys::kunit, ok: bool, what: &str) {
    if !ok {
        kernel::pr_err!("sp kunit: check failed: {}\n", what);
        // SAFETY: KUnit passes a valid test for the duration of the case.
        unsafe { (*test).status = sys::kunit_status_KUNIT_FAILURE };
    }
}

/// KUnit case: URLs become the right socket addresses.
///
/// # Safety
///
/// KUnit calls it with a valid `test`.
unsafe extern "C" fn url_to_sockaddr(test: *mut sys::kunit) {
    match Addr::from_url(b"tcp://127.0.0.1:5555", false) {
        Ok(a) => {
            check(test, a.family() == sys::AF_INET as u16, "ipv4 family");
            check(
                test,
                a.len() == core::mem::size_of::<sys::sockaddr_in>(),
                "ipv4 length",
            );
            check(
                test,
                a.bytes()[2..8] == [0x15, 0xb3, 127, 0, 0, 1],
                "ipv4 port and address",
            );
        }
        Err(_) => check(test, false, "ipv4 url parses"),
    }
    match Addr::from_url(b"tcp://[::1]:80", false) {
        Ok(a) => {
            check(test, a.family() == sys::AF_INET6 as u16, "ipv6 family");
            check(test, a.bytes()[2..4] == [0, 80], "ipv6 port");
            check(
                test,
                a.bytes()[8..24] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                "ipv6 address",
            );
        }
        Err(_) => check(test, false, "ipv6 url parses"),
    }
    check(
        test,
        Addr::from_url(b"tcp://*:7", true).map(|a| a.family()) == Ok(sys::AF_INET6 as u16),
        "* binds dual-stack",
    );
    check(
        test,
        Addr::from_url(b"tcp://*:7", false).is_err(),
        "* cannot be dialed",
    );
    check(
        test,
        Addr::from_url(b"tcp://example.org:7", false).is_err(),
        "names are refused",
    );
}

fn skb_of(len: u32) -> Option<Skb> {
    // SAFETY: Plain allocation; the new reference is owned by the `Skb`.
    unsafe {
        let skb = sys::sp_alloc_skb(len);
        if !skb.is_null() {
            sys::sp_skb_put(skb, len);
        }
        Skb::from_raw(skb)
    }
}

/// KUnit case: the skb queue keeps order and counts.
///
/// # Safety
///
/// KUnit calls it with a valid `test`.
unsafe extern "C" fn skb_queue_fifo(test: *mut sys::kunit) {
    let mut q = SkbQueue::new();
    for len in [10, 20, 30] {
        match skb_of(len) {
            Some(s) => q.push(s),
            None => return check(test, false, "alloc_skb"),
        }
    }
    check(test, q.len() == 3 && q.bytes() == 60, "counts after push");
    check(test, q.pop().map(|s| s.len()) == Some(10), "fifo order");
    check(test, q.len() == 2 && q.bytes() == 50, "counts after pop");
    q.purge();
    check(
        test,
        q.is_empty() && q.bytes() == 0 && q.pop().is_none(),
        "purge empties",
    );
}

/// KUnit case: the table of socket types: each speaks its protocol id, its peer is the
/// wire's partner for it, and no type appears twice.
///
/// # Safety
///
/// KUnit calls it with a valid `test`.
unsafe extern "C" fn socket_types(test: *mut sys::kunit) {
    let proto = |ty: u32| pattern::find(ty as i32).map(|t| t.proto);
    check(
        test,
        proto(sys::SOCK_REQ) == Some(0x30),
        "SOCK_REQ speaks 0x30",
    );
    check(
        test,
        proto(sys::SOCK_REP) == Some(0x31),
        "SOCK_REP speaks 0x31",
    );
    for t in pattern::TYPES.iter() {
        check(
            test,
            header::peer_of(t.proto) == Some(t.peer),
            "each type's peer is its wire partner",
        );
        check(
            test,
            pattern::TYPES.iter().filter(|u| u.ty == t.ty).count() == 1 && t.ty < 11,
            "each type once, below SOCK_MAX",
        );
    }
    check(
        test,
        pattern::find(0).is_none() && pattern::find(11).is_none() && pattern::find(-1).is_none(),
        "unknown types refused",
    );
}

/// KUnit case: `sp_rx_wait`, which recvmsg calls after it found nothing queued, returns at
/// once if a message was queued (or the pattern woke readers) in between, without spending
/// any of the timeout: the wake-up for it came before the reader waited and will not come
/// again. The wait before fd97f1b slept here until the timeout and failed with EAGAIN.
///
/// # Safety
///
/// KUnit calls it with a valid `test`, once the family is registered.
unsafe extern "C" fn rx_wait_sees_queued(test: *mut sys::kunit) {
    let mut sock: *mut sys::socket = ptr::null_mut();
    // SAFETY: A kernel socket of our family in the initial namespace, released below.
    let r = unsafe {
        sys::sock_create_kern(
            addr_of_mut!(sys::init_net),
            sys::sp_family,
            sys::SOCK_PULL as i32,
            sys::IPPROTO_TCP as i32,
            &mut sock,
        )
    };
    if r < 0 {
        return check(test, false, "sock_create_kern(PF_SP, SOCK_PULL)");
    }
    // SAFETY: `sock` is ours until released; its `sk` lives as long.
    let sk = unsafe { (*sock).sk };
    // SAFETY: Plain conversion.
    let full = unsafe { sys::__msecs_to_jiffies(5000) } as isize;
    let wait = move |timeo: &mut isize, gen: u32| {
        let seen = 0u32;
        // SAFETY: `sk` is valid; `gen` outlives the call.
        unsafe { sys::sp_rx_wait(sk, timeo, &gen, seen) }
    };
    let mut none = 0;
    check(
        test,
        wait(&mut none, 0) == -(sys::EAGAIN as i32),
        "nothing queued and no time: EAGAIN",
    );
    let mut timeo = full;
    check(
        test,
        wait(&mut timeo, 1) == 0 && timeo == full,
        "woken since the reader looked: returns at once",
    );
    match skb_of(8) {
        // SAFETY: `sk` is valid; the queue takes the skb, and release purges it.
        Some(skb) => unsafe {
            sys::skb_queue_tail(addr_of_mut!((*sk).sk_receive_queue), skb.into_raw())
        },
        None => check(test, false, "alloc_skb"),
    }
    let mut timeo = full;
    check(
        test,
        wait(&mut timeo, 0) == 0 && timeo == full,
        "a message queued before the wait: returns at once, no time spent",
    );
    // SAFETY: Ours, from `sock_create_kern`.
    unsafe { sys::sock_release(sock) };
}

/// Builds a `kunit_case`.
const fn case(name: &'static [u8], run: unsafe extern "C" fn(*mut sys::kunit)) -> sys::kunit_case {
    // SAFETY: All-zero is a valid "empty" case; the fields KUnit reads are set below.
    let mut c: sys::kunit_case = unsafe { core::mem::zeroed() };
    c.run_case = Some(run);
    c.name = name.as_ptr();
    c
}

static mut CASES: [sys::kunit_case; 5] = [
    case(b"url_to_sockaddr\0", url_to_sockaddr),
    case(b"skb_queue_fifo\0", skb_queue_fifo),
    case(b"socket_types\0", socket_types),
    case(b"rx_wait_sees_queued\0", rx_wait_sees_queued),
    // SAFETY: The all-zero terminator KUnit looks for.
    unsafe { core::mem::zeroed() },
];

const fn suite() -> sys::kunit_suite {
    // SAFETY: All-zero is a valid suite without hooks; KUnit fills in its own fields.
    let mut s: sys::kunit_suite = unsafe { core::mem::zeroed() };
    let name = b"sp";
    let mut i = 0;
    while i < name.len() {
        s.name[i] = name[i];
        i += 1;
    }
    // Only the address is taken; KUnit writes case results into the array.
    s.test_cases = addr_of_mut!(CASES).cast();
    s
}

static mut SUITE: sys::kunit_suite = suite();

/// The section entry KUnit's module loader hook looks for.
#[repr(transparent)]
struct SuitePtr(*mut sys::kunit_suite);

// SAFETY: Read only by KUnit, at module load.
unsafe impl Sync for SuitePtr {}

#[used]
#[link_section = ".kunit_test_suites"]
static SUITES: SuitePtr = SuitePtr(addr_of_mut!(SUITE));
