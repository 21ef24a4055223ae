/* The ACPI tables popek writes for every guest (ACPI 6.0): what a firmware
 * would leave behind so that an ACPI kernel finds its processors, its
 * interrupt controllers and the fixed hardware of dev/acpi_pm.h, and can
 * power the machine off (\_S5) and reset it (the FADT's reset register).
 *
 *   RSDP (rev 2) -> RSDT, XSDT -> FADT (rev 6) -> FACS, DSDT (\_S5, pvpanic, PCI0)
 *                              -> MADT (rev 4)
 *
 * All of them lie in the BIOS area at the BOOT_ACPI_* addresses of
 * boot_layout.h, reserved in e820; the RSDP sits on a 16-byte boundary in
 * 0xe0000-0xfffff, where a kernel's BIOS scan finds it, and the Linux loaders
 * also pass its address in boot_params.acpi_rsdp_addr. */
#ifndef POPEK_ACPI_H
#define POPEK_ACPI_H

#include <stddef.h>
#include <stdint.h>

#include "mem/guest_mem.h"

#define ACPI_RSDP_SIGNATURE "RSD PTR "
#define ACPI_OEM_ID         "POPEK "
#define ACPI_OEM_TABLE_ID   "POPEKVM "
#define ACPI_CREATOR_ID     "POPK"

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;           /* over the first 20 bytes (the ACPI 1.0 part) */
	char oem_id[6];
	uint8_t revision;           /* 2: ACPI 2.0 and later */
	uint32_t rsdt;
	uint32_t length;            /* of this structure: 36 */
	uint64_t xsdt;
	uint8_t ext_checksum;       /* over all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));

/* The header every system description table starts with. */
struct acpi_header {
	char signature[4];
	uint32_t length;            /* of the whole table, header included */
	uint8_t revision;
	uint8_t checksum;           /* the whole table sums to 0 */
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

/* Generic Address Structure. */
struct acpi_gas {
	uint8_t space_id;           /* 1: system I/O */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;        /* 1 byte, 2 word, 3 dword, 4 qword */
	uint64_t address;
} __attribute__((packed));

#define ACPI_SPACE_IO     1
#define ACPI_ACCESS_BYTE  1
#define ACPI_ACCESS_WORD  2
#define ACPI_ACCESS_DWORD 3

struct acpi_facs {
	char signature[4];          /* "FACS"; no checksum */
	uint32_t length;            /* 64 */
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version;            /* 2 */
	uint8_t reserved[3];
	uint32_t ospm_flags;
	uint8_t reserved2[24];
} __attribute__((packed));

/* Fixed ACPI Description Table, revision 6 (ACPI 6.0, table 5-34). */
struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;     /* 36: FACS */
	uint32_t dsdt;              /* 40 */
	uint8_t reserved1;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;           /* 46 */
	uint32_t smi_cmd;           /* 48: 0 = ACPI always enabled */
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;      /* 56 */
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;      /* 64 */
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;        /* 76 */
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;        /* 88 */
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;        /* 96 */
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;        /* 104 */
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;            /* 108 */
	uint16_t iapc_boot_arch;    /* 109 */
	uint8_t reserved2;
	uint32_t flags;             /* 112 */
	struct acpi_gas reset_reg;  /* 116 */
	uint8_t reset_value;        /* 128 */
	uint16_t arm_boot_arch;
	uint8_t minor_version;      /* 131 */
	uint64_t x_firmware_ctrl;   /* 132 */
	uint64_t x_dsdt;            /* 140 */
	struct acpi_gas x_pm1a_evt_blk;   /* 148 */
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;   /* 172 */
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;     /* 208 */
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg; /* 244 */
	struct acpi_gas sleep_status_reg;
	uint64_t hypervisor_vendor;       /* 268 */
} __attribute__((packed));

/* FADT flags. */
#define ACPI_FADT_WBINVD         (1u << 0)
#define ACPI_FADT_PROC_C1        (1u << 2)
#define ACPI_FADT_PWR_BUTTON     (1u << 4)   /* set: no fixed-feature power button */
#define ACPI_FADT_SLP_BUTTON     (1u << 5)   /* set: no fixed-feature sleep button */
#define ACPI_FADT_FIX_RTC        (1u << 6)   /* set: no RTC wake status in PM1 */
#define ACPI_FADT_TMR_VAL_EXT    (1u << 8)   /* set: 32-bit PM timer (popek's is 24) */
#define ACPI_FADT_RESET_REG_SUP  (1u << 10)
#define ACPI_FADT_HW_REDUCED     (1u << 20)
/* IA-PC boot architecture flags. */
#define ACPI_IAPC_LEGACY_DEVICES (1u << 0)
#define ACPI_IAPC_8042           (1u << 1)
#define ACPI_IAPC_NO_VGA         (1u << 2)
#define ACPI_IAPC_NO_CMOS_RTC    (1u << 5)

#define ACPI_FADT_REVISION       6
#define ACPI_CMOS_CENTURY        0x32       /* dev/rtc.h RTC_CENTURY */

/* Multiple APIC Description Table. */
struct acpi_madt {
	struct acpi_header h;
	uint32_t lapic_addr;
	uint32_t flags;             /* bit 0: PC-AT compatible 8259s present */
} __attribute__((packed));

#define ACPI_MADT_REVISION   4
#define ACPI_MADT_PCAT_COMPAT 1

enum acpi_madt_type {
	ACPI_MADT_LAPIC = 0,
	ACPI_MADT_IOAPIC = 1,
	ACPI_MADT_OVERRIDE = 2,
	ACPI_MADT_LAPIC_NMI = 4,
};

struct acpi_madt_lapic {
	uint8_t type, length;       /* 0, 8 */
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags;             /* bit 0: enabled */
} __attribute__((packed));

struct acpi_madt_ioapic {
	uint8_t type, length;       /* 1, 12 */
	uint8_t id;
	uint8_t reserved;
	uint32_t addr;
	uint32_t gsi_base;
} __attribute__((packed));

struct acpi_madt_override {
	uint8_t type, length;       /* 2, 10 */
	uint8_t bus;                /* 0: ISA */
	uint8_t source;             /* ISA IRQ */
	uint32_t gsi;
	uint16_t flags;             /* MPS INTI flags */
} __attribute__((packed));

struct acpi_madt_lapic_nmi {
	uint8_t type, length;       /* 4, 6 */
	uint8_t processor_uid;      /* 0xff: every processor */
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

#define ACPI_MADT_ENABLED   1
/* MPS INTI flags: polarity in bits 0-1, trigger mode in bits 2-3. */
#define ACPI_INTI_ACTIVE_HIGH 0x1
#define ACPI_INTI_LEVEL       0xc

_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP is 36 bytes");
_Static_assert(sizeof(struct acpi_header) == 36, "table header is 36 bytes");
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS is 12 bytes");
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS is 64 bytes");
_Static_assert(offsetof(struct acpi_fadt, sci_int) == 46, "FADT SCI_INT");
_Static_assert(offsetof(struct acpi_fadt, pm1a_evt_blk) == 56, "FADT PM1a_EVT_BLK");
_Static_assert(offsetof(struct acpi_fadt, pm_tmr_blk) == 76, "FADT PM_TMR_BLK");
_Static_assert(offsetof(struct acpi_fadt, pm1_evt_len) == 88, "FADT PM1_EVT_LEN");
_Static_assert(offsetof(struct acpi_fadt, century) == 108, "FADT CENTURY");
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "FADT IAPC_BOOT_ARCH");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT Flags");
_Static_assert(offsetof(struct acpi_fadt, reset_reg) == 116, "FADT RESET_REG");
_Static_assert(offsetof(struct acpi_fadt, reset_value) == 128, "FADT RESET_VALUE");
_Static_assert(offsetof(struct acpi_fadt, minor_version) == 131, "FADT minor version");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT X_DSDT");
_Static_assert(offsetof(struct acpi_fadt, x_pm1a_evt_blk) == 148, "FADT X_PM1a_EVT_BLK");
_Static_assert(offsetof(struct acpi_fadt, x_pm_tmr_blk) == 208, "FADT X_PM_TMR_BLK");
_Static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == 244, "FADT SLEEP_CONTROL_REG");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT revision 6 is 276 bytes");
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT header is 44 bytes");
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "MADT local APIC entry");
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "MADT I/O APIC entry");
_Static_assert(sizeof(struct acpi_madt_override) == 10, "MADT override entry");
_Static_assert(sizeof(struct acpi_madt_lapic_nmi) == 6, "MADT local APIC NMI entry");

/* Writes the DSDT's definition block (after its header: \_S5, the pvpanic
 * device, PCI bus 0) into buf: its length, or 0 when cap is too small. */
size_t acpi_dsdt_aml(uint8_t *buf, size_t cap);

/* Length of the MADT for ncpus processors. */
size_t acpi_madt_size(int ncpus);
/* Where the tables end (exclusive) for ncpus processors. */
uint64_t acpi_tables_end(int ncpus);
/* Writes every table. 0, or -1 with a message (memory too small, vCPU
 * count out of range). */
int acpi_write(const struct guest_mem *m, int ncpus, char *err, size_t n);

#endif
