/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The PC the guest sees: guest physical layout, the I/O bus, the devices
 * and the boot-time tables. Owned by the machine side of the VMM (boot.c,
 * acpi.c, cpuid.c, iobus.c, devices/).
 */
#ifndef XENKVM_VMM_MACHINE_H
#define XENKVM_VMM_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct vcpu;
struct kvm_run;
struct vm_e820_entry;

/*
 * Guest physical layout (documented in Documentation/cli.rst):
 *
 *   0x00000500  GDT for the 64-bit entry
 *   0x00007000  boot_params ("zero page")
 *   0x00009000  identity page tables for 0-4G (PML4, PDPT, 4 PDs)
 *   0x00020000  kernel command line
 *   0x0009fc00  -- reserved (EBDA) up to 1M; ACPI tables at 0xe0000
 *   0x000de000  the PV console ring, 0x000df000 the xenstore ring: RAM
 *               the e820 map marks reserved, like Xen's special pages
 *   0x00100000  the kernel's protected-mode part
 *   ...         initrd at the top of low RAM
 *   0xe0000000  PCI MMIO hole (left out of e820); Xen platform BAR1 here
 *   0xfc000000  reserved: IOAPIC, LAPIC, TSS/identity map for VMX
 *   4G          RAM above the hole, when there is more than fits below
 */
#define LAYOUT_GDT		0x500ULL
#define LAYOUT_ZERO_PAGE	0x7000ULL
#define LAYOUT_PML4		0x9000ULL
#define LAYOUT_CMDLINE		0x20000ULL
#define LAYOUT_EBDA		0x9fc00ULL
#define LAYOUT_CONSOLE_PAGE	0xde000ULL
#define LAYOUT_XENSTORE_PAGE	0xdf000ULL
#define LAYOUT_ACPI		0xe0000ULL
#define LAYOUT_ACPI_END		0x100000ULL
#define LAYOUT_KERNEL		0x100000ULL
#define LAYOUT_PCI_HOLE		0xe0000000ULL
#define LAYOUT_RESERVED		0xfc000000ULL
#define LAYOUT_IOAPIC		0xfec00000ULL
#define LAYOUT_LAPIC		0xfee00000ULL
#define LAYOUT_IDENTITY_MAP	0xfffbc000ULL
#define LAYOUT_TSS		0xfffbd000ULL
#define LAYOUT_4G		0x100000000ULL

/* Platform PCI BARs (see devices/xen_platform.c). */
#define PLATFORM_IO_BAR		0xc000
#define PLATFORM_IO_SIZE	0x100
#define PLATFORM_MMIO_BAR	0xf0000000ULL
#define PLATFORM_MMIO_SIZE	0x1000000ULL

/* ACPI fixed-hardware ports (the ones Xen's own ACPI tables use). */
#define PM1A_EVT_PORT		0x1f40
#define PM1A_CNT_PORT		0x1f44
#define PM_TMR_PORT		0x1f48
#define RESET_PORT		0xcf9
#define ACPI_SCI_IRQ		9
#define ACPI_S5_TYP		5

/*
 * The userspace backend's hypercall page issues `out %eax, $0xe4`: a port
 * nothing on a PC decodes, reachable by the one-byte immediate form so the
 * stub clobbers no argument register.
 */
#define XENKVM_HCALL_PORT	0xe4

/* ---- I/O bus (iobus.c) ------------------------------------------------ */

enum io_space { IO_PIO, IO_MMIO };

/*
 * A device's access handler: @data holds @len bytes, little-endian; for a
 * read the handler fills it (it arrives zeroed). @offset is relative to
 * the registered base.
 */
typedef void (*io_handler_fn)(void *opaque, uint64_t offset, bool is_write,
			      uint8_t *data, unsigned int len);

int iobus_create(struct vm *vm);
void iobus_destroy(struct vm *vm);
/* Register before the vCPUs start; lookups then run without locks. */
int iobus_register(struct vm *vm, enum io_space space, uint64_t base,
		   uint64_t len, io_handler_fn fn, void *opaque);
/* Returns false when nothing claims @addr (reads then see all ones). */
bool iobus_access(struct vm *vm, enum io_space space, uint64_t addr,
		  bool is_write, uint8_t *data, unsigned int len);

/* ---- devices (devices/) ------------------------------------------------ */

struct serial;
struct pci_bus;
struct xen_platform;
struct pm;
struct rtc;

struct devices {
	struct serial *serial;
	struct pci_bus *pci;
	struct xen_platform *platform;
	struct pm *pm;
	struct rtc *rtc;
};

int devices_create(struct vm *vm);
void devices_destroy(struct vm *vm);

/* 8250 UART at 0x3f8/IRQ 4; @out_fd receives everything the guest sends. */
struct serial *serial_create(struct vm *vm, uint16_t base, unsigned int irq,
			     int out_fd);
void serial_destroy(struct serial *s);
/* Queue input for the guest (from the event loop). */
void serial_receive(struct serial *s, const uint8_t *buf, size_t len);

/* PCI configuration mechanism #1 and a host bridge at 00:00.0. */
struct pci_device;
typedef uint32_t (*pci_cfg_read_fn)(struct pci_device *d, unsigned int reg);
typedef void (*pci_cfg_write_fn)(struct pci_device *d, unsigned int reg,
				 uint32_t val, uint32_t mask);
struct pci_device {
	uint8_t cfg[256];	/* config space, little-endian */
	uint32_t bar_size[6];	/* 0 = no BAR */
	bool bar_io[6];
	unsigned int slot;
	void *opaque;
};
struct pci_bus *pci_create(struct vm *vm);
void pci_destroy(struct pci_bus *bus);
int pci_add_device(struct pci_bus *bus, struct pci_device *dev);
uint32_t pci_config_read(struct pci_bus *bus, unsigned int slot,
			 unsigned int fn, unsigned int reg, unsigned int len);
void pci_config_write(struct pci_bus *bus, unsigned int slot, unsigned int fn,
		      unsigned int reg, unsigned int len, uint32_t val);

struct xen_platform *xen_platform_create(struct vm *vm);
void xen_platform_destroy(struct xen_platform *p);
/* The unplug mask the guest wrote to port 0x10 (XEN_UNPLUG_*). */
unsigned int xen_platform_unplugged(const struct xen_platform *p);

/* ACPI PM1 event/control, PM timer and the 0xcf9 reset register. */
struct pm *pm_create(struct vm *vm);
void pm_destroy(struct pm *pm);

/* A read-only MC146818 RTC at 0x70 showing the host's UTC time. */
struct rtc *rtc_create(struct vm *vm);
void rtc_destroy(struct rtc *rtc);

/* ---- boot (boot.c, acpi.c) ------------------------------------------ */

/* The parts of a bzImage the loader needs, checked against the file. */
struct bzimage_info {
	uint16_t version;		/* boot protocol, e.g. 0x020f */
	uint32_t setup_size;		/* bytes before the protected-mode part */
	uint64_t kernel_size;		/* protected-mode part */
	uint32_t init_size;		/* memory the kernel needs at load addr */
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;		/* max length, without the NUL */
	bool relocatable;
	bool can_64bit_entry;
};

/* Validate an image in memory; -1 with a message on @err if unusable. */
int bzimage_parse(const uint8_t *img, size_t size, struct bzimage_info *info,
		  char *err, size_t errlen);

/* The guest's memory map; returns the number of entries (<= max). */
unsigned int build_e820(const struct vm *vm, struct vm_e820_entry *e,
			unsigned int max);

/* Load kernel, initrd, cmdline, boot_params and ACPI; set BSP registers. */
int boot_load(struct vm *vm);
int boot_setup_bsp(struct vcpu *vcpu);
/* The GDT and 0-4G identity page tables the 64-bit entry runs on. */
void boot_write_page_tables(struct vm *vm);

/* The final command line the guest gets (console= added per --console). */
int boot_cmdline(const struct vm *vm, char *buf, size_t len);

/* ACPI tables in [LAYOUT_ACPI, LAYOUT_ACPI_END); returns the RSDP gpa. */
int acpi_build(struct vm *vm, uint64_t *rsdp_gpa);

/* Print a vCPU's registers to stderr (for errors and interrupts). */
void vcpu_dump_regs(struct vcpu *vcpu);

/* ---- backends (backends/backend.c) ------------------------------------ */

/* Pick and initialise vm->backend as vm->cfg->backend says. */
int backend_select(struct vm *vm);
void backend_release(struct vm *vm);
bool backend_kvm_xen_usable(const struct vm *vm);

/*
 * Where the guest's event bits are, as a backend was told: for the Xen
 * upcall rules the kernel side leaves to the VMM (backends/backend.c).
 */
#define LEGACY_VCPU_INFOS	32	/* vcpu_info slots in shared_info */
#define VCPU_INFO_SIZE		64
struct evtchn_layout {
	uint64_t shared_info_gfn;		/* 0: not set */
	uint64_t vcpu_info_gpa[64];		/* 0: the slot in shared_info */
	bool compat;				/* 32-bit shared_info layout */
};
uint8_t *layout_vcpu_info(struct vm *vm, const struct evtchn_layout *l, unsigned int idx);
/* evtchn_upcall_pending must cover every set evtchn_pending_sel bit. */
void layout_mark_events_pending(struct vm *vm, const struct evtchn_layout *l,
				unsigned int idx);
/* Xen's hvm_assert_evtchn_irq(): raise @vector now if an upcall is pending. */
void layout_assert_upcall(struct vm *vm, const struct evtchn_layout *l,
			  unsigned int idx, uint8_t vector);

/* ---- CPUID and MSRs (cpuid.c) ---------------------------------------- */

int cpuid_init(struct vm *vm);		/* fetch KVM's supported CPUID */
int cpuid_setup_vcpu(struct vcpu *vcpu);
struct kvm_cpuid2 *cpuid_for_vcpu(const struct vm *vm, unsigned int vcpu_id);
/*
 * Enable the userspace MSR exit for the hypercall page MSR (module and
 * userspace backends: KVM_XEN_HVM_CONFIG does it on the kvm backend).
 */
int hcall_msr_trap_init(struct vm *vm);
/* Handle KVM_EXIT_X86_WRMSR/RDMSR; returns 0, or -1 to stop the VM. */
int hcall_msr_exit(struct vcpu *vcpu);
/* Fill one 4K hypercall page whose stubs end in @insn (3 bytes). */
void hcall_page_fill(uint8_t *page, const uint8_t *insn, size_t insn_len);

#define XEN_CPUID_BASE		0x40000000U
#define XEN_HYPERCALL_MSR	0x40000000U

#endif
