/* SPDX-License-Identifier: MIT */
/*
 * drivers/ena: the user-space driver for venic's ENA-like VFs.  It attaches a
 * VF through venicd's control socket, maps the VF region, runs the admin
 * queue and reads async events.  The net_vena PMD, the tools and the tests all
 * use it; the queue fast path is in vena_queue.h.
 */
#ifndef VENA_DEV_H
#define VENA_DEV_H

#include <stddef.h>
#include <stdint.h>

#include "venic_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vena_dev;

/* One piece of the application's packet memory, to be shared with the
 * daemon for zero-copy (an fd-backed range of its address space). */
struct vena_mem_region {
  int fd;          /* file backing the range */
  uint64_t offset; /* where the range starts in that file */
  uint64_t va;     /* where it is mapped in this process */
  uint64_t len;
};

/* Attaches VF vf_id through the daemon at socket_path and maps its region.
 * Returns 0, or a negative errno with a message in err. */
int vena_dev_attach(const char *socket_path, uint32_t vf_id, struct vena_dev **out, char *err, size_t errlen);
/* Unmaps and closes the attachment; the daemon detaches the VF. */
void vena_dev_detach(struct vena_dev *dev);

/* The VF region: its register page, and its first byte. */
volatile struct venic_regs *vena_dev_regs(struct vena_dev *dev);
uint8_t *vena_dev_base(struct vena_dev *dev);
uint64_t vena_dev_region_size(const struct vena_dev *dev);
const volatile struct venic_stats *vena_dev_stats(struct vena_dev *dev);

/* Runs one admin command and waits up to timeout_ms for its completion.
 * Returns the completion status (0 or a negative errno); -ETIMEDOUT when the
 * daemon did not answer. Thread-safe. */
int vena_dev_admin(struct vena_dev *dev, uint16_t opcode, uint32_t arg0, uint64_t arg1, uint64_t *result,
                   int timeout_ms);

/* Like vena_dev_admin, with up to 48 bytes of command data (RSS key, RETA). */
int vena_dev_admin_data(struct vena_dev *dev, uint16_t opcode, uint32_t arg0, uint64_t arg1, const void *data,
                        size_t len, uint64_t *result, int timeout_ms);

/* Shares memory regions with the daemon for zero-copy descriptors.  On
 * success mem_ids[i] is the id to put in descriptors that point into
 * regions[i].  Returns 0 or a negative errno with a message in err. */
int vena_dev_register_memory(struct vena_dev *dev, const struct vena_mem_region *regions, unsigned int n,
                             uint16_t *mem_ids, char *err, size_t errlen);

/* Takes the next async event, if any: returns 1 and fills *ev, or 0. */
int vena_dev_next_event(struct vena_dev *dev, struct venic_event *ev);

#ifdef __cplusplus
}
#endif
#endif /* VENA_DEV_H */
