# Host harness of the general-instruction checks (see host_main.c):
#   make -f guests/checks/general/host/host.mk         builds and runs both halves
# The -m32 half is built as the guest build does it (-march=pentium4 -msse2)
# and links with -nostdlib -static, so it needs no gcc multilib.
GEN_DIR   := guests/checks/general
GEN_OUT   := build/guests/general-host
# The guest build takes every guests/checks/general/*.c; the harness lives
# in host/ so that it never lands in a guest.
GEN_SRC   := $(wildcard $(GEN_DIR)/*.c)
GEN_FLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -ffreestanding -fno-builtin -nostdlib \
             -fno-pic -fno-stack-protector -mno-red-zone -fno-tree-loop-distribute-patterns \
             -static -no-pie -Wl,--build-id=none

.PHONY: general-host
general-host: $(GEN_OUT)/host64 $(GEN_OUT)/host32
	$(GEN_OUT)/host64
	$(GEN_OUT)/host32

$(GEN_OUT)/host64: $(GEN_SRC) $(GEN_DIR)/host/host_main.c $(wildcard $(GEN_DIR)/*.h)
	@mkdir -p $(dir $@)
	$(CC) -m64 $(GEN_FLAGS) $(GEN_SRC) $(GEN_DIR)/host/host_main.c -o $@

$(GEN_OUT)/host32: $(GEN_SRC) $(GEN_DIR)/host/host_main.c $(wildcard $(GEN_DIR)/*.h)
	@mkdir -p $(dir $@)
	$(CC) -m32 -march=pentium4 -msse2 $(GEN_FLAGS) $(GEN_SRC) $(GEN_DIR)/host/host_main.c -o $@
