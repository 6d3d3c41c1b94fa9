#!/usr/bin/env bash
# venicctl capture: venicctl opens the file and hands it to venicd, which
# writes pcapng that tshark reads; one capture per VF at a time; a VF that
# does not exist is refused; Ctrl-C ends a capture cleanly; 100 packets a
# VF sent, 10 of them spoofed, read back with 10 drop comments.
source "$(dirname "$0")/lib.sh"
command -v tshark >/dev/null || die "tshark missing"
start_venicd
ctl vf create --type ena --mac 02:00:00:00:00:01 --ip 10.0.1.10 >/dev/null

"$VENICCTL" --socket "$SOCK" capture 0 --direction both -w "$WORK/vf0.pcapng" 2>"$WORK/capture.log" &
cap=$!
PIDS+=("$cap")
for _ in $(seq 50); do grep -q "capturing VF 0" "$WORK/capture.log" && break; sleep 0.1; done
grep -q "capturing VF 0" "$WORK/capture.log" || die "capture did not start: $(cat "$WORK/capture.log")"

out=$(ctl capture 0 -w "$WORK/second.pcapng" 2>&1) && die "a second capture of VF 0 started"
echo "$out" | grep -q "already being captured" || die "second capture: $out"
out=$(ctl capture 9 -w "$WORK/none.pcapng" 2>&1) && die "a capture of a VF that does not exist started"
echo "$out" | grep -q "no VF 9" || die "capture of VF 9: $out"

kill -INT "$cap"
wait "$cap" || die "venicctl capture exited with $? on Ctrl-C"
grep -q "packets written" "$WORK/capture.log" || die "no summary: $(cat "$WORK/capture.log")"
tshark -r "$WORK/vf0.pcapng" >/dev/null 2>"$WORK/tshark.log" || die "tshark cannot read the capture: $(cat "$WORK/tshark.log")"
# The VF is free again.
"$VENICCTL" --socket "$SOCK" capture 0 --count 1 -w "$WORK/again.pcapng" 2>"$WORK/again.log" &
again=$!
PIDS+=("$again")
for _ in $(seq 50); do grep -q "capturing VF 0" "$WORK/again.log" && break; sleep 0.1; done
grep -q "capturing VF 0" "$WORK/again.log" || die "VF 0 could not be captured again: $(cat "$WORK/again.log")"
kill -INT "$again"
wait "$again" || true

# Real traffic: VF 0 sends 10 frames from a MAC not its own, then 90 of its
# own to VF 1; the capture of VF 0's side holds all 100, the 10 with their
# drop reason in the packet's comment.
ctl vf create --type ena --mac 02:00:00:00:00:02 --ip 10.0.1.11 >/dev/null
"$VENICCTL" --socket "$SOCK" capture 0 --direction out --count 100 -w "$WORK/traffic.pcapng" 2>"$WORK/traffic.log" &
cap=$!
PIDS+=("$cap")
for _ in $(seq 50); do grep -q "capturing VF 0" "$WORK/traffic.log" && break; sleep 0.1; done
"$TRAFFIC" --socket "$SOCK" --vf 1 recv --count 90 --timeout 5 --idle 2 >/dev/null &
recv=$!
PIDS+=("$recv")
sleep 0.3
"$TRAFFIC" --socket "$SOCK" --vf 0 send --dst-mac 02:00:00:00:00:02 --src-mac 02:00:00:00:00:99 --count 10 \
  --flows 1 --src-ip 10.0.1.10 --dst-ip 10.0.1.11 >/dev/null || die "sending the spoofed frames failed"
"$TRAFFIC" --socket "$SOCK" --vf 0 send --dst-mac 02:00:00:00:00:02 --count 90 --flows 1 --src-ip 10.0.1.10 \
  --dst-ip 10.0.1.11 >/dev/null || die "sending the frames failed"
wait "$recv" || die "VF 1 did not receive the 90 frames"
for _ in $(seq 50); do kill -0 "$cap" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$cap" 2>/dev/null || die "the capture did not end after 100 packets: $(cat "$WORK/traffic.log")"
packets=$(tshark -r "$WORK/traffic.pcapng" 2>/dev/null | wc -l)
spoofed=$(tshark -r "$WORK/traffic.pcapng" -T fields -e frame.comment 2>/dev/null | grep -c "drop: spoof_mac" || true)
delivered=$(tshark -r "$WORK/traffic.pcapng" -T fields -e frame.comment 2>/dev/null | grep -c "delivered" || true)
log "capture: $packets packets, $spoofed spoof_mac drops, $delivered delivered"
[ "$packets" -eq 100 ] || die "the capture holds $packets packets, not 100"
[ "$spoofed" -eq 10 ] || die "$spoofed packets carry a spoof_mac comment, not 10"
[ "$delivered" -eq 90 ] || die "$delivered packets say delivered, not 90"
assert_venicd_alive
stop_venicd
log "PASS"
