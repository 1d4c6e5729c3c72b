# SPDX-License-Identifier: GPL-2.0
#
# make              build the test kernel once (cached outside the clone) and sp.ko
# make KDIR=DIR     build sp.ko against another Rust-enabled 6.12+ kernel build tree
# make run          boot the VM and show the paper's examples working through PF_SP
# make test         run the whole suite; ends with "N passed, N failed"
# make check        rustfmt/clippy/checkpatch over the sources
# make bench        boot the perf kernel once and benchmark sp against nng, zmq and TCP;
#                   writes bench/results/latest.{json,md,svg}
# make clean

KMAKE_VARS := $(shell . scripts/toolchain.sh && echo "$$SP_KMAKE_VARS")

.PHONY: all module deps userspace run test check bench clean

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

userspace: deps
	@$(MAKE) --no-print-directory -C userspace-tests
	@$(MAKE) --no-print-directory -C examples

run: module userspace
	scripts/vm-run scripts/demo

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
