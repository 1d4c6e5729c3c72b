// SPDX-License-Identifier: GPL-2.0

//! SOL_SP socket options (SOL_SOCKET ones are the core's: SO_RCVBUF, SO_RCVTIMEO, SO_LINGER...).

use crate::addr::Addr;
use crate::pattern;
use crate::sock::{errno, Socket};
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
            copy_in(&mut buf[..len], val)?;
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
        sys::SP_RECONNECT_IVL
        | sys::SP_RECONNECT_IVL_MAX
        | sys::SP_RCVMAXSIZE
        | sys::SP_SNDPRIO => {
            let mut v = [0u8; 4];
            if (len as usize) < v.len() {
                return Err(EINVAL);
            }
            copy_in(&mut v, val)?;
            let v = i32::from_ne_bytes(v);
            sock.set_opts(|o| {
                match name {
                    sys::SP_RECONNECT_IVL if v >= 0 => o.reconnect_ivl = v as u32,
                    sys::SP_RECONNECT_IVL_MAX if v >= 0 => o.reconnect_ivl_max = v as u32,
                    sys::SP_RCVMAXSIZE if v == -1 => o.rcvmaxsize = None,
                    sys::SP_RCVMAXSIZE if v >= 0 => o.rcvmaxsize = Some(v as u32),
                    sys::SP_SNDPRIO if (1..=16).contains(&v) => o.sndprio = v as u8,
                    _ => return Err(EINVAL),
                }
                Ok(())
            })
        }
        // The pattern's own, with the value copied in first: it looks at it under the
        // socket's spinlock, where user memory cannot be read.
        // A longer value is cut one byte past what any takes, so that it is still too long.
        _ => {
            let mut buf = [0u8; pattern::OPT_MAX + 1];
            let n = (len as usize).min(buf.len());
            copy_in(&mut buf[..n], val)?;
            sock.pattern_setopt(name, &buf[..n])
                .unwrap_or_else(|| Err(enoprotoopt()))
        }
    }
}

/// getsockopt(fd, SOL_SP, ...).
pub(crate) fn get(sock: &Socket, level: i32, name: i32, val: *mut u8, lenp: *mut i32) -> Result {
    if level != sys::SOL_SP as i32 {
        return Err(enoprotoopt());
    }
    let name = u32::try_from(name).map_err(|_| enoprotoopt())?;
    if name == sys::SP_DROPS {
        return put(val, lenp, &sock.drops().to_ne_bytes());
    }
    let o = sock.opts();
    let v: i32 = match name {
        sys::SP_RECONNECT_IVL => o.reconnect_ivl as i32,
        sys::SP_RECONNECT_IVL_MAX => o.reconnect_ivl_max as i32,
        sys::SP_RCVMAXSIZE => o.rcvmaxsize.map_or(-1, |m| m as i32),
        sys::SP_SNDPRIO => i32::from(o.sndprio),
        sys::SP_PEERS => i32::try_from(sock.peers()).unwrap_or(i32::MAX),
        _ => sock.pattern_getopt(name).ok_or_else(enoprotoopt)?,
    };
    put(val, lenp, &v.to_ne_bytes())
}

/// Copies an option's value in from the caller, `dst.len()` bytes of it.
fn copy_in(dst: &mut [u8], val: sys::sockptr_t) -> Result {
    // SAFETY: `dst` has room for `dst.len()` bytes; the helper checks the user range.
    let r = unsafe { sys::sp_copy_from_sockptr(dst.as_mut_ptr().cast(), val, dst.len()) };
    if r != 0 {
        return Err(Error::from_errno(r));
    }
    Ok(())
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
