/* The PC platform devices, named so tests can attach one of them to a
 * hand-made machine without creating every registered device. */
#ifndef POPEK_DEV_PLATFORM_H
#define POPEK_DEV_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "dev/device.h"

extern struct device_desc com1_device;        /* serial.c: 16550A on COM1 */
extern struct device_desc i8042_device;       /* i8042.c: keyboard controller, reset line */
extern struct device_desc rtc_device;         /* rtc.c: MC146818 RTC and CMOS */
extern struct device_desc pci_config_device;  /* pci.c: mechanism #1, host bridge, PCI window */
extern struct device_desc debug_exit_device;  /* debug_exit.c: ends the run with a status */
extern struct device_desc boot_timer_device;  /* boot_timer.c: Firecracker-style boot mark */
extern struct device_desc post_code_device;   /* post_code.c: port 0x80 */
extern struct device_desc pvpanic_device;     /* pvpanic.c: the guest reports a panic */

#define PORT_I8042_DATA    0x60
#define PORT_I8042_CMD     0x64
#define IRQ_KEYBOARD       1
#define IRQ_MOUSE          12
#define PORT_RTC_INDEX     0x70
#define PORT_RTC_DATA      0x71
#define IRQ_RTC            8
#define PORT_PCI_ADDRESS   0xcf8
#define PORT_PCI_DATA      0xcfc
#define PORT_POST_CODE     0x80
#define DEBUG_EXIT_SIZE    4
#define BOOT_TIMER_SIZE    8
/* pvpanic events: the bits a read offers and a write reports. */
#define PVPANIC_PANICKED      (1u << 0)
#define PVPANIC_CRASH_LOADED  (1u << 1)

/* The debug-exit status for a written value, as QEMU's isa-debug-exit. */
int debug_exit_status(uint32_t value);

/* The boot timer's line for a boot that took elapsed_ns (newline included). */
void boot_timer_message(char *buf, size_t n, uint64_t elapsed_ns);

#endif
