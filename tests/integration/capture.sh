#!/usr/bin/env bash
# venicctl capture: venicctl opens the file and hands it to venicd, which
# writes pcapng that tshark reads; one capture per VF at a time; a VF that
# does not exist is refused; Ctrl-C ends a capture cleanly.  (Packets and
# their verdict comments are covered by capture_test; the fast path offers
# frames to CaptureTap.)
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
assert_venicd_alive
stop_venicd
log "PASS"
