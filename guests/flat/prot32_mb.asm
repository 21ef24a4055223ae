; Test harness only: a multiboot kernel that copies prot32.bin to an odd
; address and jumps to it, so prot32.bin can be checked under
; `qemu -kernel`, which has no --mode 32.
	bits 32
	section .text
	align 4
	dd 0x1badb002, 0x00010000, -(0x1badb002 + 0x00010000)
	dd 0x00100000		; header_addr (this file is loaded at 1 MiB)
	dd 0x00100000		; load_addr
	dd 0			; load_end_addr: the whole file
	dd 0			; bss_end_addr: none
	dd 0x00100000 + entry - $$ + 0	; entry_addr
entry:
	mov esi, 0x00100000 + payload - $$
	mov edi, 0x00234568	; deliberately unaligned to prove position independence
	mov ecx, payload_end - payload
	cld
	rep movsb
	mov eax, 0x00234568
	jmp eax
payload:
	incbin "build/guests/prot32.bin"
payload_end:
