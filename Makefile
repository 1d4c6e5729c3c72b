# SPDX-License-Identifier: GPL-2.0
#
# make              build the test kernel once (cached outside the clone) and sp.ko
# make KDIR=DIR     build sp.ko against another Rust-enabled 6.12 build tree (Debian's 6.12 is tested)
# make run          boot the VM and show the paper's examples working through PF_SP
# make test         run the whole suite; ends with "N passed, N failed"
# make check        rustfmt/clippy/checkpatch over the sources
# make bench        boot the perf kernel once and benchmark sp against nng, zmq and TCP;
#                   writes bench/results/latest.{json,md,svg}
# make clean

KMAKE_VARS := $(shell . scripts/toolchain.sh && echo "$$SP_KMAKE_VARS")

.PHONY: all module deps examples userspace run test check bench clean

all: module

deps:
	@scripts/deps

ifeq ($(KDIR),)
module: deps
	@$(MAKE) --no-print-directory KDIR="$$(scripts/kernel)" module
else
module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KMAKE_VARS) modules
endif

examples: deps
	@$(MAKE) --no-print-directory -C examples

userspace: examples
	@$(MAKE) --no-print-directory -C userspace-tests

# The demo bounds each of its programs; SP_TIMEOUT bounds the whole boot.
run: module examples
	SP_TIMEOUT=$${SP_TIMEOUT:-600} scripts/vm-run scripts/demo

test: module userspace
	@scripts/test

check: deps
	scripts/check

bench: deps
	@scripts/bench

clean:
	rm -rf sp.ko sp.o sp.mod* modules.order Module.symvers .*.cmd sp/*.o sp/.*.cmd \
		sp/.*.d sp/sys_generated.rs sp/*.rmeta .tmp_versions
	-@$(MAKE) --no-print-directory -C userspace-tests clean
	-@$(MAKE) --no-print-directory -C examples clean
	-@$(MAKE) --no-print-directory -C bench clean
