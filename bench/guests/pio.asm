; The exit round-trip guest: N writes to an I/O port no device claims, each
; one a full exit to the VMM's user space, then exit via isa-debug-exit (0xf4).
; Timing two values of N and taking the difference cancels start-up and
; teardown, leaving the cost of one exit. N = 0 spins forever (used for RSS).
; -DFLAT / firmware layouts as in start.asm, so every VMM runs the same loop.
%ifndef N
%define N 1000
%endif
NULL_PORT equ 0x4321
bits 16
%ifdef FLAT
	org 0x7c00
%else
	org 0
%endif
start:
	cli
	mov ecx, N
	mov dx, NULL_PORT
.loop:
	out dx, al
%if N == 0
	jmp .loop
%else
	dec ecx
	jnz .loop
%endif
	xor al, al
	out 0xf4, al
	hlt
%ifndef FLAT
	times 0xfff0 - ($ - $$) db 0
reset_vector:
	jmp near start
	times 0x10000 - ($ - $$) db 0
%endif
