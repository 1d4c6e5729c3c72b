# SPDX-License-Identifier: GPL-2.0
# Sourced by scripts: the one toolchain the kernel and the module are built with.
# The rustup compiler in ~/.cargo/bin has no library source, so the kernel
# build uses Debian's rustc-web (/usr/bin/rustc) and bindgen from crates.io.
SP_RUSTC=${SP_RUSTC:-/usr/bin/rustc}
SP_BINDGEN=${SP_BINDGEN:-${CARGO_HOME:-$HOME/.cargo}/bin/bindgen}
SP_KMAKE_VARS="LLVM=1 RUSTC=$SP_RUSTC HOSTRUSTC=$SP_RUSTC BINDGEN=$SP_BINDGEN"

# The module's sources of this tree (Kbuild, sp/, include/) into $1, for a
# build against another kernel: no build products, and above all not the
# bindings generated for this tree's kernel config (if_changed regenerates
# them there).
sp_module_sources() {
	rsync -a --delete --exclude='*.o' --exclude='.*.cmd' --exclude='*.rmeta' \
		--exclude='*.d' --exclude=sys_generated.rs --exclude=target/ \
		--exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c' \
		--exclude=Module.symvers --exclude=modules.order \
		Kbuild sp include "$1/"
}
