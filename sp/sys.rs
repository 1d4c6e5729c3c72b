// SPDX-License-Identifier: GPL-2.0

//! Bindings to the C this module needs and the 6.12 kernel crate does not bind.
//!
//! Generated at build time by the module's own bindgen pass over `sys.h` (see `Kbuild`), with
//! the kernel's own C flags, so that the layout of `struct sock` and friends matches the kernel
//! being built against.  The uapi constants (`AF_SP`, `SOL_SP`, `SP_*`) come from
//! `include/uapi/linux/sp.h` through the same pass: the header is their one source of truth.

#![allow(
    clippy::all,
    dead_code,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    improper_ctypes,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks
)]

use kernel::ffi;

// The kernel blocklists these to map them onto Rust's own types.
type __kernel_size_t = usize;
type __kernel_ssize_t = isize;
type __kernel_ptrdiff_t = isize;

include!("sys_generated.rs");
