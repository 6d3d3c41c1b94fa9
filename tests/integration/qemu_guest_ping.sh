#!/usr/bin/env bash
# Two QEMU guests (Linux virtio-net over vhost-user) on two VFs of one subnet:
# guest A pings guest B through venicd; then the source/destination check
# blocks A's pings from an address (10.0.1.99) and from a MAC (:99) that are
# not its VF's, and lets them through again once A's real MAC is back.
# The guest image is tests/integration/guest (see README.md there).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/guest/guest_lib.sh"
guest_image_ready

start_venicd
vhost_pair

guest_scripts 120
cat >>"$WORK/a/venic-test.sh" <<EOF
if ping -c 3 -w 40 10.0.1.11; then echo VENIC-PING-OK; else echo VENIC-PING-FAIL; fi

# (a) From an address that is not the VF's: its frames (ICMP, ARP) are dropped.
ip addr add 10.0.1.99/24 dev eth0
if ping -I 10.0.1.99 -c 3 -W 1 -w 5 10.0.1.11; then echo VENIC-SPOOF-IP-PASSED; else echo VENIC-SPOOF-IP-BLOCKED; fi
ip addr del 10.0.1.99/24 dev eth0

# setmac MAC: the NIC's MAC; down/up flushes the neighbour cache (A ARPs again).
setmac() {
  ip link set eth0 down
  ip link set eth0 address "\$1"
  ip link set eth0 up
  ip addr show dev eth0 | grep -q 'inet 10.0.1.10/24' || ip addr add 10.0.1.10/24 dev eth0
  ip route show | grep -q '^10.0.1.0/24' || ip route add 10.0.1.0/24 dev eth0 src 10.0.1.10
  ip link show eth0 | grep ether
}
# (b) From its own address but another MAC.
setmac 02:00:00:00:00:99
if ping -c 3 -W 1 -w 5 10.0.1.11; then echo VENIC-SPOOF-MAC-PASSED; else echo VENIC-SPOOF-MAC-BLOCKED; fi
# (c) The real MAC again: it was the MAC that was dropped.
setmac 02:00:00:00:00:01
if ping -c 3 -W 2 -w 10 10.0.1.11; then echo VENIC-RESTORED-OK; else echo VENIC-RESTORED-FAIL; fi
EOF
for g in a b; do pack_guest $g; done

T0=$SECONDS
boot_guest b 1 02:00:00:00:00:02
boot_guest a 0 02:00:00:00:00:01


# Both guests' virtio-net drivers come up: venicd attaches them (bounded).
for _ in $(seq 120); do
  [ "$(vhost_of 0 connected)" = True ] && [ "$(vhost_of 1 connected)" = True ] && break
  kill -0 "$QEMU_a_PID" 2>/dev/null || die "QEMU A exited before venicd saw it connect"
  kill -0 "$QEMU_b_PID" 2>/dev/null || die "QEMU B exited before venicd saw it connect"
  sleep 0.5
done
[ "$(vhost_of 0 connected)" = True ] || die "VF0: vhost.connected is not true with guest A running: $(ctl vf show 0 --json)"
[ "$(vhost_of 1 connected)" = True ] || die "VF1: vhost.connected is not true with guest B running: $(ctl vf show 1 --json)"
log "both guests attached after $((SECONDS - T0)) s"

# Guest A runs its script and powers off (at most ~90 s after boot).
while ! grep -q "VENIC-GUEST-DONE" "$WORK/guest-a.log" 2>/dev/null; do
  [ $((SECONDS - T0)) -lt 90 ] || die "guest A did not finish within 90 s"
  kill -0 "$QEMU_a_PID" 2>/dev/null || die "QEMU A exited without VENIC-GUEST-DONE"
  sleep 0.5
done
log "guest A done after $((SECONDS - T0)) s"
for _ in $(seq 100); do kill -0 "$QEMU_a_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$QEMU_a_PID" 2>/dev/null && die "QEMU A did not exit after the guest powered off"
wait "$QEMU_a_PID" || die "QEMU A exited with $?"

grep -q "VENIC-GUEST-DONE rc=0" "$WORK/guest-a.log" || die "guest A's script failed: $(grep VENIC-GUEST-DONE "$WORK/guest-a.log")"
grep -q "VENIC-B-UP" "$WORK/guest-b.log" || die "guest B did not configure its NIC"
for m in PING-OK SPOOF-IP-BLOCKED SPOOF-MAC-BLOCKED RESTORED-OK; do
  grep -q "VENIC-$m" "$WORK/guest-a.log" ||
    die "guest A: want VENIC-$m, got: $(grep -o 'VENIC-[A-Z-]*' "$WORK/guest-a.log" | tr '\n' ' ')"
done

spoof_ip=$(stat_of 0 drops.spoof_ip)
spoof_mac=$(stat_of 0 drops.spoof_mac)
rx1=$(stat_of 1 rx_pkts)
from_guest=$(vhost_of 0 from_guest_pkts)
log "VF0 spoof_ip=$spoof_ip spoof_mac=$spoof_mac from_guest_pkts=$from_guest, VF1 rx_pkts=$rx1"
[ "$spoof_ip" -gt 0 ] || die "VF0: drops.spoof_ip is 0 after pings from 10.0.1.99"
[ "$spoof_mac" -gt 0 ] || die "VF0: drops.spoof_mac is 0 after pings from 02:00:00:00:00:99"
[ "$rx1" -gt 0 ] || die "VF1: rx_pkts is 0 after guest A pinged guest B"
[ "$from_guest" -gt 0 ] || die "VF0: vhost.from_guest_pkts is 0"

kill -TERM "$QEMU_b_PID"
for _ in $(seq 50); do kill -0 "$QEMU_b_PID" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$QEMU_b_PID" 2>/dev/null || true
wait "$QEMU_b_PID" 2>/dev/null || true
assert_venicd_alive
log "PASS ($((SECONDS - T0)) s with the guests)"
