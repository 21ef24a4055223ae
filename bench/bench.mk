# make bench: popek next to QEMU and a bare KVM loop (the floor) on the same
# guests. Included by the top-level Makefile; bench/run does the measuring
# and bench/README.md explains the method and the goals.
BENCH_OUT  := build/bench
# Two loop lengths for the exit round trip; their difference cancels start-up.
BENCH_N1   ?= 2000
BENCH_N2   ?= 42000
BENCH_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror
BENCH_GUESTS := $(foreach g,start pio-$(BENCH_N1) pio-$(BENCH_N2) pio-0,$(BENCH_OUT)/$(g).bin $(BENCH_OUT)/$(g).rom)
BENCH_TOOLS  := $(BENCH_OUT)/kvm_floor $(BENCH_OUT)/measure

# Part (d), issue 4: the compute guest on emu and on QEMU TCG.
-include guests/bench/bench.mk

.PHONY: bench bench-build
# bench/run: issue 2's parts (a)-(c) on KVM; bench/run-emu: issue 4's parts
# (d) and (e), the emulator next to QEMU TCG (BENCH_COMPUTE_RUNS,
# BENCH_COMPUTE_TIMEOUT, BENCH_LINUX_RUNS, BENCH_LINUX_TIMEOUT,
# BENCH_LINUX_STALL: see bench/README.md).
bench: build/popek bench-build
	@BENCH_N1=$(BENCH_N1) BENCH_N2=$(BENCH_N2) bench/run
	@echo
	@bench/run-emu
	@echo
	@bench/run-raw
	@echo
	@bench/run-virtio

bench-build: $(BENCH_GUESTS) $(BENCH_TOOLS) $(COMPUTE_ELF) $(COMPUTE_HOST) $(GB)/debugexit.elf \
	$(TRAPS_ELF) $(COMPUTE_HOST32) $(BENCH_OUT)/tsc_hz

$(BENCH_OUT)/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $< -o $@

# .bin: flat, loaded at 0x7c00 in real mode (popek --load, the floor);
# .rom: the same code as 64 KiB firmware entered at the reset vector (QEMU -bios).
$(BENCH_OUT)/start.bin: bench/guests/start.asm
	@mkdir -p $(dir $@)
	nasm -f bin -DFLAT $< -o $@
$(BENCH_OUT)/start.rom: bench/guests/start.asm
	@mkdir -p $(dir $@)
	nasm -f bin $< -o $@
$(BENCH_OUT)/pio-%.bin: bench/guests/pio.asm
	@mkdir -p $(dir $@)
	nasm -f bin -DFLAT -DN=$* $< -o $@
$(BENCH_OUT)/pio-%.rom: bench/guests/pio.asm
	@mkdir -p $(dir $@)
	nasm -f bin -DN=$* $< -o $@

# make fuzz-diff [SEED=S] [N=STREAMS]: a long campaign of the differential
# test of emu against unicorn and the host CPU (tests/unit/test_emu_diff.c,
# which `make test` runs with its fixed seed and 600 streams). Without SEED a
# fresh one is drawn and printed first, so a failing campaign can be rerun
# with it. N streams per mode (64-bit, 32-bit, SSE); 100000 take about 10
# minutes on the project's machine. Fails when emu disagrees: it is a test.
.PHONY: fuzz-diff
fuzz-diff: build/tests/test_emu_diff
	@seed=$(if $(SEED),$(SEED),$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')); \
	echo "fuzz-diff: EMU_DIFF_SEED=$$seed EMU_DIFF_N=$(or $(N),100000) build/tests/test_emu_diff"; \
	EMU_DIFF_SEED=$$seed EMU_DIFF_N=$(or $(N),100000) build/tests/test_emu_diff
