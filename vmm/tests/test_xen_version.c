// SPDX-License-Identifier: GPL-2.0
/*
 * The dispatch table, xen_version, console_io and physdev_op on the fake
 * machine: what a Linux HVM guest reads at boot, bounds on what it can
 * write, and -ENOSYS (logged once) for everything we do not offer.
 */
#include "xen/xen_state.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <xen/features.h>
#include <xen/physdev.h>
#include <xen/version.h>

#include "fake_vm.h"
#include "ktap.h"

#define RAM_SIZE (16ULL << 20)

static int64_t ver(struct fake_vm *f, uint64_t cmd, void *arg, size_t size)
{
	return fake_op(f, 0, __HYPERVISOR_xen_version, cmd, arg, size);
}

static void test_version(struct ktap *t)
{
	struct fake_vm *f = fake_vm_new(1, RAM_SIZE);
	struct xen_feature_info fi = { .submap_idx = 0 };
	char buf[1100];
	uint64_t v;

	KTAP_EXPECT(t, ver(f, XENVER_version, NULL, 0) == 0x40011);
	f->vm.xen->major = 4;
	f->vm.xen->minor = 19;
	KTAP_EXPECT(t, ver(f, XENVER_version, NULL, 0) == 0x40013);

	memset(buf, 'x', sizeof(buf));
	KTAP_EXPECT(t, ver(f, XENVER_extraversion, buf, 20) == 0);
	KTAP_EXPECT(t, strcmp(buf, ".0-xenkvm") == 0 && buf[16] == 'x');
	memset(buf, 'x', sizeof(buf));
	KTAP_EXPECT(t, ver(f, XENVER_capabilities, buf, sizeof(buf)) == 0);
	KTAP_EXPECT(t, strstr(buf, "hvm-3.0-x86_64") && buf[1024] == 'x');
	memset(buf, 'x', sizeof(buf));
	KTAP_EXPECT(t, ver(f, XENVER_changeset, buf, 70) == 0);
	KTAP_EXPECT(t, buf[63] == 0 && buf[64] == 'x');
	memset(buf, 'x', sizeof(buf));
	KTAP_EXPECT(t, ver(f, XENVER_compile_info, buf, 200) == 0);
	KTAP_EXPECT(t, strcmp(buf, "xenkvm") == 0 && buf[144] == 'x');

	KTAP_EXPECT(t, ver(f, XENVER_get_features, &fi, sizeof(fi)) == 0);
	KTAP_EXPECT(t, fi.submap & (1u << XENFEAT_hvm_callback_vector));
	KTAP_EXPECT(t, fi.submap & (1u << XENFEAT_hvm_safe_pvclock));
	KTAP_EXPECT(t, fi.submap & (1u << XENFEAT_auto_translated_physmap));
	KTAP_EXPECT(t, !(fi.submap & (1u << XENFEAT_hvm_pirqs)));
	KTAP_EXPECT(t, !(fi.submap & (1u << XENFEAT_dom0)));
	KTAP_EXPECT(t, !(fi.submap & (1u << XENFEAT_gnttab_map_avail_bits)));
	fi.submap_idx = 1;
	KTAP_EXPECT(t, ver(f, XENVER_get_features, &fi, sizeof(fi)) == -EINVAL);

	v = 0;
	KTAP_EXPECT(t, ver(f, XENVER_platform_parameters, &v, 8) == 0);
	KTAP_EXPECT(t, v == 0xFFFF800000000000ULL);
	KTAP_EXPECT(t, ver(f, XENVER_pagesize, NULL, 0) == 4096);
	memset(f->vm.xen->handle, 0xab, 16);
	memset(buf, 0, sizeof(buf));
	KTAP_EXPECT(t, ver(f, XENVER_guest_handle, buf, 17) == 0);
	KTAP_EXPECT(t, (uint8_t)buf[15] == 0xab && buf[16] == 0);
	KTAP_EXPECT(t, ver(f, XENVER_commandline, buf, 1024) == -EPERM);
	KTAP_EXPECT(t, ver(f, XENVER_build_id, buf, 64) == -EPERM);
	KTAP_EXPECT(t, ver(f, 99, buf, 64) == -ENOSYS);
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_xen_version,
				  XENVER_capabilities, RAM_SIZE - 512, 0) == -EFAULT);

	/* Compat: platform_parameters is one 32-bit word, and 0 for HVM. */
	f->longmode = false;
	v = UINT64_MAX;
	KTAP_EXPECT(t, ver(f, XENVER_platform_parameters, &v, 8) == 0);
	KTAP_EXPECT(t, v == 0xffffffff00000000ULL);
	fake_vm_free(f);
	ktap_case_end(t, "xen_version: every sub-op Linux issues");
}

static void test_console(struct ktap *t)
{
	struct fake_vm *f = fake_vm_new(1, RAM_SIZE);
	FILE *out = tmpfile();
	uint64_t msg = fake_alloc(f, 16, 1);
	char back[16] = { 0 };

	f->vm.xen->console_fd = fileno(out);
	memcpy(f->ram + msg, "hello, xen\n", 11);
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_console_io, CONSOLEIO_write,
				  11, msg) == 0);
	KTAP_EXPECT(t, pread(fileno(out), back, sizeof(back), 0) == 11);
	KTAP_EXPECT(t, memcmp(back, "hello, xen\n", 11) == 0);
	/* Unmapped bytes: -EFAULT. */
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_console_io, CONSOLEIO_write,
				  64, RAM_SIZE - 10) == -EFAULT);
	/* A huge count is cut to 64 KiB per call. */
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_console_io, CONSOLEIO_write,
				  1ULL << 40, 0x200000) == 0);
	KTAP_EXPECT(t, lseek(fileno(out), 0, SEEK_END) == 11 + 65536);
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_console_io, CONSOLEIO_read,
				  16, msg) == 0);
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_console_io, 7, 0, 0) == -ENOSYS);
	fclose(out);
	fake_vm_free(f);
	ktap_case_end(t, "console_io: write bounded and checked, read empty");
}

static void test_dispatch(struct ktap *t)
{
	struct fake_vm *f = fake_vm_new(1, RAM_SIZE);
	struct xen_hcall hc = { .nr = __HYPERVISOR_xen_version,
				.args = { XENVER_version }, .longmode = true,
				.cpl = 3 };
	FILE *log = tmpfile();
	int saved = dup(STDERR_FILENO);
	char text[512] = { 0 };
	int i;

	KTAP_EXPECT(t, xen_hypercall(&f->vcpus[0], &hc) == -EPERM);
	/* Compat: the upper halves of the registers are not the guest's. */
	hc.cpl = 0;
	hc.longmode = false;
	hc.args[0] = (1ULL << 32) | XENVER_version;
	KTAP_EXPECT(t, xen_hypercall(&f->vcpus[0], &hc) == 0x40011);
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_physdev_op,
				  PHYSDEVOP_map_pirq, 0x1000, 0) == -ENOSYS);
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_physdev_op,
				  PHYSDEVOP_irq_status_query, 0x1000, 0) == -ENOSYS);

	/* Unknown hypercalls and sub-ops: -ENOSYS, one log line each. */
	fflush(stderr);
	dup2(fileno(log), STDERR_FILENO);
	for (i = 0; i < 3; i++) {
		KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_mmu_update, 0, 0, 0) ==
			       -ENOSYS);
		KTAP_EXPECT(t, fake_hcall(f, 0, 4000, 0, 0, 0) == -ENOSYS);
		KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_physdev_op, 99, 0, 0) ==
			       -ENOSYS);
	}
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	KTAP_EXPECT(t, pread(fileno(log), text, sizeof(text) - 1, 0) > 0);
	{
		int lines = 0;
		char *p;

		for (p = text; *p; p++)
			lines += *p == '\n';
		KTAP_EXPECT(t, lines == 3);
	}
	KTAP_EXPECT(t, strstr(text, "hypercall 1:") && strstr(text, "hypercall 4000") &&
			       strstr(text, "hypercall 33 sub-op 99"));
	fclose(log);
	fake_vm_free(f);
	ktap_case_end(t, "dispatch: CPL, compat args, physdev, log once");
}

static void test_vm_assist_and_privileged(struct ktap *t)
{
	struct fake_vm *f = fake_vm_new(1, RAM_SIZE);

	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_vm_assist, VMASST_CMD_enable,
				  VMASST_TYPE_runstate_update_flag, 0) == 0);
	KTAP_EXPECT(t, f->vm.xen->vm_assist ==
		       (1ULL << VMASST_TYPE_runstate_update_flag));
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_vm_assist, VMASST_CMD_disable,
				  VMASST_TYPE_runstate_update_flag, 0) == 0);
	KTAP_EXPECT(t, f->vm.xen->vm_assist == 0);
	/* PV-only assists and nonsense types: -EINVAL; bad command -ENOSYS. */
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_vm_assist, VMASST_CMD_enable,
				  VMASST_TYPE_writable_pagetables, 0) == -EINVAL);
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_vm_assist, VMASST_CMD_enable,
				  1000, 0) == -EINVAL);
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_vm_assist, 9,
				  VMASST_TYPE_runstate_update_flag, 0) == -ENOSYS);
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_platform_op, 0x1000, 0, 0) ==
		       -EPERM);
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_sysctl, 0x1000, 0, 0) == -EPERM);
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_domctl, 0x1000, 0, 0) == -EPERM);
	fake_vm_free(f);
	ktap_case_end(t, "vm_assist runstate_update_flag; control-domain calls");
}

int main(void)
{
	struct ktap t = { 0 };

	ktap_plan(&t, 4);
	test_version(&t);
	test_console(&t);
	test_dispatch(&t);
	test_vm_assist_and_privileged(&t);
	return ktap_finish(&t);
}
