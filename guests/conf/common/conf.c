#include "conf.h"

const char *nm(const char *fmt, ...)
{
	static char bufs[4][96];
	static unsigned next;
	char *b = bufs[next++ % 4];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(b, sizeof(bufs[0]), fmt, ap);
	va_end(ap);
	return b;
}

void check_fault(const char *name, uint32_t vector, uint32_t error)
{
	uint32_t got_vec = trap_last.vector, got_err = trap_last.error;
	char err_name[112];
	ksnprintf(err_name, sizeof(err_name), "%s_err", name);
	check_eq(name, got_vec, vector);
	if (got_vec == vector)
		check_eq(err_name, got_err, error);
	else
		report_fail(err_name, "expected error %#x with vector %u, but vector was %#x", error, vector, got_vec);
}

void check_no_fault(const char *name)
{
	if (trap_last.vector == TRAP_NONE)
		report_pass(name);
	else
		report_fail(name, "expected no exception got vector %u error %#x at %#x", trap_last.vector,
			    trap_last.error, trap_last.eip);
}

void conf_known_kvm_pvm(void)
{
	report_known("kvm-pvm", "*", KVM_PVM_WHY);
}

void section(const char *name)
{
	kprintf("SECTION %s\n", name);
}

void conf_init(void)
{
	conf_known_kvm_pvm();
	trap_init();
	pic_remap(0x20, 0x28);
}
