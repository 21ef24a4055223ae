/* Which engine runs a guest. "auto" follows what the host offers: hardware
 * virtualization when the CPU has it, else ring deprivileging (raw) for a
 * 32-bit guest on one vCPU, else the software CPU. */
#include <stdio.h>
#include <string.h>

#include "engine.h"

/* Defined once the emulation engine is linked in; NULL until then. */
extern const struct engine engine_emu __attribute__((weak));

const struct engine *engine_by_name(const char *name)
{
	if (strcmp(name, "kvm") == 0)
		return &engine_kvm;
	if (strcmp(name, "emu") == 0)
		return &engine_emu;
	if (strcmp(name, "raw") == 0)
		return &engine_raw;
	return NULL;
}

/* VT-x or AMD-V in the host CPU's flags. A /dev/kvm without them is a
 * nested software hypervisor, too slow for real guests. */
int host_has_hw_virt(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return 0;
	char line[4096];
	int found = 0;
	while (!found && fgets(line, sizeof(line), f))
		if (strncmp(line, "flags", 5) == 0)
			found = strstr(line, " vmx") || strstr(line, " svm");
	fclose(f);
	return found;
}

const struct engine *engine_select_guest(const char *name, bool guest32, int ncpus,
					 bool deterministic, char *why, size_t n)
{
	if (strcmp(name, "auto") == 0 && !deterministic && ncpus == 1 && guest32 &&
	    !host_has_hw_virt()) {
		char rwhy[256];
		if (engine_raw.available(rwhy, sizeof(rwhy)) == 0)
			return &engine_raw;
	}
	return engine_select(name, why, n);
}

const struct engine *engine_select(const char *name, char *why, size_t n)
{
	if (strcmp(name, "auto") == 0) {
		char kvm_why[256] = "";
		int hw = host_has_hw_virt();
		if (hw && engine_kvm.available(kvm_why, sizeof(kvm_why)) == 0)
			return &engine_kvm;
		if (&engine_emu)
			return &engine_emu;
		snprintf(why, n, "--engine auto: %s, and the emulation engine is not built yet; "
			 "use --engine kvm to run small guests on /dev/kvm anyway",
			 hw ? kvm_why : "this host's CPU has no VT-x/AMD-V (its /dev/kvm, if any, is a nested software hypervisor)");
		return NULL;
	}
	const struct engine *e = engine_by_name(name);
	if (!e) {
		if (strcmp(name, "emu") == 0)
			snprintf(why, n, "--engine emu: the emulation engine is not built yet");
		else
			snprintf(why, n, "--engine %s: unknown engine (kvm, raw, emu or auto)", name);
		return NULL;
	}
	char ewhy[256] = "";
	if (e->available && e->available(ewhy, sizeof(ewhy)) != 0) {
		snprintf(why, n, "--engine %s: %s", name, ewhy);
		return NULL;
	}
	return e;
}
