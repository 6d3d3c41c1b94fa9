#!/usr/bin/env bash
# Open MPI over vefa, ranks on two emulated instances (venic-rank-env).
# - pml cm + mtl ofi (vefa) for point-to-point and collectives, btl ofi (vefa)
#   for one-sided: mpi_check checks every byte of point-to-point at each
#   protocol size, matching order under reordering, probe/mprobe,
#   barrier/allreduce/allgather/alltoall, and put/get/accumulate.
# - The same with the daemon's reorder hook on, and with four ranks (two
#   processes sharing each instance's EFA device).
# - Afterwards the daemon holds no context of the finished job.
source "$(dirname "$0")/lib.sh"
start_venicd
fabric_env

vpc=$(new_vpc 10.0.0.0/16)
subnet=$(new_subnet "$vpc" 10.0.1.0/24)
sg=$(efa_group "$vpc")
ec2 create-placement-group --group-name hpc --strategy cluster >/dev/null
instances=$(ec2 run-instances --instance-type c5n.18xlarge --subnet-id "$subnet" --security-group-ids "$sg" --count 2 \
  --network-interface-type efa --placement GroupName=hpc | field "','.join(i['InstanceId'] for i in j['Instances'])")
vf_a=$(efa_vf "${instances%,*}")
export VENIC_RANK_INSTANCES=$instances
log "instances $instances"

# mpi NAME NP [mpi_check args]: runs mpi_check on NP ranks over vefa.
mpi() {
  local name=$1 np=$2
  shift 2
  timeout 150 mpirun --allow-run-as-root --oversubscribe -np "$np" --bind-to none \
    -x VENIC_SOCKET -x FI_PROVIDER_PATH -x VENIC_RANK_INSTANCES \
    --mca pml cm --mca mtl ofi --mca mtl_ofi_provider_include vefa \
    --mca btl ofi,self --mca btl_ofi_provider_include vefa --mca osc rdma \
    "$(dirname "$0")/../../tools/mpi/venic-rank-env" "$BUILD/tests/integration/mpi_check" "$@" \
    >"$WORK/$name.log" 2>&1 || die "mpirun ($name) failed: $(grep -v '^\[' "$WORK/$name.log" | tail -8)"
  grep -q "mpi_check: PASS" "$WORK/$name.log" || die "mpi_check ($name) did not pass: $(tail -5 "$WORK/$name.log")"
  log "$name: $(grep 'mpi_check:' "$WORK/$name.log")"
}
mpi two-ranks 2 --rma
writes=$(efa_stat "$vf_a" rdma_write_bytes)
reads=$(efa_stat "$vf_a" rdma_read_bytes)
[ "$writes" -gt 0 ] || die "one-sided MPI moved nothing with RDMA writes"
[ "$reads" -gt 0 ] || die "long messages moved nothing with RDMA reads"
log "instance A's device: $writes bytes RDMA-written, $reads bytes RDMA-read"

ctl efa hooks --reorder on --delay-us 30 >/dev/null
mpi reordered 2 --rma
[ "$(efa_stat "$vf_a" reordered)" -gt 0 ] || die "the reorder hook held nothing back"
ctl efa hooks --reorder off >/dev/null

mpi four-ranks 4
sleep 0.5
ctl efa list | grep -q "no open EFA contexts" || die "contexts outlived the job: $(ctl efa list)"
assert_venicd_alive
log "PASS"
