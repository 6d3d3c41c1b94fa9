#!/usr/bin/env bash
# Open MPI across hosts: rank 0 on an EFA instance of host A, rank 1 on one
# of host B (venic-rank-env: VENIC_RANK_INSTANCES and VENIC_RANK_SOCKETS),
# pml cm + mtl ofi over vefa, while both uplink veths lose 1 % and duplicate
# 0.5 % of what they send: mpi_check checks every byte of point-to-point at
# each protocol size (to 4 MiB), matching order, probes and collectives.
# (One-sided MPI needs RDMA, which the uplink does not carry yet.)
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
mh_cluster A B
fabric_env

mh_efa_pair

export VENIC_RANK_INSTANCES="$inst_a,$inst_b" VENIC_RANK_SOCKETS="${MH_SOCK[A]},${MH_SOCK[B]}"
mh_impair A 1 0.5
mh_impair B 1 0.5
timeout 100 mpirun --allow-run-as-root --oversubscribe -np 2 --bind-to none \
  -x FI_PROVIDER_PATH -x VENIC_RANK_INSTANCES -x VENIC_RANK_SOCKETS \
  --mca pml cm --mca mtl ofi --mca mtl_ofi_provider_include vefa --mca btl self \
  "$(dirname "$0")/../../../tools/mpi/venic-rank-env" "$BUILD/tests/integration/mpi_check" \
  >"$WORK/mpi.log" 2>&1 || die "mpirun across hosts failed: $(grep -v '^\[' "$WORK/mpi.log" | tail -8)"
grep -q "mpi_check: PASS" "$WORK/mpi.log" || die "mpi_check across hosts did not pass: $(tail -5 "$WORK/mpi.log")"
log "$(grep 'mpi_check:' "$WORK/mpi.log")"
mh_impair A off
mh_impair B off
sent_a=$(mh_ctl A stats "$vf_a" --json | json_get "j['vfs'][0]['efa']['tx_msgs']")
sent_b=$(mh_ctl B stats "$vf_b" --json | json_get "j['vfs'][0]['efa']['tx_msgs']")
[ "$sent_a" -gt 0 ] && [ "$sent_b" -gt 0 ] || die "the ranks' EFA devices sent nothing (A $sent_a, B $sent_b)"
log "EFA messages: A sent $sent_a, B sent $sent_b"
mh_alive A
mh_alive B
log "PASS"
