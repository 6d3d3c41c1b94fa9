#!/usr/bin/env bash
# The EC2 model over real drivers: a VPC, a subnet, two m5.large instances and
# a secondary ENI.  The ENI is attached to instance A, where dpdk-testpmd
# (net_vena) transmits on it; detached, testpmd gets the removal event and
# nothing it sends afterwards leaves the VF; attached to instance B, the ENI
# keeps its MAC and addresses and traffic to them reaches B's driver.  A
# restart of venicd restores the whole model, and the VFs come back with the
# same MACs and addresses.  Terminating the instances and deleting the rest
# leaves no VF behind.
source "$(dirname "$0")/lib.sh"
start_venicd

vpc=$(new_vpc 10.0.0.0/16)
subnet=$(new_subnet "$vpc" 10.0.1.0/24)
ec2 run-instances --instance-type m5.large --subnet-id "$subnet" --count 2 >"$WORK/run.json"
read -r inst_a inst_b < <(field "' '.join(i['InstanceId'] for i in j['Instances'])" <"$WORK/run.json")
read -r vf_a ip_a mac_a < <(field "' '.join(str(x) for x in (lambda n: (n['VenicVfId'], n['PrivateIpAddress'], n['MacAddress']))(j['Instances'][0]['NetworkInterfaces'][0]))" <"$WORK/run.json")
read -r vf_b ip_b mac_b < <(field "' '.join(str(x) for x in (lambda n: (n['VenicVfId'], n['PrivateIpAddress'], n['MacAddress']))(j['Instances'][1]['NetworkInterfaces'][0]))" <"$WORK/run.json")
ec2 create-network-interface --subnet-id "$subnet" --description "moves between instances" >"$WORK/eni.json"
read -r eni vf_x ip_x mac_x < <(field "' '.join(str(x) for x in (lambda n: (n['NetworkInterfaceId'], n['VenicVfId'], n['PrivateIpAddress'], n['MacAddress']))(j['NetworkInterface']))" <"$WORK/eni.json")
log "instances $inst_a (VF $vf_a $ip_a) and $inst_b (VF $vf_b $ip_b); $eni is VF $vf_x, $ip_x $mac_x"
[ "$(ctl vf show "$vf_x" --json | json_get "j['link']")" = down ] || die "a detached ENI's VF has its link up"
[ "$(ctl vf show "$vf_a" --json | json_get "j['bw_in_mbps']")" -eq 750 ] ||
  die "instance A's VF does not have m5.large's 750 Mbit/s"

attach_a=$(ec2 attach-network-interface --network-interface-id "$eni" --instance-id "$inst_a" --device-index 1 |
  field "j['AttachmentId']")
[ "$(ctl vf show "$vf_x" --json | json_get "j['link']")" = up ] || die "the attached ENI's VF is not up"
out=$(ctl detach-network-interface --attachment-id "$(field "j['Instances'][0]['NetworkInterfaces'][0]['Attachment']['AttachmentId']" <"$WORK/run.json")" 2>&1) &&
  die "the primary ENI was detached"
grep -q OperationNotPermitted <<<"$out" || die "detaching the primary ENI: $out"

# Instance A's process transmits on the ENI, to B's primary address.
testpmd_start old "$vf_x" "${EAL_COPY[@]}" -- --forward-mode=txonly --eth-peer="0,$mac_b" --tx-ip="$ip_x,$ip_b"
sleep 1
[ "$(stat_of "$vf_x" tx_pkts)" -gt 0 ] || die "the ENI sent nothing while attached to A"

ec2 detach-network-interface --attachment-id "$attach_a" >/dev/null
for _ in $(seq 30); do grep -q "removed by venicd" "$WORK/old.log" && break; sleep 0.1; done
grep -q "removed by venicd" "$WORK/old.log" || die "A's testpmd never saw the removal event"
[ "$(ctl vf show "$vf_x" --json | json_get "j['attached']")" = False ] || die "the detached ENI's VF is still attached"
sent_by_a=$(stat_of "$vf_x" tx_pkts)

# On instance B, the same ENI: same MAC and address, and B's driver gets its traffic.
ec2 attach-network-interface --network-interface-id "$eni" --instance-id "$inst_b" --device-index 1 >/dev/null
ec2 describe-network-interfaces --network-interface-ids "$eni" >"$WORK/moved.json"
[ "$(field "j['NetworkInterfaces'][0]['Attachment']['InstanceId']" <"$WORK/moved.json")" = "$inst_b" ] ||
  die "the ENI is not attached to B"
[ "$(field "j['NetworkInterfaces'][0]['MacAddress']" <"$WORK/moved.json")" = "$mac_x" ] &&
  [ "$(field "j['NetworkInterfaces'][0]['PrivateIpAddress']" <"$WORK/moved.json")" = "$ip_x" ] ||
  die "the ENI's MAC or address changed with the move"
receive_on_x() { # LABEL: 800 frames from A's primary to the ENI's address reach VF x's new driver
  "$TRAFFIC" --socket "$SOCK" --vf "$vf_x" recv --count 800 --timeout 10 >"$WORK/recv.out" &
  local r=$!
  PIDS+=("$r")
  for _ in $(seq 50); do [ "$(ctl vf show "$vf_x" --json | json_get "j['started']")" = True ] && break; sleep 0.1; done
  "$TRAFFIC" --socket "$SOCK" --vf "$vf_a" send --dst-mac "$mac_x" --count 800 --size 256 --udp-flows 1 \
    --src-ip "$ip_a" --dst-ip "$ip_x" >/dev/null || die "$1: send from A failed"
  wait "$r" || die "$1: B's driver did not get the ENI's traffic: $(cat "$WORK/recv.out")"
  log "$1: $(cat "$WORK/recv.out")"
}
receive_on_x "after the move"
# A's testpmd still runs and still writes its (old) rings: none of it leaves.
kill -0 "$TESTPMD_old_PID" || die "A's testpmd died"
[ "$(stat_of "$vf_x" tx_pkts)" -eq "$sent_by_a" ] ||
  die "frames left the ENI after it was detached from A ($sent_by_a before, $(stat_of "$vf_x" tx_pkts) now)"
testpmd_stop old

# A restart restores the whole model; the VFs keep their MACs and addresses.
for what in vpcs subnets instances network-interfaces security-groups; do
  ec2 "describe-$what" >"$WORK/before-$what.json"
done
ctl vf list --json >"$WORK/vfs-before.json"
stop_venicd
start_venicd
for what in vpcs subnets instances network-interfaces security-groups; do
  ec2 "describe-$what" >"$WORK/after-$what.json"
  cmp -s "$WORK/before-$what.json" "$WORK/after-$what.json" || die "describe-$what differs after the restart"
done
python3 - "$WORK/vfs-before.json" <(ctl vf list --json) <<'PY' || die "the VFs came back different"
import json, sys
key = lambda f: sorted((v["id"], v["mac"], v["ip"], tuple(v["secondary_ips"]), v["eni_id"]) for v in json.load(open(f))["vfs"])
sys.exit(0 if key(sys.argv[1]) == key(sys.argv[2]) else 1)
PY
receive_on_x "after the restart"

# Terminating B deletes its primary ENI and that VF; the moved ENI
# (DeleteOnTermination false) is detached and stays, its VF down.  Then the
# whole network goes, and no VF is left.
on_b=$(ec2 describe-network-interfaces --filters "Name=attachment.instance-id,Values=$inst_b" |
  field "' '.join(sorted(n['NetworkInterfaceId'] for n in j['NetworkInterfaces']))")
[ "$(wc -w <<<"$on_b")" -eq 2 ] && grep -q "$eni" <<<"$on_b" || die "--filters attachment.instance-id: $on_b"
ec2 terminate-instances --instance-ids "$inst_b" >"$WORK/term.json"
[ "$(field "j['TerminatingInstances'][0]['CurrentState']['Name']" <"$WORK/term.json")" = terminated ] ||
  die "terminate-instances: $(cat "$WORK/term.json")"
out=$(ctl vf show "$vf_b" 2>&1) && die "B's primary VF $vf_b outlived its instance: $out"
[ "$(ctl vf show "$vf_x" --json | json_get "j['link']")" = down ] || die "the ENI left by B still has its link up"
[ "$(ec2 describe-instances --instance-ids "$inst_b" | field "j['Reservations'][0]['Instances'][0]['State']['Name']")" = terminated ] ||
  die "B is not listed as terminated"
out=$(ctl delete-subnet --subnet-id "$subnet" 2>&1) && die "a subnet with ENIs was deleted"
grep -q DependencyViolation <<<"$out" || die "delete-subnet with ENIs: $out"
ec2 terminate-instances --instance-ids "$inst_a" >/dev/null
ec2 delete-network-interface --network-interface-id "$eni" >/dev/null
ec2 delete-subnet --subnet-id "$subnet" >/dev/null
ec2 delete-vpc --vpc-id "$vpc" >/dev/null
[ "$(ctl vf list --json | json_get "len(j['vfs'])")" -eq 0 ] || die "VFs left after the network was deleted: $(ctl vf list)"
[ "$(ec2 describe-vpcs | field "len(j['Vpcs'])")" -eq 0 ] || die "the VPC is still listed"
assert_venicd_alive
log "PASS"
