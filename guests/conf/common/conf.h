/* Helpers shared by the conformance guests (guests/conf/conf_*.c). */
#ifndef CONF_H
#define CONF_H
#include "desc.h"
#include "guest.h"
#include "io.h"
#include "serial.h"
#include "trap.h"

#define VEC_DE 0
#define VEC_DB 1
#define VEC_BP 3
#define VEC_OF 4
#define VEC_BR 5
#define VEC_UD 6
#define VEC_NM 7
#define VEC_DF 8
#define VEC_TS 10
#define VEC_NP 11
#define VEC_SS 12
#define VEC_GP 13
#define VEC_PF 14
#define VEC_MF 16
#define VEC_AC 17

#define EFLAGS_CF 0x1u
#define EFLAGS_TF 0x100u
#define EFLAGS_IF 0x200u
#define EFLAGS_DF 0x400u
#define EFLAGS_OF 0x800u
#define EFLAGS_IOPL 0x3000u
#define EFLAGS_NT 0x4000u
#define EFLAGS_RF 0x10000u
#define EFLAGS_AC 0x40000u

/* A name built from a format; a few rotate so two may be live at once. */
const char *nm(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Two checks: NAME (the vector) and NAME_err (the error code). */
void check_fault(const char *name, uint32_t vector, uint32_t error);
/* One check: no exception was raised. */
void check_no_fault(const char *name);
/* Prints the section marker tests/guest/conformance.sh uses to say where a
 * guest stopped when it dies. */
void section(const char *name);
/* This host's /dev/kvm (the kvm_pvm module, a software hypervisor) runs a
 * guest's ring-0 code in KVM's instruction emulator, which stops the VM
 * ("KVM internal error", emulation failure) at the first IRET, INT3, DAA
 * or ring switch, and refuses 32-bit paging with #GP. Verified against
 * QEMU TCG, which runs the same guests to the end. Every conformance guest
 * declares it, so tests/guest/conformance.sh reports an unfinished run on
 * that host's kvm engine as SKIP with this reason. */
#define KVM_PVM_WHY                                                                           \
	"ring-0 code runs in KVM's instruction emulator (kvm_pvm batch emulation), which fails " \
	"with an emulation error at IRET, INT3, INTO, DAA, SSE instructions or a ring switch and #GPs on 32-bit paging"
void conf_known_kvm_pvm(void);
/* Sets up exceptions and masks the legacy PIC (the BIOS leaves IRQ 0
 * routed to vector 8, which would look like #DF). */
void conf_init(void);
#endif
