/* MOVS STOS LODS CMPS SCAS at every width, without prefix and with REP,
 * REPE and REPNE, with DF = 0 and DF = 1, and with (E/R)CX = 0.
 *
 * SDM: each iteration moves (E/R)SI/(E/R)DI by the element size, up when
 * DF = 0 and down when DF = 1. REP repeats while (E/R)CX != 0, decrementing
 * it after each element; REPE/REPNE (CMPS, SCAS) also stop after an element
 * whose comparison left ZF = 0 / ZF = 1. With (E/R)CX = 0 nothing is done:
 * no memory, pointer or flag changes. CMPS sets the flags of
 * [SI] - [DI] and SCAS those of accumulator - [DI], as CMP does; MOVS, STOS
 * and LODS change no flag. Source buffer byte i holds i + 1. */
#include "general.h"

static uint8_t str_src[64] __attribute__((aligned(16)));
static uint8_t str_dst[64] __attribute__((aligned(16)));

struct str_regs {
	ulong si, di, cx, ax, fl;
};

#define STRFN(fname, text)                                                        \
	static void fname(struct str_regs *r)                                     \
	{                                                                         \
		ulong f = FLAGS_LOAD(r->fl);                                      \
		__asm__ volatile(FLAGS_IN text FLAGS_OUT "\n\tcld"                \
				 : "+S"(r->si), "+D"(r->di), "+c"(r->cx), "+a"(r->ax), \
				   [fl] "+r"(f)                                   \
				 :                                                \
				 : "cc", "memory");                               \
		r->fl = f;                                                        \
	}
STRFN(movsb1, "movsb") STRFN(movsw1, "movsw") STRFN(rep_movsl, "rep movsl") STRFN(rep_movsb, "rep movsb")
STRFN(rep_stosb, "rep stosb") STRFN(rep_stosw, "rep stosw") STRFN(stosl1, "stosl")
STRFN(lodsb1, "lodsb") STRFN(lodsw1, "lodsw") STRFN(rep_lodsl, "rep lodsl")
STRFN(cmpsb1, "cmpsb") STRFN(repe_cmpsb, "repe cmpsb") STRFN(repne_cmpsb, "repne cmpsb")
STRFN(repe_cmpsw, "repe cmpsw") STRFN(repe_cmpsl, "repe cmpsl")
STRFN(repne_scasb, "repne scasb") STRFN(repe_scasb, "repe scasb") STRFN(repne_scasw, "repne scasw")
STRFN(scasl1, "scasl")
#ifdef __x86_64__
STRFN(rep_movsq, "rep movsq") STRFN(rep_stosq, "rep stosq") STRFN(lodsq1, "lodsq")
STRFN(repne_cmpsq, "repne cmpsq") STRFN(repne_scasq, "repne scasq")
#endif

enum { DST_ZERO, DST_COPY };	/* how the destination buffer starts */
enum { X_NONE, X_DST, X_AX };	/* the extra value checked */

struct str_case {
	const char *name;
	void (*fn)(struct str_regs *);
	int si, di;		/* offsets into str_src, and into str_dst (or str_src when scan) */
	int scan;		/* DI points into the source buffer */
	ulong cx, ax, fin;
	int dst_mode, patch_at;	/* patch_at >= 0: str_dst[patch_at] = patch after setup */
	uint8_t patch;
	ulong want_cx;
	int want_si, want_di;
	int extra, x_off, x_len;	/* X_DST: little-endian x_len bytes of str_dst at x_off */
	uint64_t x_want;
	ulong fout;
};

#define KEEP (F_CF | F_ZF | F_OF)	/* flags a non-comparing string op must not touch */
#define NOPATCH -1, 0

static const struct str_case str_cases[] = {
	{ "string/movsb", movsb1, 0, 0, 0, 5, 0, KEEP, DST_ZERO, NOPATCH, 5, 1, 1, X_DST, 0, 2, 0x0001, KEEP },
	{ "string/movsw_df1", movsw1, 8, 8, 0, 5, 0, F_DF, DST_ZERO, NOPATCH, 5, 6, 6, X_DST, 8, 2, 0x0a09, F_DF },
	{ "string/rep_movsd", rep_movsl, 0, 0, 0, 3, 0, 0, DST_ZERO, NOPATCH, 0, 12, 12, X_DST, 8, 4, 0x0c0b0a09, 0 },
	{ "string/rep_movsb_cx0", rep_movsb, 0, 0, 0, 0, 0, F_ARITH, DST_ZERO, NOPATCH, 0, 0, 0, X_DST, 0, 8, 0, F_ARITH },
	{ "string/rep_stosb", rep_stosb, 0, 0, 0, 4, 0xaa, 0, DST_ZERO, NOPATCH, 0, 0, 4, X_DST, 0, 5, 0xaaaaaaaa, 0 },
	{ "string/rep_stosw_df1", rep_stosw, 0, 10, 0, 3, 0x1234, F_DF | F_CF, DST_ZERO, NOPATCH, 0, 0, 4, X_DST, 4, 8, 0x1234123412340000, F_DF | F_CF },
	{ "string/stosd", stosl1, 0, 4, 0, 7, 0xdeadbeef, 0, DST_ZERO, NOPATCH, 7, 0, 8, X_DST, 4, 4, 0xdeadbeef, 0 },
	{ "string/rep_stosb_cx0_df1", rep_stosb, 0, 10, 0, 0, 0xaa, F_DF, DST_ZERO, NOPATCH, 0, 0, 10, X_DST, 8, 4, 0, F_DF },
	{ "string/lodsb_keeps_upper", lodsb1, 3, 0, 0, 1, 0xffffff00, 0, DST_ZERO, NOPATCH, 1, 4, 0, X_AX, 0, 4, 0xffffff04, 0 },
	{ "string/lodsw_df1", lodsw1, 4, 0, 0, 1, 0, F_DF, DST_ZERO, NOPATCH, 1, 2, 0, X_AX, 0, 2, 0x0605, F_DF },
	{ "string/rep_lodsd", rep_lodsl, 0, 0, 0, 3, 0, 0, DST_ZERO, NOPATCH, 0, 12, 0, X_AX, 0, 4, 0x0c0b0a09, 0 },
	{ "string/cmpsb_equal", cmpsb1, 0, 0, 0, 9, 0, 0, DST_COPY, NOPATCH, 9, 1, 1, X_NONE, 0, 0, 0, F_ZF | F_PF },
	{ "string/repe_cmpsb_stops_on_mismatch", repe_cmpsb, 0, 0, 0, 8, 0, 0, DST_COPY, 5, 0, 2, 6, 6, X_NONE, 0, 0, 0, F_PF },
	{ "string/repne_cmpsb_stops_on_match", repne_cmpsb, 0, 0, 0, 8, 0, 0, DST_ZERO, 3, 4, 4, 4, 4, X_NONE, 0, 0, 0, F_ZF | F_PF },
	{ "string/repe_cmpsw_all_equal", repe_cmpsw, 0, 0, 0, 4, 0, 0, DST_COPY, NOPATCH, 0, 8, 8, X_NONE, 0, 0, 0, F_ZF | F_PF },
	{ "string/repe_cmpsd_df1_last_differs", repe_cmpsl, 8, 8, 0, 3, 0, F_DF, DST_COPY, 0, 2, 0, -4, -4, X_NONE, 0, 0, 0, F_DF | F_CF | F_AF | F_SF | F_PF },
	{ "string/repe_cmpsb_cx0", repe_cmpsb, 0, 0, 0, 0, 0, F_ARITH, DST_ZERO, NOPATCH, 0, 0, 0, X_NONE, 0, 0, 0, F_ARITH },
	{ "string/repne_scasb_found", repne_scasb, 0, 0, 1, 16, 5, 0, DST_ZERO, NOPATCH, 11, 0, 5, X_NONE, 0, 0, 0, F_ZF | F_PF },
	{ "string/repe_scasb_mismatch", repe_scasb, 0, 0, 1, 4, 1, 0, DST_ZERO, NOPATCH, 2, 0, 2, X_NONE, 0, 0, 0, F_CF | F_AF | F_SF | F_PF },
	{ "string/repne_scasw_found", repne_scasw, 0, 0, 1, 8, 0x0807, 0, DST_ZERO, NOPATCH, 4, 0, 8, X_NONE, 0, 0, 0, F_ZF | F_PF },
	{ "string/scasd_df1", scasl1, 0, 4, 1, 3, 0, F_DF, DST_ZERO, NOPATCH, 3, 0, 0, X_NONE, 0, 0, 0, F_DF | F_CF | F_AF | F_SF },
	{ "string/repne_scasb_cx0", repne_scasb, 0, 0, 1, 0, 1, F_ARITH, DST_ZERO, NOPATCH, 0, 0, 0, X_NONE, 0, 0, 0, F_ARITH },
#ifdef __x86_64__
	{ "string/rep_movsq_df1", rep_movsq, 16, 16, 0, 2, 0, F_DF, DST_ZERO, NOPATCH, 0, 0, 0, X_DST, 8, 8, 0x100f0e0d0c0b0a09, F_DF },
	{ "string/rep_stosq", rep_stosq, 0, 0, 0, 2, 0x0102030405060708, 0, DST_ZERO, NOPATCH, 0, 0, 16, X_DST, 8, 8, 0x0102030405060708, 0 },
	{ "string/lodsq", lodsq1, 8, 0, 0, 1, 0, 0, DST_ZERO, NOPATCH, 1, 16, 0, X_AX, 0, 8, 0x100f0e0d0c0b0a09, 0 },
	{ "string/repne_cmpsq_exhausts_cx", repne_cmpsq, 0, 0, 0, 3, 0, 0, DST_ZERO, NOPATCH, 0, 24, 24, X_NONE, 0, 0, 0, F_PF },
	{ "string/repne_scasq_not_found", repne_scasq, 0, 0, 1, 2, 0, 0, DST_ZERO, NOPATCH, 0, 0, 16, X_NONE, 0, 0, 0, F_CF | F_AF | F_SF },
#endif
};

static uint64_t dst_bytes(int off, int len)
{
	uint64_t v = 0;
	int k;
	for (k = len - 1; k >= 0; k--)
		v = (v << 8) | str_dst[off + k];
	return v;
}

void GEN(string_checks)(void)
{
	size_t i;
	int k;
	for (i = 0; i < sizeof(str_cases) / sizeof(str_cases[0]); i++) {
		const struct str_case *c = &str_cases[i];
		uint8_t *dbase = c->scan ? str_src : str_dst;
		struct str_regs r;
		uint64_t x = 0;
		for (k = 0; k < 64; k++) {
			str_src[k] = (uint8_t)(k + 1);
			str_dst[k] = c->dst_mode == DST_COPY ? (uint8_t)(k + 1) : 0;
		}
		if (c->patch_at >= 0)
			str_dst[c->patch_at] = c->patch;
		r.si = (ulong)(str_src + c->si);
		r.di = (ulong)(dbase + c->di);
		r.cx = c->cx;
		r.ax = c->ax;
		r.fl = c->fin;
		c->fn(&r);
		if (c->extra == X_DST)
			x = dst_bytes(c->x_off, c->x_len);
		else if (c->extra == X_AX)
			x = (uint64_t)r.ax & width_mask(8 * c->x_len);
		{
			uint64_t got[5] = { r.cx, (uint64_t)(long)(r.si - (ulong)str_src),
					    (uint64_t)(long)(r.di - (ulong)dbase), x, r.fl & (F_ARITH | F_DF) };
			uint64_t want[5] = { c->want_cx, (uint64_t)(long)c->want_si, (uint64_t)(long)c->want_di,
					     c->x_want, c->fout };
			GEN(gen_check_n)(c->name, 5, got, want);
		}
	}
}
