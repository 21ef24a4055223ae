/* The one runtime service the general-instruction checks need beyond
 * report.h: running a function that is expected to raise an exception.
 *
 * guest_expect_fault(fn, vector) calls fn() at the current CPL with the
 * runtime's exception capture armed.
 *   - fn returns normally: the call returns 0 and *vector is left alone.
 *   - fn raises an exception: the runtime records its vector in *vector and
 *     returns 1 from guest_expect_fault itself, with the stack pointer and
 *     the callee-saved registers (EBX ESI EDI EBP / RBX RBP R12-R15) as they
 *     were when guest_expect_fault was called (a setjmp/longjmp-like
 *     recovery); fn's own frame is abandoned.
 * It exists once per mode: the 32-bit half and the 64-bit half each link
 * their own. The declaration is weak so that these checks still link
 * against a runtime without it; they are then left out (no line at all). */
#ifndef GENERAL_FAULT_H
#define GENERAL_FAULT_H
#include <stdint.h>

int guest_expect_fault(void (*fn)(void), uint8_t *vector) __attribute__((weak));

#define VEC_DE 0	/* divide error */
#define VEC_UD 6	/* invalid opcode */

#endif
