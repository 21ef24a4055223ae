/* A triple fault: with an IDT of limit 0 the #UD from UD2 cannot be
 * delivered (#GP), nor can the #GP (#DF), nor the #DF, so the processor
 * shuts down (Intel SDM vol. 3A 6.15, interrupt 8). */
#include "guest.h"
#include "io.h"
#include "serial.h"

void guest_main(void)
{
	static const struct __attribute__((packed)) { uint16_t limit; uint32_t base; } empty = { 0, 0 };
	kprintf("triple: about to triple fault\n");
	__asm__ volatile("lidt %0; ud2" : : "m"(empty));
	kprintf("triple: still running, which is wrong\n");
	debug_exit(1);
}
