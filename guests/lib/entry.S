/* Multiboot v1 entry. The loader leaves us in 32-bit protected mode with
 * paging off, EAX = the multiboot magic, EBX = the information structure,
 * and a GDT we must not rely on (Multiboot 0.6.96 section 3.2), so the first
 * thing is our own GDT. */
#include "desc.h"

#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003	/* page-aligned modules, memory information */

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.text
	.code32
	.globl _start
_start:
	cli
	cld
	movl %eax, multiboot_magic
	movl %ebx, multiboot_info_addr
	lgdt gdt_pointer
	ljmp $SEL_KCODE32, $1f
1:	movw $SEL_KDATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movl $boot_stack_top, %esp
	pushl $2		/* EFLAGS bit 1 is reserved as 1; everything else clear */
	popfl
	call runtime_start
2:	cli
	hlt
	jmp 2b

	.bss
	.align 16
	.globl boot_stack_top
boot_stack:
	.space 65536
boot_stack_top:
