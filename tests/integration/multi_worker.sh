#!/usr/bin/env bash
# Two poll-mode workers, VFs sharded over them, two senders on different
# workers into one receiver: every frame arrives intact or is counted as a
# no-buffer drop, none is corrupted by the concurrent deliveries.
source "$(dirname "$0")/lib.sh"
WORKERS=2 start_venicd
grep -q "with 2 worker" "$WORK/venicd.log" || die "venicd did not start 2 workers"
for i in 1 2 3; do ctl vf create --type ena --mac "02:00:00:00:00:0$i" --ip "10.0.1.1$i" >/dev/null; done
"$TRAFFIC" --socket "$SOCK" --vf 2 recv --count 40000 --timeout 20 --idle 1 >"$WORK/recv.out" &
r=$!
PIDS+=("$r")
for _ in $(seq 50); do [ "$(ctl vf show 2 --json | json_get "j['started']")" = True ] && break; sleep 0.1; done
"$TRAFFIC" --socket "$SOCK" --vf 0 send --dst-mac 02:00:00:00:00:03 --count 20000 --pps 100000 >/dev/null &
s0=$!
"$TRAFFIC" --socket "$SOCK" --vf 1 send --dst-mac 02:00:00:00:00:03 --count 20000 --pps 100000 >/dev/null &
s1=$!
wait "$s0" || die "sender on VF0 failed"
wait "$s1" || die "sender on VF1 failed"
wait "$r" || true
got=$(json_get "j['received']" <"$WORK/recv.out")
bad=$(json_get "j['bad']" <"$WORK/recv.out")
nobuf=$(stat_of 2 drops.rx_no_buffer)
log "received $got intact, $bad bad, $nobuf no-buffer drops"
[ "$bad" -eq 0 ] || die "$bad corrupt frames"
[ $((got + nobuf)) -eq 40000 ] || die "$got + $nobuf != 40000"
[ "$got" -ge 36000 ] || die "only $got of 40000 arrived"
assert_venicd_alive
log "PASS"
