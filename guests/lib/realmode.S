/* The real-mode trampoline of realmode.h. The block between rm_block and
 * rm_block_end runs at RM_BASE (copied there), so its own addresses go
 * through RM(): 16-bit code can reach only the first 64 KiB. */
#include "desc.h"

#define RM_BASE 0x8000
#define RM_STACK 0x7c00
#define RM(x) ((x) - rm_block + RM_BASE)

	.text
	.code32
	.globl rm_run
rm_run:
	pushal
	pushfl
	cli
	movl $rm_block, %esi
	movl $RM_BASE, %edi
	movl $(rm_block_end - rm_block), %ecx
	cld
	rep movsb
	movl %esp, rm_saved_esp
	sidt rm_saved_idt
	sgdt RM_BASE + (rm_gdtr - rm_block)
	ljmp $SEL_CODE16, $RM(pm16)

	.globl rm_block
rm_block:
	.code16
pm16:
	/* 16-bit protected mode: a code segment with D = 0. */
	movw $SEL_DATA16, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw $RM_STACK, %sp
	movw %sp, %bx
	pushw %ax		/* default operand size 16: SP moves by 2 */
	movw %sp, %cx
	popw %ax
	subw %cx, %bx
	movw %bx, RM(res_pm16_push)
	/* FS keeps a 4 GiB limit into real mode ("unreal mode"): loading a
	 * segment register in real mode changes only its base (SDM vol. 3A
	 * 9.9.2 and 20.1.1). */
	movw $SEL_KDATA, %ax
	movw %ax, %fs
	movl %cr0, %eax
	andl $~1, %eax
	movl %eax, %cr0
	ljmp $0, $RM(real16)
real16:
	xorw %ax, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw $RM_STACK, %sp
	lidt RM(real_idtr)
	/* Our own IVT entries: INT 0x60 and #GP (13). */
	movw $RM(int60), 0x60 * 4
	movw $0, 0x60 * 4 + 2
	movw $RM(gp13), 13 * 4
	movw $0, 13 * 4 + 2
	pushfw
	popw %ax
	movw %ax, RM(res_rm_flags)
	smsw %ax
	movw %ax, RM(res_msw)
	movw %cs, %ax
	movw %ax, RM(res_cs)
	/* Linear = segment * 16 + offset. */
	movw $0x1000, %ax
	movw %ax, %es
	movw $0xbeef, %es:0x10
	xorw %ax, %ax
	movw %ax, %es
	/* Read it back through another segment:offset pair, 0x1001:0. */
	movw $0x1001, %ax
	movw %ax, %gs
	movw %gs:0, %ax
	movw %ax, RM(res_seg)
	/* Unreal mode: a 32-bit offset through FS. */
	movl $0x200000, %ebx
	movl $0x12345678, %fs:(%ebx)
	movl %fs:(%ebx), %eax
	movl %eax, RM(res_unreal)
after_unreal:
	int $0x60
	movl $0x89abcdef, %eax
	movl %eax, RM(res_op32)
	xorl %eax, %eax
	cpuid
	movl %ebx, RM(res_cpuid_ebx)
	/* Back to 32-bit protected mode. */
	cli
	lgdtl RM(rm_gdtr)
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $SEL_KCODE32, $rm_back32

int60:
	movw $1, RM(res_int)
	iret
gp13:
	/* The unreal-mode access faulted: note it and go on after it. */
	movw $1, RM(res_unreal_gp)
	movw %sp, %bp
	movw $RM(after_unreal), (%bp)
	iret

	.align 4
real_idtr:
	.word 0x3ff
	.long 0
rm_gdtr:
	.word 0
	.long 0
	.globl res_pm16_push, res_msw, res_cs, res_seg, res_unreal, res_unreal_gp, res_int, res_op32, res_cpuid_ebx, res_rm_flags
res_pm16_push:	.word 0
res_msw:	.word 0
res_cs:		.word 0xffff
res_seg:	.word 0
res_int:	.word 0
res_unreal_gp:	.word 0
res_rm_flags:	.word 0
	.align 4
res_unreal:	.long 0
res_op32:	.long 0
res_cpuid_ebx:	.long 0
	.code32
rm_block_end:

rm_back32:
	movw $SEL_KDATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movl rm_saved_esp, %esp
	lidt rm_saved_idt
	popfl
	popal
	ret

	.bss
	.align 4
rm_saved_esp:	.long 0
rm_saved_idt:	.word 0
		.long 0
