#!/usr/bin/env bash
# A process killed mid-run takes only itself down.  Instances A and B: a
# long fi_pingpong pair (server on A, client on B) runs while a second pair
# does too; the second pair's client (on B, sharing B's EFA device with the
# first client) is killed with SIGKILL mid-transfer.  The daemon reclaims the
# dead process's context (venicctl efa list), the first pair finishes with
# every byte checked, and a new pair runs on the same devices.
source "$(dirname "$0")/lib.sh"
start_venicd
fabric_env

vpc=$(new_vpc 10.0.0.0/16)
subnet=$(new_subnet "$vpc" 10.0.1.0/24)
sg=$(efa_group "$vpc")
IFS=, read -r inst_a inst_b < <(efa_instances "$subnet" "$sg" 2)

start_pair() { # NAME PORT ITERS SIZE: starts server (A) and client (B); sets server_pid, client_pid
  VENIC_INSTANCE=$inst_a fi_pingpong -p vefa -e rdm -c -B "$2" -I "$3" -S "$4" >"$WORK/$1.server.log" 2>&1 &
  server_pid=$!
  PIDS+=("$server_pid")
  sleep 0.3
  VENIC_INSTANCE=$inst_b fi_pingpong -p vefa -e rdm -c -P "$2" -I "$3" -S "$4" localhost >"$WORK/$1.client.log" 2>&1 &
  client_pid=$!
  PIDS+=("$client_pid")
}

# The steady pair runs for seconds (a quick machine once finished 30000
# round trips before the count below was taken).
start_pair steady "$(free_port)" 60000 4096
steady_server=$server_pid steady_client=$client_pid
start_pair victim "$(free_port)" 1000000 65536
victim_server=$server_pid victim_client=$client_pid
# Until both pairs have their contexts open (both processes of each pair).
contexts_before=0
for _ in $(seq 100); do
  contexts_before=$(ctl efa list --json | json_get "len(j['contexts'])")
  [ "$contexts_before" -eq 4 ] && break
  sleep 0.1
done
kill -0 "$victim_client" 2>/dev/null || die "the victim finished before it could be killed"
kill -0 "$steady_client" 2>/dev/null || die "the steady pair finished before the victim was killed"
[ "$contexts_before" -eq 4 ] || die "expected 4 open contexts, saw $contexts_before"
sleep 0.5  # the victim mid-transfer
kill -KILL "$victim_client"
log "killed pid $victim_client mid-transfer"
for _ in $(seq 50); do
  ctl efa list --json | json_get "any(c['pid'] == $victim_client for c in j['contexts'])" | grep -q False && break
  sleep 0.1
done
ctl efa list --json | json_get "any(c['pid'] == $victim_client for c in j['contexts'])" | grep -q False ||
  die "the dead process's context was not reclaimed"

timeout 120 tail --pid="$steady_client" -f /dev/null
wait "$steady_client" || die "the other pair's client failed: $(tail -3 "$WORK/steady.client.log")"
wait "$steady_server" || die "the other pair's server failed: $(tail -3 "$WORK/steady.server.log")"
log "the other pair: $(tail -1 "$WORK/steady.client.log")"
kill "$victim_server" 2>/dev/null || true
assert_venicd_alive

start_pair after "$(free_port)" 500 8192
wait "$client_pid" || die "a new pair failed after the kill: $(tail -3 "$WORK/after.client.log")"
wait "$server_pid" || die "a new pair's server failed"
log "PASS"
