/* The switches into and out of IA-32e mode and the 64-bit exception path
 * (Intel SDM vol. 3A 9.8.5 "Initializing IA-32e mode", 6.14 "Exception and
 * interrupt handling in 64-bit mode"). Assembled into the 32-bit image: the
 * 64-bit parts use only 32-bit absolute addresses, all below 2 GiB. */
#include "desc.h"

#define MSR_EFER   0xc0000080
#define EFER_SCE   0x001
#define EFER_LME   0x100
#define EFER_NXE   0x800
#define CR0_PG     0x80000000
#define CR4_PAE    0x20
#define CR4_OSFXSR 0x200
#define CR4_OSXMMEXCPT 0x400

	.text
	.code32
/* void lm_switch(uint32_t cr3) - paging must be off on entry. */
	.globl lm_switch
lm_switch:
	movl 4(%esp), %eax
	movl %cr4, %ecx
	orl $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %ecx
	movl %ecx, %cr4
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $(EFER_LME | EFER_NXE | EFER_SCE), %eax
	wrmsr
	movl %cr0, %eax
	orl $CR0_PG, %eax
	movl %eax, %cr0		/* IA-32e mode active, running compatibility mode */
	ljmp $SEL_KCODE64, $1f
	.code64
1:	movl %esp, %esp		/* the upper half of RSP is undefined after the switch */
	lidt idt64_pointer(%rip)
	movw $SEL_TSS, %ax
	ltr %ax
	pushq $SEL_KCODE32
	leaq 2f(%rip), %rax
	pushq %rax
	lretq
	.code32
2:	ret

/* void lm_leave(void) - from compatibility mode back to legacy protected
 * mode, paging off (SDM vol. 3A 9.8.5.4): paging off in compatibility
 * mode, then EFER.LME off. */
	.globl lm_leave
lm_leave:
	movl %cr0, %eax
	andl $~CR0_PG, %eax
	movl %eax, %cr0
	movl $MSR_EFER, %ecx
	rdmsr
	andl $~EFER_LME, %eax
	wrmsr
	movl %cr4, %eax
	andl $~CR4_PAE, %eax
	movl %eax, %cr4
	ret

/* uint64_t lm_call64(uint32_t fn, uint32_t arg) */
	.globl lm_call64
lm_call64:
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl 20(%esp), %eax
	movl 24(%esp), %edi
	ljmp $SEL_KCODE64, $1f
	.code64
1:	movl %esp, %esp
	movl %edi, %edi
	movq %rsp, %rbx
	andq $-16, %rsp		/* the SysV ABI wants a 16-byte aligned stack at calls */
	call *%rax
	movq %rbx, %rsp
	movq %rax, %rdx
	shrq $32, %rdx		/* 64-bit result to EDX:EAX for the 32-bit caller */
	pushq $SEL_KCODE32
	leaq 2f(%rip), %rcx
	pushq %rcx
	lretq
	.code32
2:	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret

/* 64-bit exception stubs, 16 bytes apart. */
	.code64
	.align 16
	.globl trap64_stubs
trap64_stubs:
	.set vec, 0
	.rept 256
	.align 16
	.if vec == 8 || vec == 10 || vec == 11 || vec == 12 || vec == 13 || vec == 14 || vec == 17 || vec == 21 || vec == 29 || vec == 30
	.else
	pushq $0
	.endif
	pushq $vec
	jmp trap64_common
	.set vec, vec + 1
	.endr

/* Frame after the three saves: rax 0, rcx 8, rdx 16, vector 24, error 32,
 * rip 40, cs 48, rflags 56, rsp 64, ss 72 (always pushed in 64-bit mode). */
trap64_common:
	pushq %rdx
	pushq %rcx
	pushq %rax
	movl 24(%rsp), %eax
	cmpl $0x81, %eax
	je ring_exit64
	leaq lm_vector_kind(%rip), %rcx
	movzbl (%rcx,%rax), %ecx
	testl %ecx, %ecx
	jnz count_vector
	cmpl $0, trap_armed(%rip)
	je fatal64
	/* Record what the 32-bit trap_dispatch records (trap.h). */
	movl 32(%rsp), %ecx
	movl %ecx, trap_last + 4(%rip)
	movl 40(%rsp), %ecx
	movl %ecx, trap_last + 8(%rip)
	movl 48(%rsp), %ecx
	movl %ecx, trap_last + 12(%rip)
	movl 56(%rsp), %ecx
	movl %ecx, trap_last + 16(%rip)
	xorl %ecx, %ecx
	xorl %edx, %edx
	testl $3, 48(%rsp)
	jz 1f
	movl 64(%rsp), %ecx
	movl 72(%rsp), %edx
1:	movl %ecx, trap_last + 20(%rip)
	movl %edx, trap_last + 24(%rip)
	xorl %ecx, %ecx
	cmpl $14, %eax
	jne 2f
	movq %cr2, %rcx
2:	movl %ecx, trap_last + 28(%rip)
	incl trap_last + 32(%rip)
	movl %eax, trap_last(%rip)
	movl $0, trap_armed(%rip)
	movl trap_resume(%rip), %ecx
	movq %rcx, 40(%rsp)
	andq $~0x100, 56(%rsp)
	jmp trap64_return

count_vector:
	leaq lm_vector_count(%rip), %rdx
	incl (%rdx,%rax,4)
	cmpl $1, %ecx
	jne 3f
	movb $0x20, %al		/* non-specific EOI to the 8259 master (and slave) */
	outb %al, $0x20
	outb %al, $0xa0
	jmp trap64_return
3:	cmpl $2, %ecx
	jne trap64_return
	movl $0xfee000b0, %ecx	/* local APIC EOI register; above 2 GiB, so not a disp32 */
	movl $0, (%rcx)
trap64_return:
	/* IRETQ here, unlike trap_entry.S's POPF/RET shortcut: no engine that
	 * runs this code needs the shortcut (kvm-pvm stops long before). */
	popq %rax
	popq %rcx
	popq %rdx
	addq $16, %rsp
	iretq

/* INT 0x81 from ring_run's trampoline: back to ring 0 compatibility mode. */
ring_exit64:
	movw $SEL_KDATA, %ax
	movw %ax, %ss		/* the interrupt left a null SS, unusable in compatibility mode */
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %fs
	movw %ax, %gs
	movl ring_saved_esp(%rip), %esp
	pushq $SEL_KCODE32
	leaq ring_exit_resume(%rip), %rax
	pushq %rax
	lretq

fatal64:
	movq %rsp, %rbx
	movl $SEL_KDATA, %eax
	movw %ax, %ds
	leaq fatal_msg(%rip), %rsi
	call puts64
	movl 24(%rbx), %eax
	call hex64
	leaq fatal_err(%rip), %rsi
	call puts64
	movl 32(%rbx), %eax
	call hex64
	leaq fatal_rip(%rip), %rsi
	call puts64
	movl 40(%rbx), %eax
	call hex64
	leaq fatal_cs(%rip), %rsi
	call puts64
	movl 48(%rbx), %eax
	call hex64
	leaq fatal_cr2(%rip), %rsi
	call puts64
	movq %cr2, %rax
	call hex64
	leaq fatal_end(%rip), %rsi
	call puts64
	movl $1, %eax
	movw $0xf4, %dx
	outl %eax, %dx
4:	cli
	hlt
	jmp 4b

/* Minimal COM1 output for the fatal path: puts64(ESI), hex64(EAX). */
putc64:
	pushq %rdx
	pushq %rax
	movw $0x3fd, %dx
5:	inb %dx, %al
	testb $0x20, %al
	jz 5b
	popq %rax
	movw $0x3f8, %dx
	outb %al, %dx
	popq %rdx
	ret
puts64:
	movb (%rsi), %al
	testb %al, %al
	jz 6f
	call putc64
	incq %rsi
	jmp puts64
6:	ret
hex64:
	pushq %rsi
	movl %eax, %edx
	movl $8, %ecx
7:	roll $4, %edx
	movl %edx, %eax
	andl $15, %eax
	leaq hexdigits(%rip), %rsi
	movb (%rsi,%rax), %al
	call putc64
	decl %ecx
	jnz 7b
	popq %rsi
	ret

	.section .rodata
hexdigits:	.ascii "0123456789abcdef"
fatal_msg:	.asciz "FAIL unexpected_exception: (long mode) vector 0x"
fatal_err:	.asciz " error 0x"
fatal_rip:	.asciz " rip 0x"
fatal_cs:	.asciz " cs 0x"
fatal_cr2:	.asciz " cr2 0x"
fatal_end:	.asciz "\nSUMMARY 0 passed, 1 failed\n"
