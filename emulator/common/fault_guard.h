// Memory a client handed over (a DMA segment, an EFA registration) is a file
// the client can truncate; touching a page past its end then raises SIGBUS.
// One process-wide handler jumps back to the guard armed on the faulting
// thread, so venicd blames that client instead of dying.  Unguarded faults
// still kill the process, as the kernel meant.
#pragma once

#include <csetjmp>
#include <cstddef>
#include <cstdint>

namespace venic::common {

// Installs the SIGBUS handler (idempotent).
void install_fault_guard();

// The thread's armed guard (set by the caller right after sigsetjmp
// returned 0, cleared when the guarded work is over) and the address of the
// last fault it caught.
void arm_fault_guard(sigjmp_buf* env);
void disarm_fault_guard();
uintptr_t last_fault_address();

// memcpy that reports a SIGBUS on either side as false instead of dying.
bool guarded_copy(void* dst, const void* src, size_t n);

// Patching, for code that cannot be jumped out of (rte_vhost holds a
// virtqueue lock inside its calls): while on, a fault on a missing page of a
// file (BUS_ADRERR) gets a private zero page mapped over it and the access
// goes on; take_patched_fault says whether that happened (and clears it).
// Patching comes before an armed guard.
void set_fault_patching(bool on);
bool take_patched_fault();

}  // namespace venic::common
