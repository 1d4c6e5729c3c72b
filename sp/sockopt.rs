// SPDX-License-Identifier: GPL-2.0

//! SOL_SP socket options (SOL_SOCKET ones are the core's: SO_RCVBUF, SO_RCVTIMEO, SO_LINGER...).

use crate::addr::Addr;
use crate::pubsub;
use crate::sock::{errno, Kind, Socket};
use crate::sys;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::uaccess::UserSlice;

/// Longest URL SP_BIND/SP_CONNECT take.
const URL_MAX: usize = 256;

fn enoprotoopt() -> Error {
    errno(sys::ENOPROTOOPT)
}

/// setsockopt(fd, SOL_SP, ...).
pub(crate) fn set(
    sock: &Arc<Socket>,
    level: i32,
    name: i32,
    val: sys::sockptr_t,
    len: u32,
) -> Result {
    if level != sys::SOL_SP as i32 {
        return Err(enoprotoopt());
    }
    let name = u32::try_from(name).map_err(|_| enoprotoopt())?;
    match name {
        sys::SP_BIND | sys::SP_CONNECT => {
            let len = len as usize;
            if len == 0 || len > URL_MAX {
                return Err(EINVAL);
            }
            let mut buf = [0u8; URL_MAX];
            // SAFETY: `buf` has room for `len` bytes.
            let r = unsafe { sys::sp_copy_from_sockptr(buf.as_mut_ptr().cast(), val, len) };
            if r != 0 {
                return Err(Error::from_errno(r));
            }
            // A C caller may count the terminating NUL.
            let url = match buf[..len].iter().position(|&c| c == 0) {
                Some(n) => &buf[..n],
                None => &buf[..len],
            };
            let bind = name == sys::SP_BIND;
            let addr = Addr::from_url(url, bind)?;
            if bind {
                crate::family::bind(sock, &addr)
            } else {
                crate::family::connect(sock, &addr)
            }
        }
        sys::SP_SUBSCRIBE | sys::SP_UNSUBSCRIBE => {
            let len = len as usize;
            if len > pubsub::MAX_PREFIX {
                return Err(EINVAL);
            }
            let mut buf = [0u8; pubsub::MAX_PREFIX];
            if len > 0 {
                // SAFETY: `buf` has room for `len` bytes.
                let r = unsafe { sys::sp_copy_from_sockptr(buf.as_mut_ptr().cast(), val, len) };
                if r != 0 {
                    return Err(Error::from_errno(r));
                }
            }
            pubsub::set_subscription(sock, &buf[..len], name == sys::SP_SUBSCRIBE)
        }
        sys::SP_RESEND_IVL
        | sys::SP_RECONNECT_IVL
        | sys::SP_RECONNECT_IVL_MAX
        | sys::SP_RCVMAXSIZE
        | sys::SP_SNDPRIO => {
            if (len as usize) < core::mem::size_of::<i32>() {
                return Err(EINVAL);
            }
            let mut v: i32 = 0;
            // SAFETY: `v` has room for an int.
            let r = unsafe { sys::sp_copy_from_sockptr((&mut v as *mut i32).cast(), val, 4) };
            if r != 0 {
                return Err(Error::from_errno(r));
            }
            let mut inner = sock.inner.lock();
            let o = &mut inner.opts;
            match name {
                sys::SP_RESEND_IVL if sock.kind == Kind::Req && v > 0 => o.resend_ivl = v as u32,
                sys::SP_RESEND_IVL if sock.kind != Kind::Req => return Err(enoprotoopt()),
                sys::SP_RECONNECT_IVL if v >= 0 => o.reconnect_ivl = v as u32,
                sys::SP_RECONNECT_IVL_MAX if v >= 0 => o.reconnect_ivl_max = v as u32,
                sys::SP_RCVMAXSIZE if v == -1 => o.rcvmaxsize = None,
                sys::SP_RCVMAXSIZE if v >= 0 => o.rcvmaxsize = Some(v as u32),
                sys::SP_SNDPRIO if (1..=16).contains(&v) => o.sndprio = v as u8,
                _ => return Err(EINVAL),
            }
            Ok(())
        }
        _ => Err(enoprotoopt()),
    }
}

/// getsockopt(fd, SOL_SP, ...).
pub(crate) fn get(sock: &Socket, level: i32, name: i32, val: *mut u8, lenp: *mut i32) -> Result {
    if level != sys::SOL_SP as i32 {
        return Err(enoprotoopt());
    }
    let name = u32::try_from(name).map_err(|_| enoprotoopt())?;
    if name == sys::SP_DROPS {
        let drops = sock.inner.lock().drops;
        return put(val, lenp, &drops.to_ne_bytes());
    }
    let o = sock.opts();
    let v: i32 = match name {
        sys::SP_RESEND_IVL if sock.kind == Kind::Req => o.resend_ivl as i32,
        sys::SP_RECONNECT_IVL => o.reconnect_ivl as i32,
        sys::SP_RECONNECT_IVL_MAX => o.reconnect_ivl_max as i32,
        sys::SP_RCVMAXSIZE => o.rcvmaxsize.map_or(-1, |m| m as i32),
        sys::SP_SNDPRIO => i32::from(o.sndprio),
        sys::SP_PEERS => i32::try_from(sock.peers()).unwrap_or(i32::MAX),
        _ => return Err(enoprotoopt()),
    };
    put(val, lenp, &v.to_ne_bytes())
}

/// Copies `value` out as getsockopt does, with the length written back. Every SOL_SP value
/// is read whole: a caller's length shorter than the value is EINVAL, never a silently
/// truncated number; a longer one is shortened to the value's size.
fn put(val: *mut u8, lenp: *mut i32, value: &[u8]) -> Result {
    let mut lr = UserSlice::new(lenp as usize, core::mem::size_of::<i32>()).reader();
    let len: i32 = lr.read()?;
    let len = usize::try_from(len).map_err(|_| EINVAL)?;
    if len < value.len() {
        return Err(EINVAL);
    }
    let n = value.len();
    UserSlice::new(val as usize, n)
        .writer()
        .write_slice(&value[..n])?;
    UserSlice::new(lenp as usize, core::mem::size_of::<i32>())
        .writer()
        .write(&(n as i32))?;
    Ok(())
}
