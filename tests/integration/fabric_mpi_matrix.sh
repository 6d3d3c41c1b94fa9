#!/usr/bin/env bash
# The MPI matrix over vefa, two ranks on two emulated instances, each run
# bounded in time (a stall fails the test instead of hanging it):
# mpi_stress (ping-pong and MPI_Bcast 1 B .. 4 MiB, MPI_Allreduce,
# MPI_Alltoall, every byte checked; 100 000 small messages each way), on 2
# ranks and on 4 (two per instance, cm and ob1), with
# - pml cm + mtl ofi (vefa, and vefa registered as "efa" selected by name);
# - pml ob1 + btl ofi (two-sided and one-sided: btl_ofi_mode 2), vefa and
#   "efa"; and mpi_check --rma (probe, one-sided over osc rdma) under ob1.
source "$(dirname "$0")/lib.sh"
start_venicd
fabric_env

vpc=$(new_vpc 10.0.0.0/16)
subnet=$(new_subnet "$vpc" 10.0.1.0/24)
sg=$(efa_group "$vpc")
export VENIC_RANK_INSTANCES=$(efa_instances "$subnet" "$sg" 2)
COUNT=${MPI_STRESS_COUNT:-100000}

# run NAME PROVIDER [mpirun args...]: $PROG (mpi_stress) on $NP (2) ranks, 60 s at most.
run() {
  local name=$1 prov=$2 prog=${PROG:-mpi_stress} args=${ARGS:-$COUNT}
  shift 2
  local name_env=vefa
  [ "$prov" = efa ] && name_env=efa
  VENIC_FI_NAME=$name_env timeout 60 mpirun --allow-run-as-root --oversubscribe -np "${NP:-2}" --bind-to none \
    -x VENIC_SOCKET -x FI_PROVIDER_PATH -x VENIC_RANK_INSTANCES -x VENIC_FI_NAME "$@" \
    "$(dirname "$0")/../../tools/mpi/venic-rank-env" "$BUILD/tests/integration/$prog" $args \
    >"$WORK/$name.log" 2>&1 || die "mpirun ($name) failed or stalled after: $(grep "$prog" "$WORK/$name.log" | tail -3)"
  grep -q "$prog: PASS" "$WORK/$name.log" || die "$prog ($name) did not pass: $(tail -5 "$WORK/$name.log")"
  log "$name: $(grep "$prog: PASS" "$WORK/$name.log")"
}
run cm-mtl-ofi vefa --mca pml cm --mca mtl ofi --mca mtl_ofi_provider_include vefa
run cm-mtl-ofi-efa efa --mca pml cm --mca mtl ofi --mca mtl_ofi_provider_include efa
# btl ofi is one-sided only unless btl_ofi_mode asks for both (2): without
# it ob1 finds no BTL to reach the peer at all.
run ob1-btl-ofi vefa --mca pml ob1 --mca btl ofi,self --mca btl_ofi_provider_include vefa --mca btl_ofi_mode 2
run ob1-btl-ofi-efa efa --mca pml ob1 --mca btl ofi,self --mca btl_ofi_provider_include efa --mca btl_ofi_mode 2
# Four ranks, two per instance (sharing its EFA device), after the runs
# above on the same daemon: ob1's btl ofi registers buffers just before its
# RDMA, which once failed with a local protection error when venicd's
# poller looked the new key up in a view older than the registration.
NP=4 run cm-mtl-ofi-efa-4 efa --mca pml cm --mca mtl ofi --mca mtl_ofi_provider_include efa
NP=4 run ob1-btl-ofi-efa-4 efa --mca pml ob1 --mca btl ofi,self --mca btl_ofi_provider_include efa --mca btl_ofi_mode 2
# mpi_check's point-to-point, probe, collectives and one-sided (osc rdma over
# btl ofi) under ob1: the "hang after ~400 messages" was mpi_check itself
# (blocking sends probed in reverse order: a deadlock under any rendezvous).
PROG=mpi_check ARGS=--rma run ob1-btl-ofi-check vefa --mca pml ob1 --mca btl ofi,self --mca btl_ofi_provider_include vefa \
  --mca btl_ofi_mode 2 --mca osc rdma
sleep 0.5
ctl efa list | grep -q "no open EFA contexts" || die "contexts outlived the jobs: $(ctl efa list)"
assert_venicd_alive
log "PASS"
