#include "fault_guard.h"

#include <signal.h>

#include <atomic>
#include <cstring>

namespace venic::common {

namespace {

thread_local sigjmp_buf* t_guard = nullptr;
thread_local uintptr_t t_fault_addr = 0;
std::atomic<bool> g_installed{false};

void on_sigbus(int sig, siginfo_t* info, void*) {
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
