// SPDX-License-Identifier: GPL-2.0

//! The PF_SP family: its registration with the socket core and the `proto_ops` trampolines.
//!
//! [`Proto`] registers the `proto`, [`Registration`] the family, each undone on drop; module
//! exit drops the family first and the `proto` last, after lingering sockets are gone (see
//! `linger.rs`). The trampolines turn the core's C calls into calls on the [`Socket`] the
//! `struct sp_sk` points at, and errors into negative errnos.

use crate::addr::Addr;
use crate::endpoint::{Dialer, Endpoint, Listener};
use crate::sock::{errno, Socket};
use crate::{pattern, sockopt, sys};
use core::ptr::{addr_of, addr_of_mut};
use kernel::error::from_result;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};

// The core keeps pointers to these for as long as they are registered; they are written only
// by `Proto::new` and `Registration::new`, before registration.
// SAFETY: These are plain C structs of integers, pointers and optional function pointers,
// for which all zeroes is valid: what C's static initialisation gives them.
static mut PROTO: sys::proto = unsafe { core::mem::zeroed() };
// SAFETY: As above.
static mut OPS: sys::proto_ops = unsafe { core::mem::zeroed() };
// SAFETY: As above.
static mut FAMILY: sys::net_proto_family = unsafe { core::mem::zeroed() };

/// The `proto` of SP sockets, registered while this lives.
pub(crate) struct Proto(());

impl Proto {
    /// Registers the `proto`. It has no owner: a socket that lingers after its file is
    /// closed must not pin the module, whose exit finishes such sockets instead.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: Nothing else touches `PROTO` before it is registered here.
        unsafe {
            let proto = &mut *addr_of_mut!(PROTO);
            for (d, s) in proto.name.iter_mut().zip(b"SP\0") {
                *d = *s;
            }
            proto.obj_size = core::mem::size_of::<sys::sp_sk>() as u32;
            let r = sys::proto_register(proto, 1);
            if r < 0 {
                return Err(Error::from_errno(r));
            }
        }
        Ok(Self(()))
    }
}

impl Drop for Proto {
    fn drop(&mut self) {
        // SAFETY: Registered in `new`; module exit drops this after the family, the lingering
        // sockets and the workqueue, so no `struct sock` of ours is left.
        unsafe { sys::proto_unregister(addr_of_mut!(PROTO)) };
    }
}

/// The family, registered while this lives.
pub(crate) struct Registration {
    family: i32,
}

impl Registration {
    /// Registers the family number given by the `family=` parameter; `proto_ops` hold a
    /// module reference for each open socket.
    pub(crate) fn new(module: &'static ThisModule, _proto: &Proto) -> Result<Self> {
        // SAFETY: Module parameter, read-only after load.
        let family = unsafe { sys::sp_family };
        if !(1..sys::AF_MAX as i32).contains(&family) {
            pr_err!("family={} is out of range\n", family);
            return Err(EINVAL);
        }
        let owner = module.as_ptr().cast();
        // SAFETY: Nothing else touches the statics before they are registered below.
        unsafe {
            let ops = &mut *addr_of_mut!(OPS);
            ops.family = family;
            ops.owner = owner;
            ops.release = Some(sp_release);
            ops.bind = Some(sp_bind);
            ops.connect = Some(sp_connect);
            ops.socketpair = Some(sys::sock_no_socketpair);
            ops.accept = Some(sys::sock_no_accept);
            ops.getname = Some(sp_getname);
            ops.poll = Some(sp_poll);
            ops.ioctl = Some(sys::sock_no_ioctl);
            ops.listen = Some(sp_listen);
            ops.shutdown = Some(sys::sock_no_shutdown);
            ops.setsockopt = Some(sp_setsockopt);
            ops.getsockopt = Some(sp_getsockopt);
            ops.sendmsg = Some(sp_sendmsg);
            ops.recvmsg = Some(sp_recvmsg);
            ops.mmap = Some(sys::sock_no_mmap);
            let npf = &mut *addr_of_mut!(FAMILY);
            npf.family = family;
            npf.create = Some(sp_create);
            npf.owner = owner;

            let r = sys::sock_register(addr_of!(FAMILY));
            if r < 0 {
                pr_err!(
                    "cannot register family {} ({}): in use? try family=N\n",
                    family,
                    r
                );
                return Err(Error::from_errno(r));
            }
        }
        pr_info!("PF_SP registered as family {}\n", family);
        Ok(Self { family })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: Registered in `new`; `sock_unregister` waits for concurrent `create` calls.
        unsafe { sys::sock_unregister(self.family) };
    }
}

/// bind(): listen on `addr` now.
pub(crate) fn bind(sock: &Arc<Socket>, addr: &Addr) -> Result {
    let l = Listener::start(sock, addr)?;
    if let Err(ep) = sock.add_endpoint(Endpoint::Listener(l)) {
        ep.close();
        return Err(ENOMEM);
    }
    Ok(())
}

/// connect(): dial `addr` in the background.
pub(crate) fn connect(sock: &Arc<Socket>, addr: &Addr) -> Result {
    let d = Dialer::start(sock, addr)?;
    if let Err(ep) = sock.add_endpoint(Endpoint::Dialer(d)) {
        ep.close();
        return Err(ENOMEM);
    }
    Ok(())
}

/// The socket state of a PF_SP `struct socket`.
///
/// # Safety
///
/// `sock` must be a PF_SP socket in a system call other than release, which keeps it and its
/// state alive for `'a`.
unsafe fn state<'a>(sock: *mut sys::socket) -> Result<ArcBorrow<'a, Socket>> {
    // SAFETY: See above; `state` was set by `sp_create` from `Arc::into_raw`.
    unsafe {
        let sk = (*sock).sk.cast::<sys::sp_sk>();
        if sk.is_null() || (*sk).state.is_null() {
            return Err(EINVAL);
        }
        Ok(ArcBorrow::from_raw((*sk).state.cast::<Socket>()))
    }
}

/// `net_proto_family::create`: a new PF_SP socket.
///
/// # Safety
///
/// The socket core calls it with a valid, still empty `sock` in `net`.
unsafe extern "C" fn sp_create(
    net: *mut sys::net,
    sock: *mut sys::socket,
    protocol: i32,
    kern: i32,
) -> i32 {
    from_result(|| {
        if protocol != 0 && protocol != sys::IPPROTO_TCP as i32 {
            return Err(errno(sys::EPROTONOSUPPORT));
        }
        // SAFETY: The core passes a fresh socket.
        let ty =
            pattern::find(unsafe { (*sock).type_ } as i32).ok_or(errno(sys::ESOCKTNOSUPPORT))?;
        // SAFETY: The family is registered, so are `PROTO` and `OPS`.
        let sk = unsafe {
            (*sock).state = sys::socket_state_SS_UNCONNECTED;
            (*sock).ops = addr_of!(OPS);
            sys::sk_alloc(
                net,
                (*addr_of!(FAMILY)).family,
                kernel::bindings::GFP_KERNEL,
                addr_of_mut!(PROTO),
                kern,
            )
        };
        if sk.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `sk` is fresh; `sock_init_data` links it to `sock`. An SP socket is always
        // "connected" to its pattern: the core's datagram helpers treat some type numbers
        // (SOCK_REP is SOCK_SEQPACKET's 5) as connection-based and want an established state.
        unsafe {
            sys::sock_init_data(sock, sk);
            sys::sp_sk_set_state(sk, sys::TCP_ESTABLISHED as i32);
        }
        match Socket::new(sk, ty) {
            Ok(s) => {
                // SAFETY: `sk` is a `struct sp_sk` (obj_size); the reference is released in
                // `sp_release`.
                unsafe { (*sk.cast::<sys::sp_sk>()).state = Arc::into_raw(s) as *mut _ };
                Ok(0)
            }
            Err(e) => {
                // SAFETY: Undo `sock_init_data`; the core frees nothing else on error.
                unsafe {
                    sys::sp_sock_orphan(sk);
                    (*sock).sk = core::ptr::null_mut();
                    sys::sp_sock_put(sk);
                }
                Err(e)
            }
        }
    })
}

/// `proto_ops::release`: the file is closed.
///
/// # Safety
///
/// The socket core calls it once, with a PF_SP `sock`, after the last system call on it.
unsafe extern "C" fn sp_release(sock: *mut sys::socket) -> i32 {
    // SAFETY: The core calls release once, when the last file reference is gone.
    unsafe {
        let sk = (*sock).sk;
        if sk.is_null() {
            return 0;
        }
        let spsk = sk.cast::<sys::sp_sk>();
        let raw = (*spsk).state;
        (*spsk).state = core::ptr::null_mut();
        if !raw.is_null() {
            let s = Arc::from_raw(raw.cast::<Socket>());
            s.close();
            drop(s);
        }
        sys::sp_sk_set_state(sk, sys::TCP_CLOSE as i32);
        sys::sp_sock_orphan(sk);
        (*sock).sk = core::ptr::null_mut();
        sys::sp_sk_purge_receive_queue(sk);
        sys::sp_sock_put(sk);
    }
    0
}

/// `proto_ops::bind` of PF_SP sockets.
///
/// # Safety
///
/// The socket core calls it in a system call on a PF_SP `sock`, with the arguments it
/// checked and copied in.
unsafe extern "C" fn sp_bind(sock: *mut sys::socket, sa: *mut sys::sockaddr, len: i32) -> i32 {
    from_result(|| {
        // SAFETY: A system call on a PF_SP socket; the core copied the address in.
        let (s, addr) = unsafe { (state(sock)?, Addr::from_raw(sa, len)?) };
        bind(&s.into(), &addr)?;
        Ok(0)
    })
}

/// `proto_ops::connect` of PF_SP sockets.
///
/// # Safety
///
/// The socket core calls it in a system call on a PF_SP `sock`, with the arguments it
/// checked and copied in.
unsafe extern "C" fn sp_connect(
    sock: *mut sys::socket,
    sa: *mut sys::sockaddr,
    len: i32,
    _flags: i32,
) -> i32 {
    from_result(|| {
        // SAFETY: As for `sp_bind`.
        let (s, addr) = unsafe { (state(sock)?, Addr::from_raw(sa, len)?) };
        connect(&s.into(), &addr)?;
        Ok(0)
    })
}

/// `proto_ops::getname` of PF_SP sockets.
///
/// # Safety
///
/// The socket core calls it in a system call on a PF_SP `sock`, with the arguments it
/// checked and copied in.
unsafe extern "C" fn sp_getname(sock: *mut sys::socket, sa: *mut sys::sockaddr, peer: i32) -> i32 {
    from_result(|| {
        // SAFETY: As for `sp_bind`.
        let s = unsafe { state(sock)? };
        if peer != 0 {
            return Err(errno(sys::ENOTCONN));
        }
        let local = s.local_addr().ok_or(errno(sys::ENOTCONN))?;
        let b = local.bytes();
        // SAFETY: The core passes room for a `sockaddr_storage`.
        unsafe { core::ptr::copy_nonoverlapping(b.as_ptr(), sa.cast::<u8>(), b.len()) };
        Ok(b.len() as i32)
    })
}

/// `proto_ops::poll` of PF_SP sockets.
///
/// # Safety
///
/// The socket core calls it in a system call on a PF_SP `sock`, with the arguments it
/// checked and copied in.
unsafe extern "C" fn sp_poll(
    file: *mut sys::file,
    sock: *mut sys::socket,
    wait: *mut sys::poll_table_struct,
) -> u32 {
    // SAFETY: As for `sp_bind`.
    match unsafe { state(sock) } {
        Ok(s) => s.poll(file, sock, wait),
        Err(_) => sys::POLLERR,
    }
}

/// `proto_ops::listen` of PF_SP sockets.
///
/// # Safety
///
/// The socket core calls it in a system call on a PF_SP `sock`, with the arguments it
/// checked and copied in.
unsafe extern "C" fn sp_listen(sock: *mut sys::socket, _backlog: i32) -> i32 {
    // Accepted and changes nothing: bind() already listens.
    // SAFETY: As for `sp_bind`.
    from_result(|| unsafe { state(sock) }.map(|_| 0))
}

/// `proto_ops::setsockopt` of PF_SP sockets.
///
/// # Safety
///
/// The socket core calls it in a system call on a PF_SP `sock`, with the arguments it
/// checked and copied in.
unsafe extern "C" fn sp_setsockopt(
    sock: *mut sys::socket,
    level: i32,
    name: i32,
    val: sys::sockptr_t,
    len: u32,
) -> i32 {
    from_result(|| {
        // SAFETY: As for `sp_bind`.
        let s = unsafe { state(sock)? };
        sockopt::set(&s.into(), level, name, val, len)?;
        Ok(0)
    })
}

/// `proto_ops::getsockopt` of PF_SP sockets.
///
/// # Safety
///
/// The socket core calls it in a system call on a PF_SP `sock`, with the arguments it
/// checked and copied in.
unsafe extern "C" fn sp_getsockopt(
    sock: *mut sys::socket,
    level: i32,
    name: i32,
    val: *mut u8,
    len: *mut i32,
) -> i32 {
    from_result(|| {
        // SAFETY: As for `sp_bind`.
        let s = unsafe { state(sock)? };
        sockopt::get(&s, level, name, val, len)?;
        Ok(0)
    })
}

/// `proto_ops::sendmsg` of PF_SP sockets.
///
/// # Safety
///
/// The socket core calls it in a system call on a PF_SP `sock`, with the arguments it
/// checked and copied in.
unsafe extern "C" fn sp_sendmsg(sock: *mut sys::socket, msg: *mut sys::msghdr, len: usize) -> i32 {
    from_result(|| {
        // SAFETY: As for `sp_bind`.
        let s = unsafe { state(sock)? };
        Ok(s.sendmsg(msg, len)? as i32)
    })
}

/// `proto_ops::recvmsg` of PF_SP sockets.
///
/// # Safety
///
/// The socket core calls it in a system call on a PF_SP `sock`, with the arguments it
/// checked and copied in.
unsafe extern "C" fn sp_recvmsg(
    sock: *mut sys::socket,
    msg: *mut sys::msghdr,
    len: usize,
    flags: i32,
) -> i32 {
    from_result(|| {
        // SAFETY: As for `sp_bind`.
        let s = unsafe { state(sock)? };
        Ok(s.recvmsg(msg, len, flags)? as i32)
    })
}
