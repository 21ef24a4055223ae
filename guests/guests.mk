# Freestanding test guests (see guests/README.md). Included by the Makefile;
# `make guests` builds everything into build/guests/.
#
# Every guest is a multiboot ELF32 kernel linked at 1 MiB from
# guests/lib (the runtime) plus its own sources. A guest with a 64-bit half
# (conf_general) links that half on its own as an ELF64 at 0x400000, turns
# it into a flat blob and places the blob at the same address inside the
# ELF32 image (section .blob64 of guests/lib/guest.ld).

GB       := build/guests
GUEST_CC ?= gcc
GUEST_COMMON := -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
	-fno-asynchronous-unwind-tables -fno-unwind-tables -fcf-protection=none \
	-fno-strict-aliasing -nostdlib -O2 -g -std=gnu11 -Iguests/lib -Iguests/conf/common -MMD -MP
# The runtime and our own checks use no FPU/SSE registers, so exception
# handlers never clobber a check's floating-point state.
GUEST_CFLAGS32 := -m32 -march=i686 $(GUEST_COMMON) -Wall -Wextra -Werror -mgeneral-regs-only
GUEST_CFLAGS64 := -m64 -mno-red-zone -mcmodel=small $(GUEST_COMMON) -Wall -Wextra -Werror -mgeneral-regs-only
# Another engineer's general-instruction checks: x87/SSE allowed, warnings not fatal.
GENERAL_CFLAGS32 := -m32 -march=i686 $(GUEST_COMMON) -Wall -Wextra
GENERAL_CFLAGS64 := -m64 -mno-red-zone -mcmodel=small $(GUEST_COMMON) -Wall -Wextra
GUEST_LD32 := ld -m elf_i386 -T guests/lib/guest.ld -z max-page-size=0x1000 --build-id=none --no-warn-rwx-segments -z noexecstack
GUEST_LD64 := ld -m elf_x86_64 -T guests/lib/guest64.ld -z max-page-size=0x1000 --build-id=none --no-warn-rwx-segments -z noexecstack

GUEST_LIB_SRC := $(filter-out guests/lib/%64.c guests/lib/%64.S,$(wildcard guests/lib/*.c guests/lib/*.S))
GUEST_LIB32   := $(GUEST_LIB_SRC:guests/%=$(GB)/obj32/%.o)
# The 64-bit half's runtime: report/printf/serial/string plus its entry.
GUEST_LIB64_SRC := guests/lib/report.c guests/lib/printf.c guests/lib/serial.c \
	guests/lib/string.c $(wildcard guests/lib/*64.c guests/lib/*64.S)
GUEST_LIB64   := $(GUEST_LIB64_SRC:guests/%=$(GB)/obj64/%.o)

SIMPLE_GUESTS := hello demo exits halt debugexit triple timing escape nowhere hostile
CONF_GUESTS   := $(patsubst guests/conf/%.c,%,$(wildcard guests/conf/conf_*.c))
GENERAL_SRC   := $(wildcard guests/checks/general/*.c)
ifneq ($(GENERAL_SRC),)
CONF_GUESTS   += conf_general
endif
FLAT_GUESTS   := realmode.bin prot32.bin

GUEST_ELFS := $(SIMPLE_GUESTS:%=$(GB)/%.elf) $(CONF_GUESTS:%=$(GB)/%.elf)
guests: $(GUEST_ELFS) $(FLAT_GUESTS:%=$(GB)/%) $(GB)/prot32_mb.elf $(GB)/conf_guests.list

$(GB)/obj32/%.c.o: guests/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS32) -c $< -o $@
$(GB)/obj32/%.S.o: guests/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) -m32 $(GUEST_COMMON) -c $< -o $@
$(GB)/obj64/%.c.o: guests/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS64) -DGUEST64 -c $< -o $@
$(GB)/obj64/%.S.o: guests/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) -m64 $(GUEST_COMMON) -DGUEST64 -c $< -o $@
$(GB)/general32/%.o: guests/checks/general/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GENERAL_CFLAGS32) -c $< -o $@
$(GB)/general64/%.o: guests/checks/general/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GENERAL_CFLAGS64) -DGUEST64 -c $< -o $@

$(SIMPLE_GUESTS:%=$(GB)/%.elf): $(GB)/%.elf: $(GB)/obj32/simple/%.c.o $(GUEST_LIB32) guests/lib/guest.ld
	$(GUEST_LD32) -o $@ $(filter %.o,$^)

CONF_COMMON32 := $(patsubst guests/%,$(GB)/obj32/%.o,$(wildcard guests/conf/common/*.c guests/conf/common/*.S))
CONF_PLAIN := $(filter-out conf_general,$(CONF_GUESTS))
ifneq ($(CONF_PLAIN),)
$(CONF_PLAIN:%=$(GB)/%.elf): $(GB)/%.elf: $(GB)/obj32/conf/%.c.o $(CONF_COMMON32) $(GUEST_LIB32) guests/lib/guest.ld
	$(GUEST_LD32) -o $@ $(filter %.o,$^)
endif

# conf_general: general_checks_32 in protected mode, general_checks_64 in
# long mode from the blob.
GENERAL32 := $(GENERAL_SRC:guests/checks/general/%.c=$(GB)/general32/%.o)
GENERAL64 := $(GENERAL_SRC:guests/checks/general/%.c=$(GB)/general64/%.o)
$(GB)/conf_general64.elf: $(GB)/obj64/general/general64.c.o $(GENERAL64) $(GUEST_LIB64) guests/lib/guest64.ld
	$(GUEST_LD64) -o $@ $(filter %.o,$^)
$(GB)/%64.bin: $(GB)/%64.elf
	objcopy -O binary $< $@
$(GB)/%64.blob.o: $(GB)/%64.bin
	cd $(GB) && objcopy -I binary -O elf32-i386 -B i386 \
		--rename-section .data=.blob64,alloc,load,contents,code $(notdir $<) $(notdir $@)
$(GB)/conf_general.elf: $(GB)/obj32/general/general32.c.o $(GENERAL32) $(GB)/conf_general64.blob.o $(CONF_COMMON32) $(GUEST_LIB32) guests/lib/guest.ld
	$(GUEST_LD32) -o $@ $(filter %.o,$^)

$(GB)/%.bin: guests/flat/%.asm
	@mkdir -p $(dir $@)
	nasm -f bin -o $@ $<
$(GB)/prot32_mb.elf: guests/flat/prot32_mb.asm $(GB)/prot32.bin
	nasm -f bin -o $@ $<

# The list tests/guest/conformance.sh runs.
$(GB)/conf_guests.list: FORCE_GUEST_LIST
	@mkdir -p $(dir $@)
	@printf '%s\n' $(CONF_GUESTS) > $@.tmp && \
		if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@; fi
.PHONY: FORCE_GUEST_LIST

-include $(shell find $(GB) -name '*.d' 2>/dev/null)
