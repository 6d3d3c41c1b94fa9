#include "fault_guard.h"

#include <signal.h>
#include <sys/mman.h>

#include <cerrno>

#include <atomic>
#include <cstring>

namespace venic::common {

namespace {

thread_local sigjmp_buf* t_guard = nullptr;
thread_local uintptr_t t_fault_addr = 0;
thread_local bool t_patching = false;
thread_local bool t_patched = false;
std::atomic<bool> g_installed{false};

// Maps a private zero page (of the mapping's page size: 4 KiB, else a huge
// page, which cannot be split) over the faulting address, so the access
// succeeds when the handler returns.  mmap is a plain system call here.
bool patch_faulting_page(uintptr_t addr) {
  for (uintptr_t page : {uintptr_t{4096}, uintptr_t{2} << 20, uintptr_t{1} << 30}) {
    void* base = reinterpret_cast<void*>(addr & ~(page - 1));
    if (::mmap(base, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED)
      return true;
    if (errno != EINVAL) return false;  // EINVAL: inside a huge-page mapping, try its size
  }
  return false;
}

void on_sigbus(int sig, siginfo_t* info, void*) {
  if (t_patching && info->si_code == BUS_ADRERR) {
    const int saved = errno;
    const bool patched = patch_faulting_page(reinterpret_cast<uintptr_t>(info->si_addr));
    errno = saved;
    if (patched) {
      t_patched = true;
      return;  // the faulting access runs again, on the new page
    }
  }
  if (t_guard) {
    t_fault_addr = reinterpret_cast<uintptr_t>(info->si_addr);
    sigjmp_buf* env = t_guard;
    t_guard = nullptr;
    siglongjmp(*env, 1);
  }
  signal(sig, SIG_DFL);  // not ours: die as the kernel meant
  raise(sig);
}

}  // namespace

void install_fault_guard() {
  if (g_installed.exchange(true)) return;
  struct sigaction sa {};
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, nullptr);
}

void arm_fault_guard(sigjmp_buf* env) {
  t_guard = env;
}

void disarm_fault_guard() {
  t_guard = nullptr;
}

uintptr_t last_fault_address() {
  return t_fault_addr;
}

void set_fault_patching(bool on) {
  t_patching = on;
}

bool take_patched_fault() {
  const bool was = t_patched;
  t_patched = false;
  return was;
}

bool guarded_copy(void* dst, const void* src, size_t n) {
  // A guard armed by a caller (the worker's burst) is restored afterwards.
  sigjmp_buf* outer = t_guard;
  sigjmp_buf env;
  if (sigsetjmp(env, 0) != 0) {
    t_guard = outer;
    return false;
  }
  t_guard = &env;
  std::memcpy(dst, src, n);
  t_guard = outer;
  return true;
}

}  // namespace venic::common
