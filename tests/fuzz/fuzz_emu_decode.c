/* libFuzzer target: the emulator's instruction decoder (decode.c), then
 * one instruction executed by the emulation engine on a scratch CPU and
 * scratch RAM (the machine of tests/unit/test_emu_fuzz.c, built by the
 * helpers in engine/emu/emu_test.h). The input is a record:
 *   u8  bits 0-1 the mode: 0 real, 1 32-bit CPL 0, 2 64-bit CPL 3,
 *       3 64-bit CPL 0; bit 2 RFLAGS.TF (the single-step path)
 *   15 bytes of instruction
 *   16 x u64 XORed into RAX..R15 (zeros keep the mode's registers)
 *   the rest: data at ET_DATA (1 MiB), up to 4 KiB
 * The decoder sees the instruction bytes exactly as long as the input
 * has them (so ASan sees a read past them) in every mode and must give a
 * length inside them with a handler; the engine runs the instruction
 * (rem_single and a rem_done that always answers yes end the run after
 * it retires) and must come back with a valid exit, answering its port
 * and MMIO exits by re-entering a few times. */
#include "fuzz.h"

#include "engine/emu/emu.h"
#include "engine/emu/emu_test.h"

#define RAM (2ull << 20)

static struct emu_test t;
static int made;

static bool one_instruction(struct emu_cpu *c)
{
	(void)c;
	return true;
}

static void check_decode(const uint8_t *bytes, int n)
{
	uint8_t *exact = malloc(n ? (size_t)n : 1);
	if (exact == NULL)
		abort();
	memcpy(exact, bytes, (size_t)n);
	for (int mode = MODE_16; mode <= MODE_64; mode++) {
		struct insn i;
		int len = decode_insn(&i, exact, n, mode);
		FUZZ_CHECK(len >= -1 && len <= n);
		FUZZ_CHECK(len != -1 || n == 15);
		if (len > 0) {
			FUZZ_CHECK(i.len == len);
			FUZZ_CHECK(i.fn != NULL);
			FUZZ_CHECK(i.osize == 2 || i.osize == 4 || i.osize == 8);
			FUZZ_CHECK(i.asize == 2 || i.asize == 4 || i.asize == 8);
			FUZZ_CHECK(i.seg < SEG_LDT);
			(void)insn_ends_block(&i);
		}
	}
	free(exact);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!made) {
		if (et_init(&t, RAM) < 0) {
			fprintf(stderr, "fuzz: emu machine setup failed\n");
			exit(1);
		}
		made = 1;
	}
	struct fuzz_in in = { data, size };
	uint8_t flags = fuzz_u8(&in);
	int n = in.n < 15 ? (int)in.n : 15;
	uint8_t insn[15] = { 0 };
	memcpy(insn, in.p, (size_t)n);
	in.p += n;
	in.n -= (size_t)n;
	check_decode(insn, n);

	struct cpu_state st;
	int mode = flags & 3;
	et_state_random_code(&t, &st, mode == 3 ? 2 : mode);
	if (mode == 3) {
		et_state_long(&t, &st, 0);
		st.gpr[RSP] = 0x50000;
	}
	memset(t.ram + 0x100000, 0, RAM - 0x100000);
	if (flags & 4)
		st.rflags |= RFLAGS_TF;
	for (int r = 0; r < 16; r++)
		st.gpr[r] ^= fuzz_uint(&in, 8);
	size_t extra = in.n < 4096 ? in.n : 4096;
	memcpy(t.ram + ET_DATA, in.p, extra);
	memcpy(t.ram + ET_CODE, insn, sizeof(insn));
	emu_invalidate_gpa(t.vm, 0, RAM);

	struct emu_cpu *c = t.cpu->engine_priv;
	c->rem_done = one_instruction;
	c->rem_single = true;
	t.st = st;
	et_set(&t);
	for (int k = 0; k < 8; k++) {
		c->rem_icount = c->icount;
		enum exit_reason r = et_run(&t);
		FUZZ_CHECK(r < EXIT_REASON_COUNT);
		if (r != EXIT_IO && r != EXIT_MMIO)
			break;
	}
	return 0;
}
