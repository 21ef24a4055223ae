/* Shadow descriptors. The host GDT is Linux's and guest selectors mean
 * nothing there (the i386 user data selector 0x7b is the host's CPUNODE
 * segment), so a guest segment register runs natively as a host LDT slot
 * of its own, made from the register's hidden cache with DPL 3: a change
 * to the guest's descriptor table after the load leaves it alone, as on
 * the hardware. Slot k holds segment register k (ES, CS, SS, DS, FS, GS). */
#include "engine/raw/raw.h"

uint16_t raw_host_selector(unsigned slot)
{
	return (uint16_t)(((slot + 1) << 3) | 4 | 3);   /* LDT, RPL 3 */
}

bool raw_segment_ok(const struct segment *s, int reg)
{
	if (reg == SEG_CS)
		return !s->unusable && s->present && s->s && (s->type & 8) && s->db && !s->l;
	if (reg == SEG_SS)   /* a writable data segment */
		return !s->unusable && s->present && s->s && !(s->type & 8) && (s->type & 2);
	return true;         /* anything else may fault: REM sorts it out */
}

/* struct user_desc packs its flags as: seg_32bit, contents (2 bits),
 * read_exec_only, limit_in_pages, seg_not_present, useable, lm. */
void raw_desc_of(const struct segment *s, unsigned slot, struct raw_desc *d)
{
	d->entry = slot + 1;
	d->base = (uint32_t)s->base;
	bool code = s->type & 8;
	bool expand_down = !code && (s->type & 4);
	unsigned contents = code ? 2 : expand_down ? 1 : 0;   /* never conforming */
	bool ro = !(s->type & 2);   /* code: execute-only; data: read-only */
	uint32_t limit = s->limit;
	bool pages = limit > 0xfffff;
	if (pages)   /* the host limit never allows more than the guest's */
		limit = expand_down ? (limit + 0xfff) >> 12 : limit >> 12;
	if (limit > 0xfffff)
		limit = 0xfffff;
	d->limit = limit;
	d->flags = (s->db ? 1u : 0) | (contents << 1) | (ro ? 8u : 0) | (pages ? 16u : 0) |
		   (s->avl ? 64u : 0);
}

bool raw_desc_capped(const struct segment *s, unsigned slot, uint32_t top, struct raw_desc *d)
{
	if (!(s->type & 8) && (s->type & 4))
		return false;   /* expand-down: its limit is a floor */
	if (s->base > top)
		return false;
	struct segment c = *s;
	if (c.limit > top - (uint32_t)c.base)
		c.limit = top - (uint32_t)c.base;
	raw_desc_of(&c, slot, d);
	return true;
}
