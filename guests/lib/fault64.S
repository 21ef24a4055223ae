/* The 64-bit guest_expect_fault (see fault32.S). The capture state lives in
 * the 32-bit image; lm_shared (set by general64.c's entry) points at it. */
	.text
	.code64
	.globl guest_expect_fault
guest_expect_fault:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rsi
	movq %rsp, gef_saved_rsp(%rip)
	movq lm_shared(%rip), %r8
	movl 8(%r8), %eax		/* &trap_last */
	movl $-1, (%rax)
	leaq 1f(%rip), %rcx
	movl 16(%r8), %eax		/* &trap_resume */
	movl %ecx, (%rax)
	movl 12(%r8), %eax		/* &trap_armed */
	movl $1, (%rax)
	call *%rdi
	movq lm_shared(%rip), %r8
	movl 12(%r8), %eax
	movl $0, (%rax)
	xorl %eax, %eax
	popq %rsi
	jmp 2f
1:	movq gef_saved_rsp(%rip), %rsp
	cld
	movq lm_shared(%rip), %r8
	movl 8(%r8), %eax
	movl (%rax), %eax
	popq %rsi
	movb %al, (%rsi)
	movl $1, %eax
2:	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret

	.bss
	.align 8
gef_saved_rsp:
	.quad 0
