/* The 256 exception/interrupt stubs (16 bytes apart so the IDT builder can
 * compute their addresses), the common save/restore path, and the ring
 * switch used to run check code at CPL 1 and 3. */
#include "desc.h"

	.text
	.code32
	.align 16
	.globl trap_stubs
trap_stubs:
	.set vec, 0
	.rept 256
	.align 16
	/* Vectors whose exceptions push an error code (Intel SDM vol. 3A
	 * table 6-1): push a dummy for the others so the frame is uniform. */
	.if vec == 8 || vec == 10 || vec == 11 || vec == 12 || vec == 13 || vec == 14 || vec == 17 || vec == 21 || vec == 29 || vec == 30
	.else
	pushl $0
	.endif
	pushl $vec
	jmp trap_common
	.set vec, vec + 1
	.endr

trap_common:
	pushl %ds
	pushl %es
	pushal
	movw $SEL_KDATA, %ax
	movw %ax, %ds
	movw %ax, %es
	pushl %esp
	call trap_dispatch
	addl $4, %esp
	popal
	popl %es
	popl %ds
	addl $8, %esp
	/* Back to ring 0 in our own code segment: POPF and RET do what IRET
	 * would (no stack switch, no segment reload), and keep exception
	 * capture usable on an engine whose IRET is broken (this host's
	 * kvm-pvm, guests/README.md). IRET has checks of its own. The one
	 * difference, EFLAGS.RF not being restored, does not matter: capture
	 * resumes after the faulting instruction. */
	testl $3, 4(%esp)
	jnz 1f
	cmpl $SEL_KCODE32, 4(%esp)
	jne 1f
	pushl 8(%esp)
	popfl
	ret $8
1:	iret

/* void ring_run(unsigned cpl, void (*fn)(void)) */
	.globl ring_run
ring_run:
	pushfl
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl 24(%esp), %eax
	movl 28(%esp), %esi
	testl %eax, %eax
	jnz 1f
	call *%esi
	jmp 3f
1:	movl %esp, ring_saved_esp
	cmpl $3, %eax
	je 2f
	movl $(SEL_R1DATA | 1), %ecx
	movl $(SEL_R1CODE32 | 1), %edx
	movl $ring1_stack_top, %ebx
	jmp 4f
2:	movl $(SEL_UDATA | 3), %ecx
	movl $(SEL_UCODE32 | 3), %edx
	movl $ring3_stack_top, %ebx
	/* Data segments of the target ring: IRET to an outer ring would null
	 * any data segment register whose DPL is below the new CPL. */
4:	movw %cx, %ds
	movw %cx, %es
	movw %cx, %fs
	movw %cx, %gs
	pushl %ecx
	pushl %ebx
	pushfl
	pushl %edx
	pushl $ring_trampoline
	iret
ring_trampoline:
	call *%esi
	int $0x81	/* RING_EXIT_VECTOR */
	/* The gate for RING_EXIT_VECTOR lands here, at ring 0 on the TSS stack. */
	.globl ring_exit_entry
ring_exit_entry:
	movw $SEL_KDATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %fs
	movw %ax, %gs
	movl ring_saved_esp, %esp
	.globl ring_exit_resume
ring_exit_resume:
3:	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	popfl
	ret


	.bss
	.align 16
	.globl ring_saved_esp
ring_saved_esp:
	.long 0
	.align 16
	.space 16384
ring1_stack_top:
	.space 16384
ring3_stack_top:
