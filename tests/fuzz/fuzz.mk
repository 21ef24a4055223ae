# make fuzz: libFuzzer targets (tests/fuzz/fuzz_<what>.c), built with clang
# and the fuzzer + ASan + UBSan instrumentation into build/fuzz/, each run
# for a bounded time on one core by tests/fuzz/run (README.md, Fuzzing).
# Included by the top-level Makefile; not part of make test.
#   FUZZ_SECONDS=N    time per target (default 60)
#   FUZZ_TARGETS="a b" which targets (default: all)
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_OUT     := build/fuzz
FUZZ_ALL     := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(FUZZ_ALL)
# clang names a GNU extension the KVM headers' structs need; gcc does not warn
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -DPOPEK_VERSION='"$(VERSION)"' $(WARN) \
	-Wno-gnu-variable-sized-type-not-at-end -Isrc -pthread -MMD -MP -O1 -g \
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
# popek's code, instrumented for coverage but without libFuzzer's main;
# an archive, so each target links only the objects it reaches
FUZZ_LIB_OBJ := $(filter-out $(FUZZ_OUT)/obj/src/main.o,$(SRC:%.c=$(FUZZ_OUT)/obj/%.o))
FUZZ_BIN     := $(FUZZ_ALL:%=$(FUZZ_OUT)/fuzz_%)

.PHONY: fuzz fuzz-build fuzz-bins fuzz-setup fuzz-seeds

$(FUZZ_OUT)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_OUT)/libpopek.a: $(FUZZ_LIB_OBJ) build/obj/raw-stub-image.o
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_OUT)/libpopek.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Itests/fuzz -fsanitize=fuzzer $< $(FUZZ_OUT)/libpopek.a -o $@ $(LDLIBS)

fuzz-setup:
	@scripts/setup clang libclang-rt-dev

fuzz-build: fuzz-setup
	@$(MAKE) --no-print-directory $(JOBS) fuzz-bins

fuzz-bins: $(FUZZ_BIN)
	@:

# The runs: one target at a time, niced, each on a scratch copy of its
# corpus under build/fuzz/work/ (tests/fuzz/run says how a crash is kept).
fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run $(FUZZ_TARGETS)

# Rewrites the seeds in tests/fuzz/corpus (tests/fuzz/seeds: the loaders'
# images from the unit tests' builders, the rest from byte strings).
fuzz-seeds: build/tests/test_boot_hostile
	@tests/fuzz/seeds

-include $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_BIN:=.d)
