; A flat 32-bit protected-mode guest for `popek run -k prot32.bin --load
; ADDR --mode 32`: prints "protected mode ok" on COM1 and ends through the
; debug-exit port with 0 (status 1). It runs at any load address: it finds
; its message relative to itself (CALL/POP), and it uses its own small stack
; at 0x6000 because --mode 32 promises flat segments, not a stack. It
; assumes flat CS/DS (base 0), as --mode 32 sets up.
	bits 32

start:
	cli
	cld
	mov esp, 0x6000
	call .here
.here:
	pop esi
	add esi, message - .here
.next:
	lodsb
	test al, al
	jz .done
	mov ah, al
	mov dx, 0x3fd
.wait:
	in al, dx
	test al, 0x20
	jz .wait
	mov al, ah
	mov dx, 0x3f8
	out dx, al
	jmp .next
.done:
	xor eax, eax
	mov dx, 0xf4
	out dx, eax
.hang:
	hlt
	jmp .hang

message: db "protected mode ok", 13, 10, 0
