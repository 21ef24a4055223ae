; A flat real-mode guest for `popek run -k realmode.bin --load 0x7c00
; --mode real`: prints "real mode ok" on COM1 and ends through the
; debug-exit port with 0 (status 1). It ends in the 0x55 0xaa boot
; signature, so the same file also boots as a disk's boot sector under
; QEMU (-drive file=realmode.bin,format=raw), which is how it is tested there.
	bits 16
	org 0x7c00

start:
	cli
	xor ax, ax
	mov ds, ax		; the loader need not give us DS = 0
	mov ss, ax
	mov sp, 0x7c00
	cld
	mov si, message
.next:
	lodsb
	test al, al
	jz .done
	mov ah, al
	mov dx, 0x3fd		; COM1 line status: wait for bit 5 (THR empty)
.wait:
	in al, dx
	test al, 0x20
	jz .wait
	mov al, ah
	mov dx, 0x3f8
	out dx, al
	jmp .next
.done:
	xor eax, eax		; debug-exit value 0: status (0 << 1) | 1
	mov dx, 0xf4
	out dx, eax
.hang:
	hlt
	jmp .hang

message: db "real mode ok", 13, 10, 0

	times 510 - ($ - $$) db 0
	dw 0xaa55
