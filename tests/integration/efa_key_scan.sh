#!/usr/bin/env bash
# Two tenants (uids 4101 and 4102) each own an EFA instance in one subnet.
# The first registers a memfd secret for remote read and write and tells the
# world its device GID, QP number and the secret's address -- never a key.
# The second, a hostile program on drivers/efa's C API, sends 20 000 RDMA
# reads and writes with guessed qkeys and rkeys (a quarter with guessed QP
# numbers too).  Every probe fails alike (REMOTE_ACCESS: a guess cannot be
# told from a hit), no secret byte reaches the scanner, the secret is never
# written, venicd counts the probes on both VFs and serves everyone after.
source "$(dirname "$0")/lib.sh"
owner=4101 scanner=4102 probes=10000
start_venicd --allow-uid "$owner" --allow-uid "$scanner"
chmod 0666 "$SOCK"  # the tenants' uids reach the socket; venicd checks who they are
fabric_env
cp "$BUILD/tests/integration/efa_probe" "$WORK/"
as() { local uid=$1; shift; setpriv --reuid "$uid" --regid "$uid" --clear-groups "$@"; }

vpc=$(new_vpc 10.0.0.0/16)
subnet=$(new_subnet "$vpc" 10.0.1.0/24)
sg=$(efa_group "$vpc")
run_for() {
  ec2 run-instances --instance-type c5n.18xlarge --subnet-id "$subnet" --security-group-ids "$sg" \
    --network-interface-type efa --owner-uid "$1" | field "j['Instances'][0]['InstanceId']"
}
inst_owner=$(run_for "$owner")
inst_scanner=$(run_for "$scanner")

# The owner serves until its stdin (a fifo we hold) closes.
mkfifo "$WORK/hold"
VENIC_INSTANCE=$inst_owner as "$owner" "$WORK/efa_probe" serve <"$WORK/hold" >"$WORK/serve.log" 2>&1 &
serve_pid=$!
PIDS+=("$serve_pid")
exec 9>"$WORK/hold"
for _ in $(seq 100); do [ -s "$WORK/serve.log" ] && break; sleep 0.1; done
read -r gid qpn addr <"$WORK/serve.log" || die "the owner did not start: $(cat "$WORK/serve.log")"
log "owner's device $gid, QP $qpn, secret at $addr"

# The scanner may not open the owner's device at all.
if VENIC_INSTANCE=$inst_owner as "$scanner" "$WORK/efa_probe" scan "$gid" "$qpn" "$addr" 1 >"$WORK/steal.log" 2>&1; then
  die "uid $scanner opened uid $owner's EFA device"
fi
grep -q "may not open" "$WORK/steal.log" || die "opening another's device: unexpected error: $(cat "$WORK/steal.log")"

start=$(date +%s%N)
VENIC_INSTANCE=$inst_scanner as "$scanner" "$WORK/efa_probe" scan "$gid" "$qpn" "$addr" "$probes" >"$WORK/scan.log" 2>&1 ||
  die "the key scan was not stopped: $(cat "$WORK/scan.log")"
log "$(cat "$WORK/scan.log") in $(( ($(date +%s%N) - start) / 1000000 )) ms"

exec 9>&-
wait "$serve_pid" || die "the owner's secret changed: $(tail -1 "$WORK/serve.log")"
log "$(tail -1 "$WORK/serve.log")"

vf_owner=$(efa_vf "$inst_owner")
vf_scanner=$(efa_vf "$inst_scanner")
sent=$(efa_stat "$vf_scanner" bad_keys)
seen=$(efa_stat "$vf_owner" bad_keys_in)
[ "$sent" -eq $((2 * probes)) ] || die "bad_keys on the scanner's VF: $sent, want $((2 * probes))"
[ "$seen" -ge $((2 * probes * 3 / 4)) ] || die "bad_keys_in on the owner's VF: $seen, want >= $((2 * probes * 3 / 4))"
log "venicd counted $sent probes from VF $vf_scanner, $seen aimed at VF $vf_owner"
assert_venicd_alive
ctl info >/dev/null || die "venicd stopped answering"
log "PASS"
