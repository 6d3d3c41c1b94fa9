#!/usr/bin/env bash
# The daemon keeps serving every other VF when one misbehaves:
#  - a hostile client scribbles garbage descriptors and indices into its VF;
#  - a VF is deleted while testpmd is sending on it;
#  - a client is killed (SIGKILL) mid-transfer.
source "$(dirname "$0")/lib.sh"
start_venicd
ctl vf create --type ena --mac 02:00:00:00:00:01 --ip 10.0.1.10 >/dev/null
ctl vf create --type ena --mac 02:00:00:00:00:02 --ip 10.0.1.11 >/dev/null
# The scribbler lives in its own subnet so its (random) broadcasts reach no one.
ctl vf create --type ena --mac 02:00:00:00:00:03 --ip 10.9.9.9 >/dev/null
ctl vf create --type ena --mac 02:00:00:00:00:04 --ip 10.0.1.12 >/dev/null
ctl vf create --type ena --mac 02:00:00:00:00:05 --ip 10.0.1.13 >/dev/null

# Every frame sent FROM -> TO is either received intact or counted as dropped
# for want of a receive buffer (the receiver may be slower than the sender);
# nothing corrupt, nothing from elsewhere, and most of them arrive.
verified_transfer() { # FROM TO TO-MAC COUNT
  local nobuf_before
  nobuf_before=$(stat_of "$2" drops.rx_no_buffer)
  "$TRAFFIC" --socket "$SOCK" --vf "$2" recv --count "$4" --timeout 20 --idle 1 >"$WORK/recv.out" &
  local r=$!
  PIDS+=("$r")
  for _ in $(seq 50); do
    [ "$(ctl vf show "$2" --json | json_get "j['started']")" = True ] && break
    sleep 0.1
  done
  "$TRAFFIC" --socket "$SOCK" --vf "$1" send --dst-mac "$3" --count "$4" --size 512 --pps 200000 >/dev/null ||
    die "send VF$1 -> VF$2 failed"
  wait "$r" || true
  local got bad nobuf
  got=$(json_get "j['received']" <"$WORK/recv.out")
  bad=$(json_get "j['bad']" <"$WORK/recv.out")
  nobuf=$(($(stat_of "$2" drops.rx_no_buffer) - nobuf_before))
  [ "$bad" -eq 0 ] || die "VF$2 received $bad corrupt or foreign frames"
  [ $((got + nobuf)) -eq "$4" ] || die "VF$1 -> VF$2: $got received + $nobuf no-buffer drops != $4 sent"
  [ "$got" -ge $(($4 * 9 / 10)) ] || die "VF$1 -> VF$2: only $got of $4 received"
  log "   VF$1 -> VF$2: $got of $4 intact, $nobuf dropped for want of buffers"
}

log "1. garbage descriptors on VF2 while VF0 -> VF1 traffic runs"
"$TRAFFIC" --socket "$SOCK" --vf 2 scribble --seconds 4 --seed 7 >"$WORK/scribble.out" &
s=$!
PIDS+=("$s")
sleep 0.5
rx_before=$(stat_of 1 rx_pkts)
verified_transfer 0 1 02:00:00:00:00:02 20000
wait "$s" || die "scribbler failed: $(cat "$WORK/scribble.out")"
assert_venicd_alive
[ $(($(stat_of 1 rx_pkts) - rx_before)) -le 20000 ] || die "VF1 got frames that VF0 did not send"
resets=$(stat_of 2 mdd_resets)
[ "$resets" -gt 0 ] || die "the scribbled VF was never reset (malicious driver detection)"
log "   VF2 reset $resets times"

log "2. delete a VF while testpmd transmits on it"
testpmd_start tx 0 "${EAL_COPY[@]}" -- --forward-mode=txonly --eth-peer=0,02:00:00:00:00:02 --tx-ip=10.0.1.10,10.0.1.11
sleep 1
[ "$(stat_of 0 tx_pkts)" -gt 0 ] || die "testpmd sent nothing before the delete"
ctl vf delete 0 >/dev/null || die "delete of a busy VF failed"
for _ in $(seq 30); do grep -q "removed by venicd" "$WORK/tx.log" && break; sleep 0.1; done
grep -q "removed by venicd" "$WORK/tx.log" || die "testpmd's PMD never saw the removal event"
assert_venicd_alive
verified_transfer 3 4 02:00:00:00:00:05 5000
testpmd_stop tx

log "3. kill -9 a client mid-transfer"
testpmd_start tx2 3 "${EAL_COPY[@]}" -- --forward-mode=txonly --eth-peer=0,02:00:00:00:00:05 --tx-ip=10.0.1.12,10.0.1.13
sleep 1
kill -KILL "$TESTPMD_tx2_PID"
wait "$TESTPMD_tx2_PID" 2>/dev/null || true
for _ in $(seq 50); do
  [ "$(ctl vf show 3 --json | json_get "j['attached']")" = False ] && break
  sleep 0.1
done
[ "$(ctl vf show 3 --json | json_get "j['attached']")" = False ] || die "VF3 still attached to a dead process"
verified_transfer 3 4 02:00:00:00:00:05 5000 # the dead client's VF is usable again
verified_transfer 1 4 02:00:00:00:00:05 5000
assert_venicd_alive

log "4. a client truncates the memory it registered for zero-copy (SIGBUS in the daemon)"
resets=$(stat_of 2 mdd_resets)
"$TRAFFIC" --socket "$SOCK" --vf 2 truncate --side tx --dst-mac 02:00:00:00:00:03 --seconds 1 >/dev/null ||
  die "truncate attack (tx) could not run"
assert_venicd_alive
[ "$(stat_of 2 mdd_resets)" -gt "$resets" ] || die "VF2 was not reset after its memory faulted on tx"
ctl vf create --id 5 --type ena --mac 02:00:00:00:00:06 --ip 10.9.9.10 >/dev/null # in VF2's subnet
"$TRAFFIC" --socket "$SOCK" --vf 2 truncate --side rx --seconds 3 >/dev/null &
a=$!
PIDS+=("$a")
sleep 1
"$TRAFFIC" --socket "$SOCK" --vf 5 send --dst-mac 02:00:00:00:00:03 --count 100 --timeout 5 >/dev/null ||
  die "a sender to the faulting VF got stuck"
wait "$a" || die "truncate attack (rx) could not run"
assert_venicd_alive
[ "$(stat_of 2 mdd_resets)" -gt $((resets + 1)) ] || die "VF2 was not reset after its memory faulted on rx"
verified_transfer 1 4 02:00:00:00:00:05 5000
log "PASS"
