/* Port I/O and a few CPU accessors shared by every guest. */
#ifndef GUEST_IO_H
#define GUEST_IO_H
#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}
static inline unsigned long read_cr0(void) { unsigned long v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline unsigned long read_cr2(void) { unsigned long v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline unsigned long read_cr3(void) { unsigned long v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline unsigned long read_cr4(void) { unsigned long v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(unsigned long v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr3(unsigned long v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void write_cr4(unsigned long v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
static inline unsigned long read_flags(void) { unsigned long v; __asm__ volatile("pushf; pop %0" : "=r"(v)); return v; }
static inline void write_flags(unsigned long v) { __asm__ volatile("push %0; popf" : : "r"(v) : "memory", "cc"); }

/* The debug-exit device (QEMU isa-debug-exit iobase=0xf4, popek's debug-exit):
 * writing N ends the VM with status (N << 1) | 1. */
#define DEBUG_EXIT_PORT 0xf4
static inline void __attribute__((noreturn)) debug_exit(uint32_t code)
{
	outl(DEBUG_EXIT_PORT, code);
	for (;;)
		__asm__ volatile("cli; hlt");
}
#endif
