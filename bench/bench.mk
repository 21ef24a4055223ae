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

.PHONY: bench bench-build
bench: build/popek bench-build
	@BENCH_N1=$(BENCH_N1) BENCH_N2=$(BENCH_N2) bench/run

bench-build: $(BENCH_GUESTS) $(BENCH_TOOLS)

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
