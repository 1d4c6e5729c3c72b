// SPDX-License-Identifier: GPL-2.0

//! Endpoint addresses: `sockaddr_in`/`sockaddr_in6` from bind()/connect(), and `tcp://` URLs
//! from SP_BIND/SP_CONNECT, checked once here and kept as a plain socket address.

use crate::proto::url::{self, Host};
use crate::sock::errno;
use crate::sys;
use kernel::prelude::*;

/// Room for any socket address, aligned for every `sockaddr_*`.
#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct Storage([u8; 128]);

/// A checked IPv4 or IPv6 TCP address.
#[derive(Clone, Copy)]
pub(crate) struct Addr {
    ss: Storage,
    len: usize,
}

const IN_LEN: usize = core::mem::size_of::<sys::sockaddr_in>();
const IN6_LEN: usize = core::mem::size_of::<sys::sockaddr_in6>();

impl Addr {
    /// An address as bind() or connect() received it (already copied from user space).
    ///
    /// # Safety
    ///
    /// `sa` must be valid for `len` bytes.
    pub(crate) unsafe fn from_raw(sa: *const sys::sockaddr, len: i32) -> Result<Self> {
        let len = usize::try_from(len).map_err(|_| EINVAL)?;
        if len < core::mem::size_of::<u16>() {
            return Err(EINVAL);
        }
        // SAFETY: At least the family is readable (checked above).
        let family = u32::from(unsafe { (*sa).sa_family });
        let need = match family {
            sys::AF_INET => IN_LEN,
            sys::AF_INET6 => IN6_LEN,
            _ => return Err(errno(sys::EAFNOSUPPORT)),
        };
        if len < need {
            return Err(EINVAL);
        }
        let mut a = Self {
            ss: Storage([0; 128]),
            len: need,
        };
        // SAFETY: `sa` has `need` readable bytes, `ss` has room for them.
        unsafe { core::ptr::copy_nonoverlapping(sa.cast::<u8>(), a.ss.0.as_mut_ptr(), need) };
        Ok(a)
    }

    /// The address of a `tcp://` URL. `*` is only for bind, where it means every IPv4 and IPv6
    /// address (a dual-stack IPv6 socket).
    pub(crate) fn from_url(s: &[u8], bind: bool) -> Result<Self> {
        let u = url::parse(s).map_err(|_| EINVAL)?;
        let mut a = Self {
            ss: Storage([0; 128]),
            len: 0,
        };
        let v6 = |a: &mut Self, ip: [u8; 16]| {
            let mut sin6 = sys::sockaddr_in6 {
                sin6_family: sys::AF_INET6 as u16,
                sin6_port: u.port.to_be(),
                ..Default::default()
            };
            sin6.sin6_addr.in6_u.u6_addr8 = ip;
            a.put(&sin6);
        };
        match u.host {
            Host::Any if !bind => return Err(EINVAL),
            Host::Any => v6(&mut a, [0; 16]),
            Host::V6(ip) => v6(&mut a, ip),
            Host::V4(ip) => {
                let mut sin = sys::sockaddr_in {
                    sin_family: sys::AF_INET as u16,
                    sin_port: u.port.to_be(),
                    ..Default::default()
                };
                sin.sin_addr.s_addr = u32::from_ne_bytes(ip);
                a.put(&sin);
            }
        }
        Ok(a)
    }

    fn put<T: Copy>(&mut self, sa: &T) {
        let n = core::mem::size_of::<T>();
        // SAFETY: `T` is a `sockaddr_in{,6}`, smaller than the storage; plain bytes.
        unsafe {
            core::ptr::copy_nonoverlapping((sa as *const T).cast::<u8>(), self.ss.0.as_mut_ptr(), n)
        };
        self.len = n;
    }

    /// `AF_INET` or `AF_INET6`.
    pub(crate) fn family(&self) -> u16 {
        u16::from_ne_bytes([self.ss.0[0], self.ss.0[1]])
    }

    /// Length of the socket address.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// For the kernel's socket calls, which read it.
    pub(crate) fn as_ptr(&self) -> *mut sys::sockaddr {
        self.ss.0.as_ptr() as *mut sys::sockaddr
    }

    /// For `kernel_getsockname`, which fills it in; sets the length it returns.
    pub(crate) fn as_mut_ptr(&mut self) -> *mut sys::sockaddr {
        self.ss.0.as_mut_ptr().cast()
    }

    /// Records the length `kernel_getsockname` returned.
    pub(crate) fn set_len(&mut self, len: usize) {
        self.len = len.min(self.ss.0.len());
    }

    /// The raw bytes, for getsockname().
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.ss.0[..self.len]
    }
}
