// SPDX-License-Identifier: GPL-2.0

//! PF_SP from Rust: the Hello World exchange through plain `libc` calls.
//!
//! The constants are mirrored from `include/uapi/linux/sp.h`; the first check
//! parses that header (embedded at build time) and fails if any mirrored
//! value drifted.  Then a REP socket binds 127.0.0.1, a REQ socket connects
//! to it, the REQ sends "Hello\0", the REP must receive exactly that and
//! answer "World\0", which the REQ must receive exactly; a second REQ does
//! the same through `SP_CONNECT` with a URL.  Output is TAP; an alarm()
//! watchdog turns a hang into `not ok` and an exit.

use std::ffi::c_int;
use std::mem::size_of;
use std::process::exit;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Mirrors of the uapi header's constants, checked against it at run time.
const AF_SP: c_int = 18;
const SOCK_REQ: c_int = 4;
const SOCK_REP: c_int = 5;
const SOL_SP: c_int = 300;
const SP_RESEND_IVL: c_int = 3;
const SP_CONNECT: c_int = 9;

const MIRRORED: &[(&str, c_int)] = &[
    ("AF_SP", AF_SP),
    ("SOCK_REQ", SOCK_REQ),
    ("SOCK_REP", SOCK_REP),
    ("SOL_SP", SOL_SP),
    ("SP_RESEND_IVL", SP_RESEND_IVL),
    ("SP_CONNECT", SP_CONNECT),
];

const HEADER: &str = include_str!("../../../include/uapi/linux/sp.h");
const PORT: u16 = 25200;
const PLAN: usize = 9;
const WATCHDOG_SECS: u32 = 120;

static DONE: AtomicUsize = AtomicUsize::new(0);
static FAILED: AtomicUsize = AtomicUsize::new(0);

fn ok(cond: bool, desc: &str) -> bool {
    let n = DONE.fetch_add(1, Ordering::SeqCst) + 1;
    if !cond {
        FAILED.fetch_add(1, Ordering::SeqCst);
    }
    println!("{}ok {} - {}", if cond { "" } else { "not " }, n, desc);
    cond
}

fn diag(msg: &str) {
    for line in msg.lines() {
        println!("# {line}");
    }
}

fn bail(msg: &str) -> ! {
    println!("Bail out! {msg}");
    exit(1);
}

fn errno() -> std::io::Error {
    std::io::Error::last_os_error()
}

/// Async-signal-safe: print `not ok N - watchdog` and leave.
extern "C" fn watchdog(_sig: c_int) {
    let mut buf = [0u8; 96];
    let mut len = 0;
    let mut put = |bytes: &[u8]| {
        for &b in bytes {
            if len < buf.len() {
                buf[len] = b;
                len += 1;
            }
        }
    };
    put(b"not ok ");
    let n = DONE.load(Ordering::SeqCst) + 1;
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    put(&digits[i..]);
    put(b" - watchdog: test hung\nBail out! watchdog fired\n");
    // SAFETY: write(2) and _exit(2) are async-signal-safe; buf outlives the call.
    unsafe {
        libc::write(1, buf.as_ptr().cast(), len);
        libc::_exit(1);
    }
}

/// Every `#define NAME number` of the header.
fn header_defines() -> Vec<(String, i64)> {
    HEADER
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            if words.next()? != "#define" {
                return None;
            }
            let name = words.next()?.to_string();
            let value = words.next()?.parse().ok()?;
            Some((name, value))
        })
        .collect()
}

fn wait_ms() -> i64 {
    std::env::var("SP_TEST_WAIT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&v| v > 0)
        .unwrap_or(20000)
}

/// An owned PF_SP socket, closed on drop.
struct Sock(c_int);

impl Drop for Sock {
    fn drop(&mut self) {
        // SAFETY: we own the descriptor.
        unsafe { libc::close(self.0) };
    }
}

impl Sock {
    fn new(ty: c_int) -> std::io::Result<Sock> {
        // SAFETY: plain syscall with integer arguments.
        let fd = unsafe { libc::socket(AF_SP, ty, libc::IPPROTO_TCP) };
        if fd < 0 {
            return Err(errno());
        }
        let s = Sock(fd);
        let ms = wait_ms();
        let tv = libc::timeval {
            tv_sec: (ms / 1000) as libc::time_t,
            tv_usec: ((ms % 1000) * 1000) as libc::suseconds_t,
        };
        for opt in [libc::SO_RCVTIMEO, libc::SO_SNDTIMEO] {
            s.setsockopt(libc::SOL_SOCKET, opt, &tv)?;
        }
        Ok(s)
    }

    fn setsockopt<T>(&self, level: c_int, opt: c_int, val: &T) -> std::io::Result<()> {
        // SAFETY: val points to a live T of the size passed.
        let rc = unsafe {
            libc::setsockopt(
                self.0,
                level,
                opt,
                (val as *const T).cast(),
                size_of::<T>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            Err(errno())
        } else {
            Ok(())
        }
    }

    fn set_bytes(&self, level: c_int, opt: c_int, val: &[u8]) -> std::io::Result<()> {
        // SAFETY: val is a live slice of the length passed.
        let rc = unsafe {
            libc::setsockopt(
                self.0,
                level,
                opt,
                val.as_ptr().cast(),
                val.len() as libc::socklen_t,
            )
        };
        if rc < 0 {
            Err(errno())
        } else {
            Ok(())
        }
    }

    fn addr(port: u16) -> libc::sockaddr_in {
        // SAFETY: sockaddr_in is plain old data; all zeroes is valid.
        let mut sin: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        sin.sin_family = libc::AF_INET as libc::sa_family_t;
        sin.sin_port = port.to_be();
        sin.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        sin
    }

    fn bind(&self, port: u16) -> std::io::Result<()> {
        let sin = Sock::addr(port);
        let one: c_int = 1;
        let _ = self.setsockopt(libc::SOL_SOCKET, libc::SO_REUSEADDR, &one);
        // SAFETY: sin is a valid sockaddr_in of the length passed.
        let rc = unsafe {
            libc::bind(
                self.0,
                (&sin as *const libc::sockaddr_in).cast(),
                size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            Err(errno())
        } else {
            Ok(())
        }
    }

    fn connect(&self, port: u16) -> std::io::Result<()> {
        let sin = Sock::addr(port);
        // SAFETY: sin is a valid sockaddr_in of the length passed.
        let rc = unsafe {
            libc::connect(
                self.0,
                (&sin as *const libc::sockaddr_in).cast(),
                size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            Err(errno())
        } else {
            Ok(())
        }
    }

    fn send(&self, msg: &[u8]) -> std::io::Result<usize> {
        // SAFETY: msg is a live slice of the length passed.
        let n = unsafe { libc::send(self.0, msg.as_ptr().cast(), msg.len(), 0) };
        if n < 0 {
            Err(errno())
        } else {
            Ok(n as usize)
        }
    }

    fn recv(&self) -> std::io::Result<Vec<u8>> {
        let mut buf = vec![0u8; 4096];
        // SAFETY: buf is a live, writable buffer of the length passed.
        let n = unsafe { libc::recv(self.0, buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(errno());
        }
        buf.truncate(n as usize);
        Ok(buf)
    }
}

/// Receive one message and compare it with `want`.
fn expect(s: &Sock, want: &[u8], what: &str) -> bool {
    match s.recv() {
        Ok(got) if got == want => true,
        Ok(got) => {
            diag(&format!("{what}: got {got:?}, expected {want:?}"));
            false
        }
        Err(e) => {
            diag(&format!("{what}: recv: {e}"));
            false
        }
    }
}

fn sent(r: std::io::Result<usize>, len: usize, what: &str) -> bool {
    match r {
        Ok(n) if n == len => true,
        Ok(n) => {
            diag(&format!("{what}: send returned {n}, not {len}"));
            false
        }
        Err(e) => {
            diag(&format!("{what}: send: {e}"));
            false
        }
    }
}

fn main() {
    println!("1..{PLAN}");
    // SAFETY: installing an async-signal-safe handler, then arming alarm().
    unsafe {
        libc::signal(libc::SIGALRM, watchdog as *const () as libc::sighandler_t);
        libc::alarm(WATCHDOG_SECS);
    }

    let defines = header_defines();
    let mut drift = Vec::new();
    for &(name, value) in MIRRORED {
        match defines.iter().find(|(n, _)| n == name) {
            Some(&(_, v)) if v == i64::from(value) => {}
            Some(&(_, v)) => drift.push(format!("{name} is {v} in sp.h, {value} here")),
            None => drift.push(format!("{name} not found in sp.h")),
        }
    }
    for d in &drift {
        diag(d);
    }
    ok(
        drift.is_empty(),
        &format!(
            "the {} mirrored constants match include/uapi/linux/sp.h",
            MIRRORED.len()
        ),
    );

    let open = |ty: c_int, name: &str| match Sock::new(ty) {
        Ok(s) => s,
        Err(e) => {
            ok(false, &format!("socket(AF_SP={AF_SP}, {name}): {e}"));
            bail("cannot create PF_SP sockets (is the sp module loaded?)");
        }
    };
    let rep = open(SOCK_REP, "SOCK_REP");
    let req = open(SOCK_REQ, "SOCK_REQ");

    let r = rep.bind(PORT);
    if let Err(e) = &r {
        diag(&format!("bind: {e}"));
    }
    ok(r.is_ok(), &format!("REP binds 127.0.0.1:{PORT}"));
    let r = req.connect(PORT);
    if let Err(e) = &r {
        diag(&format!("connect: {e}"));
    }
    ok(r.is_ok(), &format!("REQ connects to 127.0.0.1:{PORT}"));

    ok(
        sent(req.send(b"Hello\0"), 6, "REQ"),
        "REQ sends \"Hello\\0\"",
    );
    ok(
        expect(&rep, b"Hello\0", "REP"),
        "REP receives exactly \"Hello\\0\"",
    );
    ok(
        sent(rep.send(b"World\0"), 6, "REP"),
        "REP sends \"World\\0\"",
    );
    ok(
        expect(&req, b"World\0", "REQ"),
        "REQ receives exactly \"World\\0\"",
    );

    let req2 = open(SOCK_REQ, "SOCK_REQ");
    let url = format!("tcp://127.0.0.1:{PORT}");
    let r = req2.set_bytes(SOL_SP, SP_CONNECT, url.as_bytes());
    if let Err(e) = &r {
        diag(&format!("SP_CONNECT: {e}"));
    }
    let good = r.is_ok()
        && sent(req2.send(b"via URL"), 7, "REQ2")
        && expect(&rep, b"via URL", "REP")
        && sent(rep.send(b"ok"), 2, "REP")
        && expect(&req2, b"ok", "REQ2");
    ok(
        good,
        &format!("a REQ connected with SP_CONNECT \"{url}\" gets its answer"),
    );

    let ivl: c_int = 1500;
    let r = req2.setsockopt(SOL_SP, SP_RESEND_IVL, &ivl);
    if let Err(e) = &r {
        diag(&format!("SP_RESEND_IVL: {e}"));
    }
    ok(r.is_ok(), "setsockopt(SOL_SP, SP_RESEND_IVL) is accepted");

    let failed = FAILED.load(Ordering::SeqCst);
    if DONE.load(Ordering::SeqCst) != PLAN {
        diag("plan and checks run disagree");
        exit(1);
    }
    exit(if failed == 0 { 0 } else { 1 });
}
