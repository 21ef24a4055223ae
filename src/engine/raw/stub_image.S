/* The stub executable (src/engine/raw/stub/, built on its own as
 * build/raw-stub), carried inside popek and run from a memfd. */
	.section .rodata
	.balign 16
	.globl raw_stub_image, raw_stub_image_end
raw_stub_image:
	.incbin "build/raw-stub"
raw_stub_image_end:
	.section .note.GNU-stack,"",@progbits
