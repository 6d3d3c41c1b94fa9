#!/usr/bin/env bash
# README's two-tier VPC, as written there, with the aws CLI against venicd's
# EC2 API: a public subnet behind an internet gateway, a private subnet
# behind a NAT gateway, and a second VPC peered with the first.  "The
# internet" is a network namespace holding venicd's uplink TUN and a host at
# 198.51.100.1.
# - the internet pings the web instance's Elastic IP, and it answers;
# - the private app instance pings the internet host through the NAT
#   gateway, whose Elastic IP is what the internet host sees;
# - the app instance reaches the database instance in the peered VPC, and
#   a third VPC peered only with the second is not reached through it;
# - a 2000-byte ping with DF set toward the internet gets "fragmentation
#   needed" with MTU 1500 (inside the VPC the MTU is 9001);
# - a network ACL deny rule on the private subnet stops the app's pings to
#   the internet (counted nacl_egress), and removing it lets them through.
source "$(dirname "$0")/lib.sh"

AWS=/usr/bin/aws
[ -x "$AWS" ] || die "Debian's awscli is not installed (ci/install-deps)"
PORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
KEYS=$WORK/ec2-keys
printf 'AKIDVENICEXAMPLE01 venic-example-secret 0\n' >"$KEYS"
chmod 600 "$KEYS"
NS=venic-inet-$$
TUN=vinet$$
cleanup_netns() { ip netns del "$NS" 2>/dev/null || true; }
trap 'cleanup; cleanup_netns' EXIT
start_venicd --ec2-api "127.0.0.1:$PORT" --ec2-access-keys "$KEYS" --internet-uplink "tun:$TUN"

# ---- the internet: a namespace with the uplink and a host ----
ip netns add "$NS"
ip link set "$TUN" netns "$NS" || die "venicd made no uplink TUN $TUN"
ip -n "$NS" addr add 198.51.100.1/24 dev "$TUN"
ip -n "$NS" link set "$TUN" up
ip -n "$NS" link set lo up
ip -n "$NS" route add 203.0.113.0/24 dev "$TUN"

export AWS_ACCESS_KEY_ID=AKIDVENICEXAMPLE01 AWS_SECRET_ACCESS_KEY=venic-example-secret AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
EC2="$AWS --endpoint-url http://127.0.0.1:$PORT ec2"
q() { $EC2 "$@" --output text || die "aws ec2 $1 failed"; }

# ---- VPC A: public and private subnets, gateways, route tables ----
VPC=$(q create-vpc --cidr-block 10.5.0.0/16 --query Vpc.VpcId)
PUB=$(q create-subnet --vpc-id "$VPC" --cidr-block 10.5.1.0/24 --availability-zone us-east-1a --query Subnet.SubnetId)
PRIV=$(q create-subnet --vpc-id "$VPC" --cidr-block 10.5.2.0/24 --availability-zone us-east-1a --query Subnet.SubnetId)
IGW=$(q create-internet-gateway --query InternetGateway.InternetGatewayId)
q attach-internet-gateway --internet-gateway-id "$IGW" --vpc-id "$VPC" >/dev/null
PUB_RT=$(q create-route-table --vpc-id "$VPC" --query RouteTable.RouteTableId)
q create-route --route-table-id "$PUB_RT" --destination-cidr-block 0.0.0.0/0 --gateway-id "$IGW" >/dev/null
q associate-route-table --route-table-id "$PUB_RT" --subnet-id "$PUB" >/dev/null
NAT_EIP=$(q allocate-address --domain vpc --query AllocationId)
NAT=$(q create-nat-gateway --subnet-id "$PUB" --allocation-id "$NAT_EIP" --query NatGateway.NatGatewayId)
PRIV_RT=$(q create-route-table --vpc-id "$VPC" --query RouteTable.RouteTableId)
q create-route --route-table-id "$PRIV_RT" --destination-cidr-block 0.0.0.0/0 --nat-gateway-id "$NAT" >/dev/null
q associate-route-table --route-table-id "$PRIV_RT" --subnet-id "$PRIV" >/dev/null
SG=$(q describe-security-groups --filters "Name=vpc-id,Values=$VPC" "Name=group-name,Values=default" \
  --query 'SecurityGroups[0].GroupId')
q authorize-security-group-ingress --group-id "$SG" --protocol icmp --port -1 --cidr 0.0.0.0/0 >/dev/null
WEB=$(q run-instances --instance-type m5.large --subnet-id "$PUB" --private-ip-address 10.5.1.10 \
  --query 'Instances[0].InstanceId')
APP=$(q run-instances --instance-type m5.large --subnet-id "$PRIV" --private-ip-address 10.5.2.20 \
  --query 'Instances[0].InstanceId')
WEB_EIP=$(q allocate-address --domain vpc --query AllocationId)
q associate-address --allocation-id "$WEB_EIP" --instance-id "$WEB" >/dev/null
WEB_PUBLIC=$(q describe-addresses --allocation-ids "$WEB_EIP" --query 'Addresses[0].PublicIp')
NAT_PUBLIC=$(q describe-addresses --allocation-ids "$NAT_EIP" --query 'Addresses[0].PublicIp')
log "VPC $VPC: web $WEB ($WEB_PUBLIC), app $APP behind $NAT ($NAT_PUBLIC)"

# ---- VPC B, peered with A; VPC C, peered with B only ----
VPC_B=$(q create-vpc --cidr-block 10.6.0.0/16 --query Vpc.VpcId)
DB_SUBNET=$(q create-subnet --vpc-id "$VPC_B" --cidr-block 10.6.1.0/24 --availability-zone us-east-1a \
  --query Subnet.SubnetId)
SG_B=$(q describe-security-groups --filters "Name=vpc-id,Values=$VPC_B" "Name=group-name,Values=default" \
  --query 'SecurityGroups[0].GroupId')
q authorize-security-group-ingress --group-id "$SG_B" --protocol icmp --port -1 --cidr 10.5.0.0/16 >/dev/null
DB=$(q run-instances --instance-type m5.large --subnet-id "$DB_SUBNET" --private-ip-address 10.6.1.30 \
  --query 'Instances[0].InstanceId')
PCX=$(q create-vpc-peering-connection --vpc-id "$VPC" --peer-vpc-id "$VPC_B" \
  --query VpcPeeringConnection.VpcPeeringConnectionId)
q accept-vpc-peering-connection --vpc-peering-connection-id "$PCX" >/dev/null
q create-route --route-table-id "$PRIV_RT" --destination-cidr-block 10.6.0.0/16 --vpc-peering-connection-id "$PCX" \
  >/dev/null
B_RT=$(q describe-route-tables --filters "Name=vpc-id,Values=$VPC_B" "Name=association.main,Values=true" \
  --query 'RouteTables[0].RouteTableId')
q create-route --route-table-id "$B_RT" --destination-cidr-block 10.5.2.0/24 --vpc-peering-connection-id "$PCX" \
  >/dev/null
VPC_C=$(q create-vpc --cidr-block 10.7.0.0/16 --query Vpc.VpcId)
PCX_BC=$(q create-vpc-peering-connection --vpc-id "$VPC_B" --peer-vpc-id "$VPC_C" \
  --query VpcPeeringConnection.VpcPeeringConnectionId)
q accept-vpc-peering-connection --vpc-peering-connection-id "$PCX_BC" >/dev/null
q create-route --route-table-id "$B_RT" --destination-cidr-block 10.7.0.0/16 --vpc-peering-connection-id "$PCX_BC" \
  >/dev/null
C_SUBNET=$(q create-subnet --vpc-id "$VPC_C" --cidr-block 10.7.1.0/24 --availability-zone us-east-1a \
  --query Subnet.SubnetId)
C_INST=$(q run-instances --instance-type m5.large --subnet-id "$C_SUBNET" --private-ip-address 10.7.1.40 \
  --query 'Instances[0].InstanceId')

vf_of() { ec2 describe-instances --instance-ids "$1" | field "j['Reservations'][0]['Instances'][0]['NetworkInterfaces'][0]['VenicVfId']"; }
VF_WEB=$(vf_of "$WEB")
VF_APP=$(vf_of "$APP")
VF_DB=$(vf_of "$DB")
wait_started() {
  for _ in $(seq 50); do [ "$(ctl vf show "$1" --json | json_get "j['started']")" = True ] && return; sleep 0.1; done
}

# ---- the internet reaches the web instance through its Elastic IP ----
"$TRAFFIC" --socket "$SOCK" --vf "$VF_WEB" answer-ping --ip 10.5.1.10 --count 3 --seconds 20 >"$WORK/web.out" &
web_pid=$!
PIDS+=("$web_pid")
wait_started "$VF_WEB"
# (README says ping; a machine without iputils has busybox's)
PING=(ping)
command -v ping >/dev/null || PING=(busybox ping)
ip netns exec "$NS" "${PING[@]}" -c 3 -W 5 "$WEB_PUBLIC" >"$WORK/inet-ping.out" ||
  die "the internet host's pings to $WEB_PUBLIC were not answered: $(cat "$WORK/inet-ping.out")"
wait "$web_pid" || die "web's answer-ping: $(cat "$WORK/web.out")"
log "internet -> $WEB_PUBLIC: $(grep -c 'bytes from' "$WORK/inet-ping.out") replies"

# ---- the app instance reaches the internet through the NAT gateway ----
ip netns exec "$NS" timeout 30 tshark -l -n -i "$TUN" -c 3 -f "icmp and dst host 198.51.100.1" -T fields -e ip.src \
  >"$WORK/seen.out" 2>"$WORK/tshark.err" &
dump_pid=$!
PIDS+=("$dump_pid")
for _ in $(seq 100); do grep -q "Capturing on" "$WORK/tshark.err" && break; sleep 0.1; done
"$TRAFFIC" --socket "$SOCK" --vf "$VF_APP" ping --src-ip 10.5.2.20 --dst-ip 198.51.100.1 --count 3 --interval-ms 100 \
  --timeout 10 >"$WORK/app-ping.out" || die "app's pings to the internet: $(cat "$WORK/app-ping.out")"
wait "$dump_pid" || true
[ "$(sort -u "$WORK/seen.out")" = "$NAT_PUBLIC" ] ||
  die "the internet host did not see the NAT gateway's address $NAT_PUBLIC: $(cat "$WORK/seen.out")"
log "app -> internet via $NAT: $(cat "$WORK/app-ping.out")"

# ---- MTU 1500 outside the VPC ----
"$TRAFFIC" --socket "$SOCK" --vf "$VF_APP" ping --src-ip 10.5.2.20 --dst-ip 198.51.100.1 --count 1 --size 2000 --df \
  --timeout 3 >"$WORK/big.out" || true
[ "$(json_get "j['frag_needed_mtu']" <"$WORK/big.out")" = 1500 ] ||
  die "a 2000-byte DF ping to the internet did not get 'fragmentation needed' (MTU 1500): $(cat "$WORK/big.out")"

# ---- peering: app -> db; and C is not reached through B ----
"$TRAFFIC" --socket "$SOCK" --vf "$VF_DB" answer-ping --ip 10.6.1.30 --count 3 --seconds 20 >"$WORK/db.out" &
db_pid=$!
PIDS+=("$db_pid")
wait_started "$VF_DB"
"$TRAFFIC" --socket "$SOCK" --vf "$VF_APP" ping --src-ip 10.5.2.20 --dst-ip 10.6.1.30 --count 3 --interval-ms 50 \
  --timeout 10 >"$WORK/db-ping.out" || die "app's pings to db over the peering: $(cat "$WORK/db-ping.out")"
wait "$db_pid" || die "db's answer-ping: $(cat "$WORK/db.out")"
"$TRAFFIC" --socket "$SOCK" --vf "$VF_APP" ping --src-ip 10.5.2.20 --dst-ip 10.7.1.40 --count 2 --interval-ms 50 \
  --timeout 2 >"$WORK/c-ping.out" && die "VPC C was reached through B: no transitive peering"
log "peering: app -> db answered; C not reached"

# ---- a network ACL on the private subnet ----
ACL=$(q describe-network-acls --filters "Name=association.subnet-id,Values=$PRIV" --query 'NetworkAcls[0].NetworkAclId')
q create-network-acl-entry --network-acl-id "$ACL" --egress --rule-number 50 --protocol icmp \
  --icmp-type-code Type=-1,Code=-1 --cidr-block 198.51.100.0/24 --rule-action deny >/dev/null
before=$(stat_of "$VF_APP" drops.nacl_egress)
"$TRAFFIC" --socket "$SOCK" --vf "$VF_APP" ping --src-ip 10.5.2.20 --dst-ip 198.51.100.1 --count 2 --interval-ms 50 \
  --timeout 2 >/dev/null && die "the ACL's deny rule let the pings out"
[ "$(($(stat_of "$VF_APP" drops.nacl_egress) - before))" -eq 2 ] || die "the ACL's drops were not counted as nacl_egress"
q delete-network-acl-entry --network-acl-id "$ACL" --egress --rule-number 50 >/dev/null
"$TRAFFIC" --socket "$SOCK" --vf "$VF_APP" ping --src-ip 10.5.2.20 --dst-ip 198.51.100.1 --count 2 --interval-ms 50 \
  --timeout 10 >/dev/null || die "the pings did not pass once the deny rule was gone"
assert_venicd_alive
log "PASS"
