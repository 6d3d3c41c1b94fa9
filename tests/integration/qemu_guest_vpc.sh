#!/usr/bin/env bash
# Two QEMU guests (real Linux kernels) as two EC2 instances whose ENIs are
# served over vhost-user, in two subnets of one VPC.  Guest A (10.0.1.10,
# default group) reaches guest B (10.0.2.20, a group allowing ICMP and TCP
# 5001 from the VPC) only through its default gateway 10.0.1.1: the kernels
# ARP for their gateways, venicd answers with the router's MAC and routes.
# A pings B; A's TCP connection to B's echo server on port 5001 carries data
# both ways (B's replies pass A's group because A's conntrack knows them); a
# connection to B's port 5002 never opens (B's group drops the SYNs).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/guest/guest_lib.sh"
guest_image_ready

start_venicd
vpc=$(new_vpc 10.0.0.0/16)
s1=$(new_subnet "$vpc" 10.0.1.0/24)
s2=$(new_subnet "$vpc" 10.0.2.0/24)
web=$(ec2 create-security-group --group-name web --description "ping, TCP 5001" --vpc-id "$vpc" | field "j['GroupId']")
ec2 authorize-security-group-ingress --group-id "$web" --protocol tcp --port 5001 --cidr 10.0.0.0/16 >/dev/null
ec2 authorize-security-group-ingress --group-id "$web" --protocol icmp --cidr 10.0.0.0/16 >/dev/null
run() { # SUBNET IP [flags]: prints "VF MAC"
  local subnet=$1 ip=$2
  shift 2
  ec2 run-instances --instance-type m5.large --subnet-id "$subnet" --private-ip-address "$ip" \
    --venic-frontend vhost-user "$@" |
    field "(lambda n: f\"{n['VenicVfId']} {n['MacAddress']}\")(j['Instances'][0]['NetworkInterfaces'][0])"
}
read -r vf_a mac_a < <(run "$s1" 10.0.1.10)
read -r vf_b mac_b < <(run "$s2" 10.0.2.20 --security-group-ids "$web")
[ -S "$WORK/vf$vf_a.vhost" ] && [ -S "$WORK/vf$vf_b.vhost" ] || die "venicd does not serve the ENIs on vhost-user"
log "A: VF $vf_a $mac_a 10.0.1.10; B: VF $vf_b $mac_b 10.0.2.20 ($web)"

mkdir -p "$WORK/a" "$WORK/b"
cat >"$WORK/b/venic-test.sh" <<EOF
$NO_IPV6
ip addr add 10.0.2.20/24 dev eth0
ip link set eth0 up
ip route add default via 10.0.2.1
nc -ll -p 5001 -e /bin/cat &
nc -ll -p 5002 -e /bin/cat &
echo VENIC-B-UP
sleep 120
EOF
cat >"$WORK/a/venic-test.sh" <<EOF
$NO_IPV6
ip addr add 10.0.1.10/24 dev eth0
ip link set eth0 up
ip route add default via 10.0.1.1
now() { cut -d. -f1 /proc/uptime; }
end=\$((\$(now) + 45))
until ping -c 1 -W 1 10.0.2.20 >/dev/null 2>&1; do
  [ "\$(now)" -lt "\$end" ] || { echo VENIC-B-SILENT; break; }
  sleep 0.5
done
if ping -c 3 -w 20 10.0.2.20; then echo VENIC-PING-OK; else echo VENIC-PING-FAIL; fi
echo "VENIC-NEIGH \$(ip neigh show 10.0.1.1)"
echo VENIC-TCP-HELLO | timeout 8 nc 10.0.2.20 5001 >/tmp/r1
if grep -q VENIC-TCP-HELLO /tmp/r1; then echo VENIC-TCP5001-OK; else echo VENIC-TCP5001-FAIL; fi
echo VENIC-TCP-OTHER | timeout 8 nc -w 3 10.0.2.20 5002 >/tmp/r2
if [ -s /tmp/r2 ]; then echo VENIC-TCP5002-OPEN; else echo VENIC-TCP5002-BLOCKED; fi
EOF
for g in a b; do pack_guest $g; done

T0=$SECONDS
boot_guest b "$vf_b" "$mac_b"
boot_guest a "$vf_a" "$mac_a"
while ! grep -q "VENIC-GUEST-DONE" "$WORK/guest-a.log" 2>/dev/null; do
  [ $((SECONDS - T0)) -lt 120 ] || die "guest A did not finish within 120 s"
  kill -0 "$QEMU_a_PID" 2>/dev/null || die "QEMU A exited without VENIC-GUEST-DONE"
  sleep 0.5
done
log "guest A done after $((SECONDS - T0)) s: $(grep -o 'VENIC-[A-Z0-9-]*' "$WORK/guest-a.log" | tr '\n' ' ')"
grep -q "VENIC-B-UP" "$WORK/guest-b.log" || die "guest B did not configure its NIC"
for m in PING-OK TCP5001-OK TCP5002-BLOCKED; do
  grep -q "VENIC-$m" "$WORK/guest-a.log" ||
    die "guest A: want VENIC-$m, got: $(grep -o 'VENIC-[A-Z0-9-]*' "$WORK/guest-a.log" | tr '\n' ' ')"
done
grep "VENIC-NEIGH" "$WORK/guest-a.log" | grep -qi "02:76:70:63:00:01" ||
  die "guest A's gateway is not the router's MAC: $(grep VENIC-NEIGH "$WORK/guest-a.log")"
sg_b=$(stat_of "$vf_b" drops.sg_ingress)
[ "$sg_b" -gt 0 ] || die "B counted no sg_ingress drops for the SYNs to port 5002"
[ "$(stat_of "$vf_a" drops.sg_ingress)" -eq 0 ] || die "replies to A were dropped by A's group"
log "B dropped $sg_b segments to port 5002; A tracks $(ctl vf show "$vf_a" --json | json_get "j['conntrack']['tracked']") flows"
for g in a b; do
  pid_var="QEMU_${g}_PID"
  kill -TERM "${!pid_var}" 2>/dev/null || true
  wait "${!pid_var}" 2>/dev/null || true
done
assert_venicd_alive
log "PASS ($((SECONDS - T0)) s with the guests)"
