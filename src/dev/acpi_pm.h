/* The ACPI fixed hardware popek's FADT describes (ACPI 6.x, chapter 4.8):
 * one 16-port block in I/O space holding the PM1a event block (status and
 * enable), the PM1a control block, the 24-bit power management timer and a
 * reset register. Writing SLP_EN with the soft-off SLP_TYP ends the run, and
 * so does writing the reset value; the loader's tables (boot/acpi.c) take
 * every address and value from here.
 *
 *   0x600  PM1a_STS  16 bits, write 1 to clear
 *   0x602  PM1a_EN   16 bits
 *   0x604  PM1a_CNT  16 bits: SCI_EN (reads 1), SLP_TYP, SLP_EN (write-only)
 *   0x608  PM_TMR    32 bits, 24 of them counting at 3.579545 MHz
 *   0x60c  RESET     8 bits: ACPI_RESET_VALUE resets the machine
 *
 * The SCI is ISA IRQ 9, level-triggered and active high, raised while any
 * enabled status bit is set. */
#ifndef POPEK_DEV_ACPI_PM_H
#define POPEK_DEV_ACPI_PM_H

#include <stdint.h>

#include "dev/device.h"

extern struct device_desc acpi_pm_device;

#define PORT_ACPI_PM       0x600
#define ACPI_PM_SIZE       16
#define PORT_ACPI_PM1A_EVT (PORT_ACPI_PM + 0x0)
#define PORT_ACPI_PM1A_CNT (PORT_ACPI_PM + 0x4)
#define PORT_ACPI_PM_TMR   (PORT_ACPI_PM + 0x8)
#define PORT_ACPI_RESET    (PORT_ACPI_PM + 0xc)
#define ACPI_PM1_EVT_LEN   4      /* status and enable, 2 bytes each */
#define ACPI_PM1_CNT_LEN   2
#define ACPI_PM_TMR_LEN    4
#define ACPI_RESET_VALUE   0x06
#define IRQ_ACPI_SCI       9

/* The SLP_TYP value \_S5 names: soft off. popek has no other sleep state. */
#define ACPI_SLP_TYP_S5    5

/* PM1 status and enable bits (the enable bit sits at the status bit's place). */
#define ACPI_PM1_TMR       (1u << 0)
#define ACPI_PM1_BM_STS    (1u << 4)   /* status only */
#define ACPI_PM1_GBL       (1u << 5)
#define ACPI_PM1_PWRBTN    (1u << 8)
#define ACPI_PM1_SLPBTN    (1u << 9)
#define ACPI_PM1_RTC       (1u << 10)
#define ACPI_PM1_PCIEXP_WAKE (1u << 14)
#define ACPI_PM1_WAK_STS   (1u << 15)  /* status only */

/* PM1 control bits. */
#define ACPI_PM1_SCI_EN    (1u << 0)
#define ACPI_PM1_BM_RLD    (1u << 1)
#define ACPI_PM1_GBL_RLS   (1u << 2)
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_TYP_MASK  (7u << ACPI_PM1_SLP_TYP_SHIFT)
#define ACPI_PM1_SLP_EN    (1u << 13)

#define ACPI_PM_TIMER_HZ   3579545u
#define ACPI_PM_TIMER_MASK 0xffffffu

/* The PM timer's count after ns nanoseconds of machine time, wrapped to
 * 24 bits. */
uint32_t acpi_pm_timer_ticks(uint64_t ns);

#endif
