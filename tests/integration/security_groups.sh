#!/usr/bin/env bash
# Stateful security groups over real drivers.  Instance B (server) is in a
# group that allows TCP 5001 from the VPC and nothing else; instance A
# (client) is in a group with no inbound rule at all, and may track 16 flows.
# dpdk-testpmd (net_vena, 5tswap) on B answers every segment it gets, with
# addresses and ports swapped, as a server would.
# - A's TCP to B:5001 comes back: B's rule lets it in, and the replies pass
#   A's empty inbound rules because A's conntrack knows the flow.
# - TCP to B:5002 and UDP to B:5001 are dropped at B and counted (sg_ingress).
# - A's 17th and later flows are refused as conntrack_allowance_exceeded.
# - From B (testpmd stopped, venic-traffic sending), a segment on a flow A
#   opened reaches A; one to a port A never used is dropped at A.
# - What EC2 does not exempt: TCP/UDP between link-local IPv6 addresses
#   (fe80::1 -> fe80::2, ports 22 and 161) and TCP from 169.254.169.254 (B
#   with its source/destination check off) are A's groups' to judge, and
#   dropped; a frame that is neither IPv4, IPv6 nor ARP never leaves B
#   (counted as ethertype).
source "$(dirname "$0")/lib.sh"
start_venicd

vpc=$(new_vpc 10.0.0.0/16)
subnet=$(new_subnet "$vpc" 10.0.1.0/24)
web=$(ec2 create-security-group --group-name web --description "TCP 5001 only" --vpc-id "$vpc" | field "j['GroupId']")
ec2 authorize-security-group-ingress --group-id "$web" --protocol tcp --port 5001 --cidr 10.0.0.0/16 >/dev/null
client=$(ec2 create-security-group --group-name client --description "nothing in" --vpc-id "$vpc" | field "j['GroupId']")
run() { # IP GROUP [more run-instances flags]: prints "VF MAC ENI"
  local ip=$1 group=$2
  shift 2
  ec2 run-instances --instance-type m5.large --subnet-id "$subnet" --private-ip-address "$ip" \
    --security-group-ids "$group" "$@" |
    field "(lambda n: f\"{n['VenicVfId']} {n['MacAddress']} {n['NetworkInterfaceId']}\")(j['Instances'][0]['NetworkInterfaces'][0])"
}
read -r vf_b mac_b eni_b < <(run 10.0.1.11 "$web")
read -r vf_a mac_a _ < <(run 10.0.1.10 "$client" --conntrack-limit 16)
log "A: VF $vf_a $mac_a 10.0.1.10 ($client); B: VF $vf_b $mac_b 10.0.1.11 ($web)"
[ "$(ctl vf show "$vf_a" --json | json_get "j['conntrack']['max']")" -eq 16 ] || die "A's conntrack limit is not 16"

testpmd_start server "$vf_b" "${EAL_COPY[@]}" -- --forward-mode=5tswap
# echo_from_a LABEL COUNT [venic-traffic echo flags]: the replies A got
echo_from_a() {
  local label=$1 count=$2
  shift 2
  "$TRAFFIC" --socket "$SOCK" --vf "$vf_a" echo --dst-mac "$mac_b" --count "$count" --size 128 \
    --src-ip 10.0.1.10 --dst-ip 10.0.1.11 "$@" >"$WORK/echo.out" || true
  log "$label: $(cat "$WORK/echo.out")" >&2
  json_get "j['received']" <"$WORK/echo.out"
}

got=$(echo_from_a "TCP to 5001, 4 flows" 400 --flows 4 --proto tcp --dst-port 5001 --timeout 10)
[ "$got" -eq 400 ] || die "TCP to the allowed port: $got of 400 replies came back"
[ "$(stat_of "$vf_a" drops.sg_ingress)" -eq 0 ] || die "replies were dropped at A: $(stat_of "$vf_a" drops.sg_ingress)"
[ "$(ctl vf show "$vf_a" --json | json_get "j['conntrack']['tracked']")" -eq 4 ] ||
  die "A tracks $(ctl vf show "$vf_a" --json | json_get "j['conntrack']['tracked']") flows, not 4"

got=$(echo_from_a "TCP to 5002" 50 --flows 1 --proto tcp --dst-port 5002 --timeout 2)
[ "$got" -eq 0 ] || die "TCP to port 5002 got $got replies"
[ "$(stat_of "$vf_b" drops.sg_ingress)" -eq 50 ] || die "B counted $(stat_of "$vf_b" drops.sg_ingress) sg_ingress drops, not 50"
got=$(echo_from_a "UDP to 5001" 50 --flows 1 --proto udp --dst-port 5001 --timeout 2)
[ "$got" -eq 0 ] || die "UDP to port 5001 got $got replies"
[ "$(stat_of "$vf_b" drops.sg_ingress)" -eq 100 ] || die "B counted $(stat_of "$vf_b" drops.sg_ingress) sg_ingress drops, not 100"

# A tracks 4 TCP flows and 2 refused ones (5002, UDP: they went out, so they
# are tracked too): 10 of 32 new flows fit in 16, the other 22 are refused.
tracked=$(ctl vf show "$vf_a" --json | json_get "j['conntrack']['tracked']")
[ "$tracked" -eq 6 ] || die "A tracks $tracked flows, not 6"
got=$(echo_from_a "32 new flows" 32 --flows 32 --proto tcp --dst-port 5001 --src-port 20000 --timeout 3)
[ "$got" -eq 10 ] || die "with 6 of 16 flows tracked, $got of 32 new flows passed (want 10)"
exceeded=$(stat_of "$vf_a" allowance_exceeded.conntrack_allowance_exceeded)
[ "$exceeded" -eq 22 ] || die "A counted $exceeded conntrack_allowance_exceeded, not 22"
ctl stats "$vf_a" | grep -q "conntrack_allowance_exceeded" || die "venicctl stats does not show the counter"
testpmd_stop server

# From B: on the flow 10.0.1.10:10000 <-> 10.0.1.11:5001 that A opened, and
# to a port A never used.
send_b_to_a() { # LABEL SEND-FLAGS...: frames A received of 20 that B sent with these flags
  local label=$1
  shift
  "$TRAFFIC" --socket "$SOCK" --vf "$vf_a" recv --count 20 --timeout 3 --idle 1 >"$WORK/recv.out" &
  local r=$!
  PIDS+=("$r")
  for _ in $(seq 50); do [ "$(ctl vf show "$vf_a" --json | json_get "j['started']")" = True ] && break; sleep 0.1; done
  "$TRAFFIC" --socket "$SOCK" --vf "$vf_b" send --dst-mac "$mac_a" --count 20 --size 128 "$@" >/dev/null ||
    die "$label: send from B failed"
  wait "$r" || true
  log "$label: $(cat "$WORK/recv.out")" >&2
  json_get "j['received']" <"$WORK/recv.out"
}
from_b() { # LABEL SRC-PORT DST-PORT: frames A received of 20
  send_b_to_a "$1" --flows 1 --proto tcp --src-ip 10.0.1.11 --dst-ip 10.0.1.10 --src-port "$2" --dst-port "$3"
}
before=$(stat_of "$vf_a" drops.sg_ingress)
got=$(from_b "B to A on A's flow" 5001 10000)
[ "$got" -eq 20 ] || die "B's segments on A's own flow: $got of 20 reached A"
got=$(from_b "B to A port 30000" 5001 30000)
[ "$got" -eq 0 ] || die "B reached A's port 30000 ($got frames) though A allows nothing in"
[ "$(($(stat_of "$vf_a" drops.sg_ingress) - before))" -eq 20 ] || die "A did not count 20 sg_ingress drops"

# Link-local IPv6 between instances: judged by A's groups (which admit
# nothing).  B's group lets all IPv6 out, so that A's is what drops it.
ec2 authorize-security-group-egress --group-id "$web" \
  --ip-permissions '[{"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}]' >/dev/null
for row in "tcp 22" "udp 161"; do
  set -- $row
  before=$(stat_of "$vf_a" drops.sg_ingress)
  got=$(send_b_to_a "$1 fe80::1 -> fe80::2:$2" --flows 1 --proto "$1" --src-ip6 fe80::1 --dst-ip6 fe80::2 --dst-port "$2")
  [ "$got" -eq 0 ] || die "$1 from fe80::1 to fe80::2 port $2 reached A ($got frames) though A allows nothing in"
  [ "$(($(stat_of "$vf_a" drops.sg_ingress) - before))" -eq 20 ] || die "A did not count the link-local $1 as sg_ingress"
done

# Neither IPv4, IPv6 nor ARP: never leaves B.
got=$(send_b_to_a "ethertype 0x88b5" --flows 0)
[ "$got" -eq 0 ] || die "$got frames of ethertype 0x88b5 reached A"
[ "$(stat_of "$vf_b" drops.ethertype)" -eq 20 ] || die "B counted $(stat_of "$vf_b" drops.ethertype) ethertype drops, not 20"

# B with its source/destination check off, sending as the metadata service.
ec2 modify-network-interface-attribute --network-interface-id "$eni_b" --no-source-dest-check >/dev/null
before=$(stat_of "$vf_a" drops.sg_ingress)
got=$(send_b_to_a "TCP from 169.254.169.254" --flows 1 --proto tcp --src-ip 169.254.169.254 --dst-ip 10.0.1.10 \
  --src-port 80 --dst-port 22)
[ "$got" -eq 0 ] || die "TCP from 169.254.169.254 reached A ($got frames) though A allows nothing in"
[ "$(($(stat_of "$vf_a" drops.sg_ingress) - before))" -eq 20 ] || die "A did not count the 169.254 TCP as sg_ingress"
assert_venicd_alive
log "PASS"
