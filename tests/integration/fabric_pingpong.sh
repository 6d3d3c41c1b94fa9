#!/usr/bin/env bash
# libfabric's own clients over vefa.  Two c5n.18xlarge instances, A and B, in
# one subnet with an EFA group; C in another subnet.
# - fi_info -p vefa lists an RDM and a DGRAM endpoint; -v shows attributes.
# - fi_pingpong (RDM, message and tagged modes) between a process of A and
#   one of B, every size up to 4 MiB with data checks, while the daemon's
#   reorder hook holds back and shuffles SRD deliveries; the daemon counts
#   what it reordered.  DGRAM over UD queue pairs.
# - vefa_selftest: tagged matching, peek/claim, cancel, CQ data, FI_SOURCE,
#   truncation, multi-recv, RMA, atomics, counters, EQ, DGRAM.
# - C cannot reach A: OS-bypass traffic stays in its subnet.
source "$(dirname "$0")/lib.sh"
start_venicd
fabric_env

vpc=$(new_vpc 10.0.0.0/16)
subnet=$(new_subnet "$vpc" 10.0.1.0/24)
other=$(new_subnet "$vpc" 10.0.2.0/24)
sg=$(efa_group "$vpc")
IFS=, read -r inst_a inst_b < <(efa_instances "$subnet" "$sg" 2)
inst_c=$(efa_instances "$other" "$sg" 1)
vf_a=$(efa_vf "$inst_a")
log "A $inst_a (VF $vf_a), B $inst_b, C $inst_c (other subnet)"

VENIC_INSTANCE=$inst_a fi_info -p vefa >"$WORK/fi_info.out" 2>&1 || die "fi_info -p vefa failed: $(cat "$WORK/fi_info.out")"
grep -q "provider: vefa" "$WORK/fi_info.out" || die "fi_info does not list vefa"
grep -q "FI_EP_RDM" "$WORK/fi_info.out" || die "no RDM endpoint"
grep -q "FI_EP_DGRAM" "$WORK/fi_info.out" || die "no DGRAM endpoint"
VENIC_INSTANCE=$inst_a fi_info -p vefa -v >"$WORK/fi_info_v.out" 2>&1 || die "fi_info -v failed"
for attr in FI_TAGGED FI_RMA max_msg_size FI_ADDR_EFA; do
  grep -q "$attr" "$WORK/fi_info_v.out" || die "fi_info -v does not show $attr"
done
# The device as drivers/efa sees it, in rdma-core's efadv terms, and its own
# path (two QPs of one process, no libfabric).
VENIC_INSTANCE=$inst_a "$BUILD/tools/efa-info/venic-efa-info" --pingpong 2000 >"$WORK/efa-info.out" 2>&1 ||
  die "venic-efa-info failed: $(cat "$WORK/efa-info.out")"
for want in "device: venic_efa$vf_a" "max_sq_wr: 256" "inline_buf_size: 8192" "RDMA_READ" "pingpong: 2000 round trips"; do
  grep -q "$want" "$WORK/efa-info.out" || die "venic-efa-info does not say '$want': $(cat "$WORK/efa-info.out")"
done
log "$(grep pingpong "$WORK/efa-info.out")"
# Without a daemon the provider is absent, not broken.
if VENIC_SOCKET=$WORK/none.sock timeout 20 fi_info -p vefa >/dev/null 2>&1; then die "vefa listed with no daemon"; fi

ctl efa hooks --reorder on --delay-us 50 | grep -q "on" || die "could not turn the reorder hook on"
# pingpong NAME fi_pingpong-args...: server on A, client on B; both must exit 0.
pingpong() {
  local name=$1
  shift
  local port
  port=$(free_port)
  VENIC_INSTANCE=$inst_a timeout 120 fi_pingpong -p vefa -B "$port" "$@" >"$WORK/$name.server.log" 2>&1 &
  local server=$!
  PIDS+=("$server")
  sleep 0.3
  VENIC_INSTANCE=$inst_b timeout 120 fi_pingpong -p vefa -P "$port" "$@" localhost >"$WORK/$name.client.log" 2>&1 ||
    die "fi_pingpong $name: client failed: $(tail -3 "$WORK/$name.client.log")"
  wait "$server" || die "fi_pingpong $name: server failed: $(tail -3 "$WORK/$name.server.log")"
  log "$name: $(tail -1 "$WORK/$name.client.log")"
}
pingpong rdm-all -e rdm -c -S all -I 5
pingpong rdm-tagged -e rdm -m tagged -c -S 70000 -I 50
pingpong rdm-8 -e rdm -c -S 8 -I 2000
pingpong dgram -e dgram -c -S 1024 -I 200
reordered=$(efa_stat "$vf_a" reordered)
[ "$reordered" -gt 0 ] || die "the reorder hook held nothing back"
log "the daemon reordered $reordered SRD deliveries from A"
ctl efa hooks --reorder off | grep -q off || die "could not turn the hook off"

VENIC_INSTANCE=$inst_a timeout 120 "$BUILD/tests/integration/vefa_selftest" >"$WORK/selftest.log" 2>&1 ||
  die "vefa_selftest failed: $(grep -i fail "$WORK/selftest.log" | head -5)"
log "$(tail -1 "$WORK/selftest.log")"

# C is in another subnet: its address cannot go into A's AV, so the client fails.
port=$(free_port)
VENIC_INSTANCE=$inst_a timeout 30 fi_pingpong -p vefa -e rdm -B "$port" -I 10 -S 8 >"$WORK/c.server.log" 2>&1 &
server=$!
PIDS+=("$server")
sleep 0.3
if VENIC_INSTANCE=$inst_c timeout 30 fi_pingpong -p vefa -e rdm -P "$port" -I 10 -S 8 localhost >"$WORK/c.client.log" 2>&1; then
  die "a process in another subnet reached A over OS bypass"
fi
kill "$server" 2>/dev/null || true
grep -qi "av_insert\|unreachable\|No route" "$WORK/c.client.log" || die "the client in another subnet failed, but not at the AV: $(tail -3 "$WORK/c.client.log")"
[ "$(efa_stat "$(efa_vf "$inst_c")" tx_msgs)" -eq 0 ] || die "C sent OS-bypass messages"
assert_venicd_alive
log "PASS"
