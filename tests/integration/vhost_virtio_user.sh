#!/usr/bin/env bash
# vhost-user front-end with DPDK's own virtio-user PMD as the guest: VF1 is
# served on a vhost-user socket, dpdk-testpmd drives it through
# net_virtio_user (macswap), venic-traffic on VF0 (the device ABI) sends
# patterned frames and verifies every byte of every echo, 64 B to jumbo.
# Then: the "guest" is killed (SIGKILL) and comes back — venicd keeps serving
# the other VFs meanwhile and the new guest reattaches to the same VF; a guest
# sending from a MAC that is not its VF's is cut off by the source check; a
# two-queue guest gets inbound flows spread over both of its queues.
source "$(dirname "$0")/lib.sh"
hugepages_ready || die "virtio-user needs 128 free 2 MiB hugepages (ci/install-deps --hugepages 512)"
start_venicd
ctl vf create --type ena --mac 02:00:00:00:00:01 --ip 10.0.1.10 --mtu 9001 >/dev/null
ctl vf create --type ena --mac 02:00:00:00:00:02 --ip 10.0.1.11 --mtu 9001 --queues 1 \
  --frontend vhost-user --vhost-path "$WORK/vf1.vhost" >/dev/null
ctl vf create --type ena --mac 02:00:00:00:00:03 --ip 10.0.1.12 >/dev/null
ctl vf create --type ena --mac 02:00:00:00:00:04 --ip 10.0.1.13 --queues 2 \
  --frontend vhost-user --vhost-path "$WORK/vf3.vhost" >/dev/null
[ -S "$WORK/vf1.vhost" ] || die "venicd did not create the vhost-user socket"
# The shared-memory attach is refused for a vhost-user VF, with the reason.
out=$("$TRAFFIC" --socket "$SOCK" --vf 1 recv --count 1 --timeout 1 2>&1) && die "a PMD attached a vhost-user VF"
grep -q "vhost-user" <<<"$out" || die "attach refusal does not name vhost-user: $out"

GUEST_VF=1 GUEST_QUEUES=1
vhost() { ctl vf show "$GUEST_VF" --json | json_get "j['vhost']['$1']"; }

# guest_start NAME MAC TESTPMD-ARGS...: testpmd over virtio-user on the
# socket of VF $GUEST_VF, with $GUEST_QUEUES queue pairs.
guest_start() {
  local name=$1 mac=$2
  shift 2
  dpdk-testpmd --lcores "0@(0,1),1@(0,1)" --no-pci --file-prefix "vt$$-$name" "${EAL_ZERO_COPY[@]}" \
    --vdev "net_virtio_user0,path=$WORK/vf$GUEST_VF.vhost,mac=$mac,queues=$GUEST_QUEUES,queue_size=1024" -- \
    --total-num-mbufs=8192 --rxd=1024 --txd=1024 --stats-period 1 "$@" >"$WORK/$name.log" 2>&1 </dev/null &
  local pid=$!
  PIDS+=("$pid")
  eval "TESTPMD_${name}_PID=$pid"
  for _ in $(seq 150); do
    grep -q "start packet forwarding" "$WORK/$name.log" 2>/dev/null && [ "$(vhost connected)" = True ] && return 0
    kill -0 "$pid" 2>/dev/null || die "testpmd $name exited early"
    sleep 0.1
  done
  die "guest $name did not attach over vhost-user"
}

echo_sizes() { # LABEL: echo patterned frames of three sizes from VF0 off the guest
  for size in 64 1500 9019; do
    out=$("$TRAFFIC" --socket "$SOCK" --vf 0 echo --dst-mac 02:00:00:00:00:02 --count 3000 --size "$size" \
      --timeout 20) || die "$1: echo of $size-byte frames failed: $out"
    log "$1 $size B: $out"
  done
}

guest_start guest1 02:00:00:00:00:02 --forward-mode=macswap --max-pkt-len=9019 --enable-scatter --mbuf-size=2176
[ "$(ctl vf show 1 --json | json_get "j['started']")" = True ] || die "VF1 is not started with its guest attached"
echo_sizes guest1
from=$(vhost from_guest_pkts)
to=$(vhost to_guest_pkts)
[ "$from" -eq 9000 ] && [ "$to" -eq 9000 ] || die "bridge moved from/to guest $from/$to frames, expected 9000/9000"
[ "$(stat_of 1 rx_pkts)" -eq 9000 ] && [ "$(stat_of 1 tx_pkts)" -eq 9000 ] || die "VF1 counters disagree with the bridge"

# The guest dies without a word; venicd notices, detaches, serves the others.
kill -KILL "$TESTPMD_guest1_PID"
wait "$TESTPMD_guest1_PID" 2>/dev/null || true
for _ in $(seq 50); do [ "$(vhost connected)" = False ] && break; sleep 0.1; done
[ "$(vhost connected)" = False ] || die "venicd still shows the killed guest connected"
[ "$(ctl vf show 1 --json | json_get "j['attached']")" = False ] || die "VF1 still attached after its guest died"
"$TRAFFIC" --socket "$SOCK" --vf 2 recv --count 500 --timeout 10 >"$WORK/recv2.out" &
r=$!
PIDS+=("$r")
sleep 0.5
"$TRAFFIC" --socket "$SOCK" --vf 0 send --dst-mac 02:00:00:00:00:03 --count 500 --size 512 >/dev/null ||
  die "VF0 -> VF2 send failed while VF1's guest was gone"
wait "$r" || die "VF2 did not receive while VF1's guest was gone: $(cat "$WORK/recv2.out")"
log "VF0 -> VF2 while the guest was gone: $(cat "$WORK/recv2.out")"
rm -rf "/var/run/dpdk/vt$$-guest1"

# The restarted guest reattaches to the same VF and traffic flows again.
guest_start guest2 02:00:00:00:00:02 --forward-mode=macswap --max-pkt-len=9019 --enable-scatter --mbuf-size=2176
echo_sizes guest2
testpmd_stop guest2
assert_venicd_alive

# A guest that uses another MAC is cut off (spoof checking, as on a VF).
ctl stats --reset >/dev/null
guest_start spoofer 02:00:00:00:00:77 --forward-mode=txonly --eth-peer=0,02:00:00:00:00:01 \
  --tx-ip=10.0.1.11,10.0.1.10
sleep 2
testpmd_stop spoofer
spoofed=$(stat_of 1 drops.spoof_mac)
sent=$(stat_of 1 tx_pkts)
log "spoofing guest: spoof_mac $spoofed, forwarded $sent"
[ "$spoofed" -gt 1000 ] || die "frames from a foreign MAC were not counted as spoof_mac ($spoofed)"
[ "$sent" -eq 0 ] || die "$sent frames from a foreign MAC left the VF"

# Multi-queue: the guest's two queue pairs are the VF's; RSS spreads flows.
GUEST_VF=3 GUEST_QUEUES=2
guest_start mq 02:00:00:00:00:04 --forward-mode=rxonly --rxq=2 --txq=2
[ "$(vhost queues)" -eq 2 ] || die "the two-queue guest got $(vhost queues) queue pair(s)"
"$TRAFFIC" --socket "$SOCK" --vf 0 send --dst-mac 02:00:00:00:00:04 --count 2000 --size 128 --udp-flows 64 \
  --src-ip 10.0.1.10 --dst-ip 10.0.1.13 >/dev/null || die "send to the two-queue guest failed"
sleep 1
testpmd_stop mq
read -r q0 q1 < <(ctl stats 3 --json | json_get "' '.join(str(q['pkts']) for q in j['vfs'][0]['queues']['rx'])")
log "two-queue guest: rx queue 0 $q0, queue 1 $q1 frames"
[ $((q0 + q1)) -eq 2000 ] || die "the two-queue guest's queues got $q0 + $q1 of 2000 frames"
[ "$q0" -gt 100 ] && [ "$q1" -gt 100 ] || die "RSS did not spread 64 flows over both queues ($q0/$q1)"
[ "$(testpmd_total mq RX-packets)" -eq 2000 ] || die "the guest received $(testpmd_total mq RX-packets) of 2000"
assert_venicd_alive
log "PASS"
