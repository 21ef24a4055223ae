/* The compute benchmark's SSE2 phase: double-precision arithmetic. It is a
 * file of its own because the rest of the guest is built without
 * floating-point registers (-mgeneral-regs-only); this one is built with
 * -msse2 -mfpmath=sse in the 32-bit half, so both halves run the same SSE2
 * instructions, and with -ffp-contract=off everywhere, so no build fuses a
 * multiply and an add and every build gets the same bits. */
#include "phases.h"

#define FP_MATRIX 48
#define FP_ROUNDS 12u
#define FP_GRID 96
#define FP_ITER_MAX 64

/* The IEEE bits of D folded into H: a result that differs anywhere shows. */
static uint32_t mix_double(uint32_t h, double d)
{
	union { double d; uint64_t u; } v = { .d = d };
	h = (h ^ (uint32_t)v.u) * 0x01000193u;
	return (h ^ (uint32_t)(v.u >> 32)) * 0x01000193u;
}

/* C = A * B, then A = C scaled back towards 1 (square roots and divisions
 * keep the values bounded over the rounds). */
static uint32_t matrix_rounds(double *a, double *b, double *c, uint32_t rounds)
{
	uint32_t h = 0x811c9dc5u;
	for (uint32_t r = 0; r < rounds; r++) {
		for (int i = 0; i < FP_MATRIX; i++)
			for (int j = 0; j < FP_MATRIX; j++) {
				double s = 0;
				for (int k = 0; k < FP_MATRIX; k++)
					s += a[i * FP_MATRIX + k] * b[k * FP_MATRIX + j];
				c[i * FP_MATRIX + j] = s;
			}
		double norm = 0;
		for (int i = 0; i < FP_MATRIX * FP_MATRIX; i++)
			norm += c[i] * c[i];
		norm = __builtin_sqrt(norm);
		for (int i = 0; i < FP_MATRIX * FP_MATRIX; i++)
			a[i] = c[i] / norm * FP_MATRIX + 0.5;
		h = mix_double(h, norm);
	}
	return mix_double(h, a[FP_MATRIX + 1]);
}

/* Escape-time counts over a grid of the complex plane: compares, converts. */
static uint32_t mandelbrot(void)
{
	uint32_t total = 0;
	for (int y = 0; y < FP_GRID; y++)
		for (int x = 0; x < FP_GRID; x++) {
			double cr = -2.0 + 2.5 * x / FP_GRID, ci = -1.25 + 2.5 * y / FP_GRID;
			double zr = 0, zi = 0;
			int n = 0;
			while (n < FP_ITER_MAX && zr * zr + zi * zi <= 4.0) {
				double t = zr * zr - zi * zi + cr;
				zi = 2.0 * zr * zi + ci;
				zr = t;
				n++;
			}
			total += (uint32_t)n;
		}
	return total;
}

uint32_t phase_fp(uint8_t *work, uint32_t scale)
{
	double *a = (double *)work, *b = a + FP_MATRIX * FP_MATRIX, *c = b + FP_MATRIX * FP_MATRIX;
	for (int i = 0; i < FP_MATRIX * FP_MATRIX; i++) {
		a[i] = (double)(i % 17) / 16.0 + 0.25;
		b[i] = (double)((i * 7) % 23) / 11.0 - 0.5;
	}
	uint32_t h = matrix_rounds(a, b, c, FP_ROUNDS * scale);
	for (uint32_t r = 0; r < scale; r++)
		h = (h ^ mandelbrot()) * 0x01000193u;
	return h;
}
