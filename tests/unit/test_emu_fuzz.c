/* Robustness: random bytes executed by the emulation engine in real mode,
 * 32-bit protected mode at CPL 0 and 64-bit mode at CPL 3, with an IDT
 * whose handlers halt. Whatever the bytes do (undefined opcodes, faults,
 * mode switches, port and MMIO accesses, runaway loops) run() must come
 * back with an exit record and the host must stay whole, which the
 * ASan/UBSan build of this test checks. A kicker thread bounds each run. */
#include <pthread.h>
#include <time.h>

#include "check.h"
#include "engine/emu/emu_test.h"

void emu_invalidate_gpa(struct vm *vm, uint64_t gpa, uint64_t len);

#define CASES 1000
#define BLOB 96

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

struct kicker {
	struct vcpu *cpu;
	volatile int stop;
};

/* Kicks the vCPU every millisecond so a runaway blob ends its run. */
static void *kick_loop(void *arg)
{
	struct kicker *k = arg;
	struct timespec ms = { 0, 1000000 };
	while (!k->stop) {
		nanosleep(&ms, NULL);
		engine_emu.kick(k->cpu);
	}
	return NULL;
}

static int run_case(struct emu_test *t, int mode)
{
	struct cpu_state st;
	et_state_random_code(t, &st, mode);
	for (int k = 0; k < BLOB; k++)
		t->ram[ET_CODE + k] = (uint8_t)rnd();
	for (int r = 0; r < 8; r++)
		st.gpr[r == RSP ? RAX : r] = rnd() & 0xfffff;
	st.gpr[RSP] = mode == 2 ? 0x50000 : 0x7000;
	emu_invalidate_gpa(t->vm, 0, 0x100000);
	t->st = st;
	et_set(t);
	for (int n = 0; n < 64; n++) {
		enum exit_reason r = et_run(t);
		if (r >= EXIT_REASON_COUNT)
			return -1;
		if (r == EXIT_IO || r == EXIT_MMIO)
			continue;
		return 0;
	}
	return 0;
}

int main(void)
{
	struct emu_test t;
	if (et_init(&t, 16ull << 20) < 0) {
		printf("FAIL emu fuzz: machine setup\n");
		return 1;
	}
	struct kicker k = { .cpu = t.cpu, .stop = 0 };
	pthread_t th;
	pthread_create(&th, NULL, kick_loop, &k);
	static const char *names[3] = { "real mode", "32-bit CPL 0", "64-bit CPL 3" };
	for (int mode = 0; mode < 3; mode++) {
		int bad = 0;
		for (int n = 0; n < CASES; n++)
			if (run_case(&t, mode) < 0)
				bad++;
		CHECK_EQ(bad, 0, "emu fuzz %s: %d random blobs end in a valid exit", names[mode], CASES);
	}
	k.stop = 1;
	pthread_join(th, NULL);
	et_free(&t);
	return CHECK_DONE();
}
