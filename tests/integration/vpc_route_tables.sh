#!/usr/bin/env bash
# Route tables and VPC peering over real drivers, set up with Debian's aws
# CLI against venicd --ec2-api.  VPC A (10.0.0.0/16): a public subnet with a
# NAT instance (10.0.0.10, dpdk-testpmd rxonly on its VF) and a private one
# with instance P (10.0.1.10, venic-traffic) whose route table sends
# 0.0.0.0/0 to the NAT instance.
# (a) P's UDP to an outside address (198.51.100.7) goes to the NAT instance:
#     its source/destination check drops it (dst_check on its VF); with the
#     check off, its testpmd receives every frame.
# (c) A route to an ENI that was deleted is a blackhole: State blackhole,
#     and P's frames to it are counted as blackhole drops.
# (b) VPC B (10.1.0.0/16) peered with A, routes both ways: P and B's
#     instance exchange frames.  VPC C (10.2.0.0/16) is peered with B, and A
#     routes 10.2.0.0/16 through the A-B peering: nothing reaches C (no
#     transitive routing; counted no_route at P).
source "$(dirname "$0")/lib.sh"

AWS=/usr/bin/aws # Debian's aws CLI, not a pyenv shim
[ -x "$AWS" ] || die "Debian's awscli is not installed (ci/install-deps)"
PORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
KEYS=$WORK/ec2-keys
printf 'AKIDVENICROOT0001 venic-root-secret 0\n' >"$KEYS"
chmod 0600 "$KEYS"
start_venicd --ec2-api "127.0.0.1:$PORT" --ec2-access-keys "$KEYS"
export AWS_ACCESS_KEY_ID=AKIDVENICROOT0001 AWS_SECRET_ACCESS_KEY=venic-root-secret AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
awsq() { "$AWS" --endpoint-url "http://127.0.0.1:$PORT" ec2 "$@" --output text || die "aws ec2 $1 failed"; }
router=02:76:70:63:00:01

run() { # SUBNET IP: prints "VF ENI INSTANCE"
  ec2 run-instances --instance-type m5.large --subnet-id "$1" --private-ip-address "$2" |
    field "(lambda i: f\"{i['NetworkInterfaces'][0]['VenicVfId']} {i['NetworkInterfaces'][0]['NetworkInterfaceId']} {i['InstanceId']}\")(j['Instances'][0])"
}
# (venicctl, the same commands as the aws CLI's, for what is not about routes: faster.)
open_default_group() { # VPC: everything in from 10.0.0.0/8 (the peers)
  local sg
  sg=$(ec2 describe-security-groups --filters "Name=vpc-id,Values=$1" "Name=group-name,Values=default" |
    field "j['SecurityGroups'][0]['GroupId']")
  ec2 authorize-security-group-ingress --group-id "$sg" --protocol all --cidr 10.0.0.0/8 >/dev/null
}
# send VF SRC DST: 50 UDP frames through the router.
send() {
  "$TRAFFIC" --socket "$SOCK" --vf "$1" send --dst-mac "$router" --count 50 --size 128 --flows 2 --src-ip "$2" \
    --dst-ip "$3" >/dev/null || die "send from VF $1 to $3 failed"
}
# exchange FROM SRC TO DST: frames TO received of 50 sent by FROM.
exchange() {
  "$TRAFFIC" --socket "$SOCK" --vf "$3" recv --count 50 --timeout 2 --idle 1 >"$WORK/recv.out" &
  local r=$!
  PIDS+=("$r")
  for _ in $(seq 50); do [ "$(ctl vf show "$3" --json | json_get "j['started']")" = True ] && break; sleep 0.1; done
  send "$1" "$2" "$4"
  wait "$r" || true
  json_get "j['received'] if j['bad'] == 0 else -1" <"$WORK/recv.out"
}

# ---- (a) a NAT instance as the private subnet's default route ----
vpc_a=$(new_vpc 10.0.0.0/16)
pub=$(new_subnet "$vpc_a" 10.0.0.0/24)
priv=$(new_subnet "$vpc_a" 10.0.1.0/24)
read -r vf_nat eni_nat i_nat < <(run "$pub" 10.0.0.10)
read -r vf_p _ _ < <(run "$priv" 10.0.1.10)
rtb=$(awsq create-route-table --vpc-id "$vpc_a" --query RouteTable.RouteTableId)
awsq associate-route-table --route-table-id "$rtb" --subnet-id "$priv" >/dev/null
awsq create-route --route-table-id "$rtb" --destination-cidr-block 0.0.0.0/0 --instance-id "$i_nat" >/dev/null
state=$(awsq describe-route-tables --route-table-ids "$rtb" \
  --query "RouteTables[0].Routes[?DestinationCidrBlock=='0.0.0.0/0'].[State,NetworkInterfaceId]")
[ "$state" = "active	$eni_nat" ] || die "the default route reads back as '$state'"
log "NAT instance $i_nat (VF $vf_nat) is $priv's default route in $rtb"

testpmd_start nat "$vf_nat" "${EAL_COPY[@]}" -- --forward-mode=rxonly
send "$vf_p" 10.0.1.10 198.51.100.7
dropped=$(stat_of "$vf_nat" drops.dst_check)
[ "$dropped" -eq 50 ] || die "the NAT instance's destination check dropped $dropped of 50"
ec2 modify-network-interface-attribute --network-interface-id "$eni_nat" --no-source-dest-check >/dev/null
send "$vf_p" 10.0.1.10 198.51.100.7
testpmd_stop nat
got=$(testpmd_total nat RX-packets)
[ "${got:-0}" -eq 50 ] || die "the NAT instance's testpmd received ${got:-0} of 50 with its check off"
log "(a) NAT instance: 50 dst_check drops with the check on, 50 received with it off"

# ---- (c) a blackhole route ----
eni_gone=$(ec2 create-network-interface --subnet-id "$priv" | field "j['NetworkInterface']['NetworkInterfaceId']")
awsq create-route --route-table-id "$rtb" --destination-cidr-block 192.0.2.0/24 --network-interface-id "$eni_gone" \
  >/dev/null
ec2 delete-network-interface --network-interface-id "$eni_gone" >/dev/null
state=$(awsq describe-route-tables --route-table-ids "$rtb" \
  --query "RouteTables[0].Routes[?DestinationCidrBlock=='192.0.2.0/24'].State")
[ "$state" = blackhole ] || die "a route to a deleted ENI is '$state', not blackhole"
send "$vf_p" 10.0.1.10 192.0.2.9
[ "$(stat_of "$vf_p" drops.blackhole)" -eq 50 ] || die "P did not count 50 blackhole drops"
log "(c) blackhole: 50 drops"

# ---- (b) peering, and no transitive routing ----
vpc_b=$(new_vpc 10.1.0.0/16)
vpc_c=$(new_vpc 10.2.0.0/16)
read -r vf_b _ _ < <(run "$(new_subnet "$vpc_b" 10.1.1.0/24)" 10.1.1.10)
read -r vf_c _ _ < <(run "$(new_subnet "$vpc_c" 10.2.1.0/24)" 10.2.1.10)
for v in "$vpc_a" "$vpc_b" "$vpc_c"; do open_default_group "$v"; done
peer() { # VPC PEER-VPC: an accepted peering's id
  local pcx status
  pcx=$(awsq create-vpc-peering-connection --vpc-id "$1" --peer-vpc-id "$2" \
    --query VpcPeeringConnection.VpcPeeringConnectionId)
  status=$(awsq accept-vpc-peering-connection --vpc-peering-connection-id "$pcx" \
    --query VpcPeeringConnection.Status.Code)
  [ "$status" = active ] || die "$pcx is $status once accepted"
  echo "$pcx"
}
pcx_ab=$(peer "$vpc_a" "$vpc_b")
pcx_bc=$(peer "$vpc_b" "$vpc_c")
route() { awsq create-route --route-table-id "$1" --destination-cidr-block "$2" --vpc-peering-connection-id "$3" >/dev/null; }
# Every VPC's main table, in one call.
declare -A main_of
while read -r v t; do main_of[$v]=$t; done < <(awsq describe-route-tables \
  --filters "Name=association.main,Values=true" --query 'RouteTables[].[VpcId,RouteTableId]')
rtb_b=${main_of[$vpc_b]:?no main route table for B}
rtb_c=${main_of[$vpc_c]:?no main route table for C}
[ "${main_of[$vpc_a]:-}" != "$rtb" ] && [ -n "${main_of[$vpc_a]:-}" ] || die "A's main table is wrong"
route "$rtb" 10.1.0.0/16 "$pcx_ab"
route "$rtb" 10.2.0.0/16 "$pcx_ab" # C through B: peering does not carry it
route "$rtb_b" 10.0.0.0/16 "$pcx_ab"
route "$rtb_b" 10.2.0.0/16 "$pcx_bc"
route "$rtb_c" 10.1.0.0/16 "$pcx_bc"
got=$(exchange "$vf_p" 10.0.1.10 "$vf_b" 10.1.1.10)
[ "$got" -eq 50 ] || die "A to B through $pcx_ab: $got of 50"
got=$(exchange "$vf_b" 10.1.1.10 "$vf_p" 10.0.1.10)
[ "$got" -eq 50 ] || die "B to A through $pcx_ab: $got of 50"
got=$(exchange "$vf_b" 10.1.1.10 "$vf_c" 10.2.1.10)
[ "$got" -eq 50 ] || die "B to C through $pcx_bc: $got of 50"
before=$(stat_of "$vf_p" drops.no_route)
got=$(exchange "$vf_p" 10.0.1.10 "$vf_c" 10.2.1.10)
[ "$got" -eq 0 ] || die "A reached C through B: $got frames"
[ "$(($(stat_of "$vf_p" drops.no_route) - before))" -eq 50 ] || die "A did not count 50 no_route drops toward C"
log "(b) peering: A<->B 50/50, B->C 50, A->C through B 0 (50 no_route)"
assert_venicd_alive
log "PASS"
