# popek — see README.md. Sources are found by wildcard, so a new file needs no
# edit here; guests, tests and benchmarks bring their own .mk fragments.
CC      ?= gcc
VERSION := 0.1.0
WARN    := -Wall -Wextra -Werror
CFLAGS  ?= -O2 -g
BASEFLAGS := -std=c11 -D_GNU_SOURCE -DPOPEK_VERSION='"$(VERSION)"' $(WARN) -Isrc -pthread -MMD -MP
SANFLAGS  := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDLIBS  := -pthread -lm -lslirp

SRC      := $(shell find src -name '*.c' -not -path 'src/monitor/*' -not -path 'src/engine/raw/stub/*' | sort)
OBJ      := $(SRC:%.c=build/obj/%.o) build/obj/raw-stub-image.o
SAN_OBJ  := $(SRC:%.c=build/san/%.o) build/obj/raw-stub-image.o
LIB_OBJ  := $(filter-out build/obj/src/main.o,$(OBJ))
SAN_LIB  := $(filter-out build/san/src/main.o,$(SAN_OBJ))

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/tests/%)

.PHONY: all run test bench setup clean guests unit
all: build/popek build/san/popek

build/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) -c $< -o $@

build/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(SANFLAGS) -c $< -o $@

# The raw engine's stub (src/engine/raw/stub): a freestanding static
# executable at a fixed address above 4 GiB, no libc, no sanitizers,
# embedded in popek by stub_image.S.
STUB_SRC   := $(wildcard src/engine/raw/stub/*.c)
STUB_FLAGS := -std=gnu11 -O2 -g $(WARN) -ffreestanding -fno-stack-protector -fPIE \
	-mgeneral-regs-only -fcf-protection=none -fno-asynchronous-unwind-tables -fvisibility=hidden
build/raw-stub: $(STUB_SRC) $(wildcard src/engine/raw/stub/*.h) src/engine/raw/proto.h
	@mkdir -p build
	$(CC) $(STUB_FLAGS) -static -nostdlib -no-pie -Wl,--no-relax -Wl,-Ttext-segment=0x6e0000000000 \
		-Wl,--build-id=none -Wl,-z,noexecstack $(STUB_SRC) -o $@

build/obj/raw-stub-image.o: src/engine/raw/stub_image.S build/raw-stub
	@mkdir -p $(dir $@)
	$(CC) -c $< -o $@

build/popek: $(OBJ)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

# The sanitizer build runs the unit tests and a share of the guest tests.
build/san/popek: $(SAN_OBJ)
	$(CC) $(SANFLAGS) $^ -o $@ $(LDLIBS)

build/tests/%: tests/unit/%.c $(SAN_LIB) tests/unit/check.h
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(SANFLAGS) -Itests/unit $< $(SAN_LIB) -o $@ $(LDLIBS)

unit: $(UNIT_BIN)

-include guests/guests.mk
-include bench/bench.mk
-include tests/fuzz/fuzz.mk

setup:
	@scripts/setup

JOBS := -j$(shell nproc 2>/dev/null || echo 2)

run: setup
	@$(MAKE) --no-print-directory $(JOBS) all guests
	@scripts/main-job

test: setup
	@$(MAKE) --no-print-directory $(JOBS) all unit guests
	@tests/run

clean:
	rm -rf build

-include $(OBJ:.o=.d) $(SAN_OBJ:.o=.d)
