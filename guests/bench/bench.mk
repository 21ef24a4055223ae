# The compute benchmark guest (guests/bench/, bench/README.md part d).
# Included from bench/bench.mk, after guests/guests.mk, whose compiler flags,
# runtime objects and obj32/obj64 pattern rules it reuses. Builds:
#   build/guests/bench/compute.elf   multiboot ELF32 with a 64-bit half at 0x400000
#   build/bench/compute-host         the same phases natively: reference checksums
COMPUTE_ELF   := $(GB)/bench/compute.elf
COMPUTE_HOST  := build/bench/compute-host
COMPUTE_OBJ32 := $(GB)/obj32/bench/compute.c.o $(GB)/obj32/bench/compute_run.c.o $(GB)/obj32/bench/phases.c.o \
	$(GB)/obj32/bench/phase_fp.c.o
COMPUTE_OBJ64 := $(GB)/obj64/bench/compute64.c.o $(GB)/obj64/bench/compute_run.c.o $(GB)/obj64/bench/phases.c.o \
	$(GB)/obj64/bench/phase_fp.c.o
# The fp phase uses SSE2 in both halves (and in the host programs), never
# fused multiply-adds, and sqrt without errno: the same bits everywhere.
FP_PHASE_FLAGS := -ffp-contract=off -fno-math-errno
$(GB)/obj32/bench/phase_fp.c.o: GUEST_CFLAGS32 := $(filter-out -mgeneral-regs-only,$(GUEST_CFLAGS32)) \
	-msse2 -mfpmath=sse $(FP_PHASE_FLAGS)
$(GB)/obj64/bench/phase_fp.c.o: GUEST_CFLAGS64 := $(filter-out -mgeneral-regs-only,$(GUEST_CFLAGS64)) $(FP_PHASE_FLAGS)
# The 64-bit half prints and nothing more: no report counters, no fault capture.
COMPUTE_LIB64 := $(patsubst %,$(GB)/obj64/lib/%.c.o,printf serial string)

TRAPS_ELF      := $(GB)/bench/traps.elf
COMPUTE_HOST32 := build/bench/compute-host32

guests: $(COMPUTE_ELF) $(TRAPS_ELF)

$(TRAPS_ELF): $(GB)/obj32/bench/traps.c.o $(GUEST_LIB32) guests/lib/guest.ld
	@mkdir -p $(dir $@)
	$(GUEST_LD32) -o $@ $(filter %.o,$^)

# The 32-bit phases as a host process (the raw engine's floor): freestanding,
# since this machine has no 32-bit libc; guests/lib/libgcc.c for 64-bit division.
$(COMPUTE_HOST32): guests/bench/compute_host32.c guests/bench/phases.c guests/bench/phase_fp.c guests/bench/phases.h guests/lib/libgcc.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) -m32 -march=i686 -msse2 -mfpmath=sse $(FP_PHASE_FLAGS) -O2 -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
		-fcf-protection=none -nostdlib -static -no-pie -Wall -Wextra -Werror -Iguests/bench -Iguests/lib \
		guests/bench/compute_host32.c guests/bench/phases.c guests/bench/phase_fp.c guests/lib/libgcc.c -o $@

$(GB)/bench/compute64.elf: $(COMPUTE_OBJ64) $(COMPUTE_LIB64) guests/lib/guest64.ld
	@mkdir -p $(dir $@)
	$(GUEST_LD64) -o $@ $(filter %.o,$^)
# guests.mk's %64.blob.o rule names files relative to build/guests, which
# does not fit a subdirectory: this one works inside build/guests/bench.
$(GB)/bench/compute64.blob.o: $(GB)/bench/compute64.bin
	cd $(GB)/bench && objcopy -I binary -O elf32-i386 -B i386 \
		--rename-section .data=.blob64,alloc,load,contents,code compute64.bin compute64.blob.o
$(COMPUTE_ELF): $(COMPUTE_OBJ32) $(GB)/bench/compute64.blob.o $(GUEST_LIB32) guests/lib/guest.ld
	$(GUEST_LD32) -o $@ $(filter %.o,$^)

$(COMPUTE_HOST): guests/bench/compute_host.c guests/bench/phases.c guests/bench/phase_fp.c guests/bench/phases.h
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $(FP_PHASE_FLAGS) -Iguests/bench guests/bench/compute_host.c guests/bench/phases.c \
		guests/bench/phase_fp.c -o $@
