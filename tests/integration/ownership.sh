#!/usr/bin/env bash
# Ownership (docs/ownership.md), through real venicctl calls from two tenant
# uids that venicd serves (--allow-uid): uid B owns instance A, uid C owns
# another.  B's attacks on C's resources (issue 15) fail with EC2's
# UnauthorizedOperation and change nothing; each tenant's own actions succeed;
# describes show each only its own, with its OwnerId.
source "$(dirname "$0")/lib.sh"
command -v setpriv >/dev/null || die "setpriv (util-linux) is needed"

B=61001 C=61002
start_venicd --allow-uid "$B" --allow-uid "$C"
chmod 0666 "$SOCK" # the peer check (SO_PEERCRED), not the mode, decides who is served

# as UID venicctl-args...: venicctl run as that uid, no supplementary groups.
as() {
  local uid=$1
  shift
  setpriv --reuid "$uid" --regid "$uid" --clear-groups "$VENICCTL" --socket "$SOCK" "$@"
}
# ok UID args...: must succeed; its output.
ok() { as "$@" || die "uid $1: venicctl ${*:2} failed"; }
# refused UID args...: must fail with UnauthorizedOperation (EC2's words for a VF method).
refused() {
  local out
  out=$(as "$@" 2>&1) && die "uid $1 was allowed: venicctl ${*:2}: $out"
  grep -Eq "UnauthorizedOperation|not authorized to perform this operation" <<<"$out" ||
    die "uid $1: venicctl ${*:2}: not UnauthorizedOperation: $out"
}
# vf_attach_as UID VF: the reply to vf.attach sent as a driver sends it (the
# system python: root's may live where the uid cannot reach).
vf_attach_as() {
  setpriv --reuid "$1" --regid "$1" --clear-groups /usr/bin/python3 -c '
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.send(json.dumps({"id": 1, "method": "vf.attach", "params": {"vf": int(sys.argv[2])}}).encode())
print(s.recv(65536).decode())' "$SOCK" "$2"
}
# tenant UID SECOND-OCTET: the tenant's VPC, subnet, group and instance; prints
# "subnet group instance primary-eni primary-vf".
tenant() {
  local vpc subnet group
  vpc=$(ok "$1" create-vpc --cidr-block "10.$2.0.0/16" | field "j['Vpc']['VpcId']")
  subnet=$(ok "$1" create-subnet --vpc-id "$vpc" --cidr-block "10.$2.1.0/24" --availability-zone us-east-1a |
    field "j['Subnet']['SubnetId']")
  group=$(ok "$1" create-security-group --group-name web --description web --vpc-id "$vpc" | field "j['GroupId']")
  ok "$1" run-instances --instance-type m5.large --subnet-id "$subnet" --security-group-ids "$group" >"$WORK/run.$1.json"
  echo "$subnet $group $(field "' '.join(str(x) for x in (j['Instances'][0]['InstanceId'], j['Instances'][0]['NetworkInterfaces'][0]['NetworkInterfaceId'], j['Instances'][0]['NetworkInterfaces'][0]['VenicVfId']))" <"$WORK/run.$1.json")"
}

read -r b_subnet b_group inst_a b_primary b_vf < <(tenant "$B" 1)
read -r c_subnet c_group inst_c c_primary c_vf < <(tenant "$C" 2)
[ -n "$c_vf" ] && [ -n "$b_vf" ] || die "setting up the tenants failed"
read -r c_eni c_eni_vf < <(ok "$C" create-network-interface --subnet-id "$c_subnet" |
  field "j['NetworkInterface']['NetworkInterfaceId'], j['NetworkInterface']['VenicVfId']" | tr -d "(),'")
c_att=$(ok "$C" attach-network-interface --network-interface-id "$c_eni" --instance-id "$inst_c" --device-index 1 |
  field "j['AttachmentId']")
c_plain=$(ok "$C" vf create --type ena --mac 02:00:00:00:61:02 --ip 192.168.61.2 --json | json_get "j['id']")
log "B ($B) owns $inst_a; C ($C) owns $inst_c, $c_eni (VF $c_eni_vf, $c_att) and plain VF $c_plain"

# The attack: B detaches C's ENI, attaches it to A, takes its VF.
refused "$B" detach-network-interface --attachment-id "$c_att"
ok "$C" detach-network-interface --attachment-id "$c_att" >/dev/null
refused "$B" attach-network-interface --network-interface-id "$c_eni" --instance-id "$inst_a" --device-index 1
for vf in "$c_eni_vf" "$c_vf" "$c_plain"; do
  reply=$(vf_attach_as "$B" "$vf")
  grep -q '"UnauthorizedOperation"' <<<"$reply" || die "B's vf.attach of C's VF $vf: $reply"
done
# ...opens C's group, turns off C's source/destination check, stops C's
# instance, launches as root, changes and deletes C's plain VF.
refused "$B" authorize-security-group-ingress --group-id "$c_group" --protocol all --cidr 0.0.0.0/0
refused "$B" modify-network-interface-attribute --network-interface-id "$c_primary" --no-source-dest-check
refused "$B" stop-instances --instance-ids "$inst_c"
refused "$B" run-instances --instance-type m5.large --subnet-id "$b_subnet" --owner-uid 0
refused "$B" vf set "$c_plain" --src-dst-check off
refused "$B" vf delete "$c_plain"
refused "$B" vf create --type ena --mac 02:00:00:00:61:01 --ip 192.168.61.1 --owner-uid 0
# Root gives a VF to C: C attaches it, B does not.
given=$(ctl vf create --type ena --mac 02:00:00:00:61:03 --ip 192.168.61.3 --owner-uid "$C" --json | json_get "j['id']")
grep -q '"UnauthorizedOperation"' <<<"$(vf_attach_as "$B" "$given")" || die "B attached the VF root gave C"
grep -q '"result"' <<<"$(vf_attach_as "$C" "$given")" || die "C could not attach the VF root gave it"
# Building on C's subnet is refused as EC2 refuses another account's: not found.
out=$(as "$B" create-network-interface --subnet-id "$c_subnet" 2>&1) && die "B created an ENI in C's subnet"
grep -q InvalidSubnetID.NotFound <<<"$out" || die "B in C's subnet: $out"

# Nothing of C's changed (root sees it all).
ctl describe-security-groups --group-ids "$c_group" | field "j['SecurityGroups'][0]['IpPermissions']" |
  grep -q "0.0.0.0/0" && die "C's group was opened"
[ "$(ctl describe-network-interfaces --network-interface-ids "$c_primary" |
  field "j['NetworkInterfaces'][0]['SourceDestCheck']")" = True ] || die "C's source/destination check was turned off"
[ "$(ctl describe-instances --instance-ids "$inst_c" | field "j['Reservations'][0]['Instances'][0]['State']['Name']")" = running ] ||
  die "C's instance was stopped"
[ "$(ctl describe-instances | field "len(j['Reservations'])")" = 2 ] || die "B launched an instance"
[ "$(ctl vf show "$c_plain" --json | json_get "j['src_dst_check']")" = True ] || die "C's plain VF was changed"
[ "$(ctl describe-network-interfaces --network-interface-ids "$c_eni" | field "j['NetworkInterfaces'][0]['Status']")" = available ] ||
  die "C's ENI was attached somewhere"

# Each sees its own, with its OwnerId.
[ "$(ok "$B" describe-instances | field "[(r['OwnerId'], [i['InstanceId'] for i in r['Instances']]) for r in j['Reservations']]")" = \
  "[('000000061001', ['$inst_a'])]" ] || die "B's describe-instances: $(as "$B" describe-instances)"
[ "$(ok "$C" describe-network-interfaces | field "sorted(set(e['OwnerId'] for e in j['NetworkInterfaces']))")" = "['000000061002']" ] ||
  die "C's describe-network-interfaces shows others'"
[ "$(ok "$B" vf list --json | json_get "sorted(v['id'] for v in j['vfs'])")" = "[$b_vf]" ] ||
  die "B's vf list: $(as "$B" vf list --json)"

# Their own actions succeed.
ok "$C" authorize-security-group-ingress --group-id "$c_group" --protocol tcp --port 22 --cidr 10.2.0.0/16 >/dev/null
ok "$C" modify-network-interface-attribute --network-interface-id "$c_primary" --no-source-dest-check >/dev/null
ok "$C" vf set "$c_plain" --mtu 9001 >/dev/null
ok "$B" attach-network-interface --network-interface-id "$(ok "$B" create-network-interface --subnet-id "$b_subnet" |
  field "j['NetworkInterface']['NetworkInterfaceId']")" --instance-id "$inst_a" --device-index 1 >/dev/null
grep -q '"result"' <<<"$(vf_attach_as "$B" "$b_vf")" || die "B could not attach its own instance's VF"
ok "$C" stop-instances --instance-ids "$inst_c" >/dev/null
ok "$C" vf delete "$c_plain" >/dev/null

# Owners survive a restart.
stop_venicd
start_venicd --allow-uid "$B" --allow-uid "$C"
chmod 0666 "$SOCK"
refused "$B" stop-instances --instance-ids "$inst_c"
ok "$C" start-instances --instance-ids "$inst_c" >/dev/null
assert_venicd_alive
log "PASS"
