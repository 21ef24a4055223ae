; The start-time guest: its very first instruction asks the VMM to exit
; (isa-debug-exit at port 0xf4), so process wall time = VMM start + teardown.
; Built two ways from one source, so popek and QEMU run the same bytes:
;   -DFLAT  a flat binary loaded at 0x7c00 and entered in real mode
;   (else)  a 64 KiB firmware image whose reset vector (0xfff0) runs the code,
;           for QEMU's -bios, which is QEMU's shortest path to a first
;           guest instruction (no BIOS, no option ROM, no loader)
bits 16
%ifdef FLAT
	org 0x7c00
start:
	out 0xf4, al
	hlt
%else
	org 0
start:
	out 0xf4, al
	hlt
	times 0xfff0 - ($ - $$) db 0
reset_vector:
	jmp near start
	times 0x10000 - ($ - $$) db 0
%endif
