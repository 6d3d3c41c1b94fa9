#!/usr/bin/env bash
# venicd reaches client memory only through memory objects it was handed
# (ARCHITECTURE.md, "The device ABI"): never through a pid's address space,
# which exec, munmap and clone change under it.  Fails if the daemon's
# sources reach for one again.
set -euo pipefail
src=${1:?usage: no_pid_memory.sh SOURCE_DIR}
hits=$(grep -rnE 'process_vm_(readv|writev)|/proc/[^"]*"?[^"]*/mem\b|"/mem"|ptrace\(' \
  "$src/emulator" --include='*.cpp' --include='*.h' || true)
if [ -n "$hits" ]; then
  echo "venicd reaches a process's memory by pid:"
  echo "$hits"
  exit 1
fi
echo "no_pid_memory: venicd reaches client memory only through memory objects"
