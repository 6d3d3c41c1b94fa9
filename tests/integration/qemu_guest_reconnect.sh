#!/usr/bin/env bash
# A daemon restart under two running QEMU guests: venicd serves VF0 and VF1 as
# vhost-user server sockets, QEMU connects as a client with reconnect=1.
# Guest A pings guest B continuously; venicd is stopped (SIGTERM) and started
# again from its state file.  Both QEMUs survive, reconnect by themselves, and
# A's pings reach B again through the new daemon.  Pings lost while no daemon
# runs are fine.  The guest image is tests/integration/guest (see README.md).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/guest/guest_lib.sh"
guest_image_ready

start_venicd
vhost_pair

# PINGS pings, one each 0.1 s: about 40 s, of which the restart takes a few.
PINGS=400
guest_scripts 170
cat >>"$WORK/a/venic-test.sh" <<EOF
echo VENIC-PHASE1-OK
# One line per reply ("64 bytes from 10.0.1.11: seq=N ..."), then the summary.
# -w bounds it if the pings cannot keep to -i (TCG).
ping -c $PINGS -i 0.1 -W 1 -w 75 10.0.1.11
echo "VENIC-PINGS-END rc=\$?"
EOF
for g in a b; do pack_guest $g; done

T0=$SECONDS
boot_guest b 1 02:00:00:00:00:02
boot_guest a 0 02:00:00:00:00:01

qemus_alive() {
  kill -0 "$QEMU_a_PID" 2>/dev/null || die "QEMU A exited ($1)"
  kill -0 "$QEMU_b_PID" 2>/dev/null || die "QEMU B exited ($1)"
}
# wait_attached WHAT SECONDS: both VFs report a connected guest.
wait_attached() {
  local end=$((SECONDS + $2))
  until [ "$(vhost_of 0 connected)" = True ] && [ "$(vhost_of 1 connected)" = True ]; do
    qemus_alive "$1"
    [ $SECONDS -lt $end ] ||
      die "$1: the guests are not both attached after $2 s: VF0 $(ctl vf show 0 --json), VF1 $(ctl vf show 1 --json)"
    sleep 0.5
  done
}
replies() { grep -c "bytes from 10.0.1.11" "$WORK/guest-a.log" || true; }

wait_attached "first boot" 60
log "both guests attached after $((SECONDS - T0)) s"
while ! grep -q "VENIC-PHASE1-OK" "$WORK/guest-a.log" 2>/dev/null; do
  grep -q "VENIC-B-SILENT" "$WORK/guest-a.log" && die "guest A never got a reply from guest B"
  [ $((SECONDS - T0)) -lt 70 ] || die "guest A did not reach B within 70 s"
  qemus_alive "before the restart"
  sleep 0.5
done
# Let ~30 pings through the first daemon.
for _ in $(seq 100); do [ "$(replies)" -ge 30 ] && break; qemus_alive "pinging"; sleep 0.1; done
rx1_old=$(stat_of 1 rx_pkts)
[ "$rx1_old" -gt 0 ] || die "VF1: rx_pkts is 0 on the first daemon while A pings B"

cp "$WORK/venicd.log" "$WORK/venicd-first.log"
T1=$SECONDS
stop_venicd
before=$(replies) # no daemon: no reply can come until the restart
log "venicd stopped after $before replies (first daemon: VF1 rx_pkts=$rx1_old)"
sleep 1 # QEMU finds no socket for a moment
qemus_alive "with venicd down"
start_venicd
[ "$(ctl vf show 0 --json | json_get "j['frontend']")" = vhost-user ] &&
  [ "$(ctl vf show 1 --json | json_get "j['frontend']")" = vhost-user ] || die "the restored VFs lost their front-end"
[ -S "$WORK/vf0.vhost" ] && [ -S "$WORK/vf1.vhost" ] || die "the new venicd does not listen on the vhost-user sockets"
rx1_start=$(stat_of 1 rx_pkts)
wait_attached "after the restart" 30
log "both guests reattached $((SECONDS - T1)) s after the stop"

# A finishes its pings and powers off.
while ! grep -q "VENIC-GUEST-DONE" "$WORK/guest-a.log" 2>/dev/null; do
  [ $((SECONDS - T0)) -lt 140 ] || die "guest A did not finish within 140 s"
  kill -0 "$QEMU_a_PID" 2>/dev/null || die "QEMU A exited without VENIC-GUEST-DONE"
  kill -0 "$QEMU_b_PID" 2>/dev/null || die "QEMU B exited while A pinged it"
  sleep 0.5
done
for _ in $(seq 100); do kill -0 "$QEMU_a_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$QEMU_a_PID" 2>/dev/null && die "QEMU A did not exit after the guest powered off"
wait "$QEMU_a_PID" || die "QEMU A exited with $?"
kill -0 "$QEMU_b_PID" 2>/dev/null || die "QEMU B died across the restart"

summary=$(grep -E "packets transmitted" "$WORK/guest-a.log" | tail -n1)
[ -n "$summary" ] || die "guest A printed no ping summary"
received=$(echo "$summary" | grep -oE '[0-9]+ packets received' | grep -oE '^[0-9]+')
after=$((received - before))
rx1_new=$(stat_of 1 rx_pkts)
tx1_new=$(stat_of 1 tx_pkts)
from_guest0=$(vhost_of 0 from_guest_pkts)
log "guest A: $summary; $after replies after the restart"
log "new daemon: VF1 rx_pkts=$rx1_new (was $rx1_start at its start) tx_pkts=$tx1_new, VF0 from_guest_pkts=$from_guest0"
[ "$after" -ge 50 ] || die "guest A got only $after replies after the restart ($summary, $before before)"
[ $((rx1_new - rx1_start)) -ge 50 ] || die "VF1: the new daemon delivered only $((rx1_new - rx1_start)) packets to B"
[ "$tx1_new" -ge 50 ] || die "VF1: the new daemon carried only $tx1_new packets from B"
[ "$from_guest0" -ge 50 ] || die "VF0: the new daemon took only $from_guest0 packets from A"

kill -TERM "$QEMU_b_PID"
for _ in $(seq 50); do kill -0 "$QEMU_b_PID" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$QEMU_b_PID" 2>/dev/null || true
wait "$QEMU_b_PID" 2>/dev/null || true
assert_venicd_alive
log "PASS ($((SECONDS - T0)) s with the guests)"
