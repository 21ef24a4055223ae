/* int guest_expect_fault(void (*fn)(void), uint8_t *vector) - see
 * guests/checks/general/fault.h: calls fn with exception capture armed and,
 * when fn faults, abandons fn's frame and returns 1 with the vector, like
 * longjmp back to here. The 64-bit twin is fault64.S. */
	.text
	.code32
	.globl guest_expect_fault
guest_expect_fault:
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl %esp, gef_saved_esp
	movl $-1, trap_last
	movl $1f, trap_resume
	movl $1, trap_armed
	call *20(%esp)
	movl $0, trap_armed
	xorl %eax, %eax
	jmp 2f
1:	movl gef_saved_esp, %esp
	cld			/* fn may have faulted with DF set; the ABI wants it clear */
	movl trap_last, %eax
	movl 24(%esp), %edx
	movb %al, (%edx)
	movl $1, %eax
2:	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret

	.bss
	.align 4
gef_saved_esp:
	.long 0
