#!/usr/bin/env bash
# An instance on the internet through an internet gateway and an Elastic IP.
# venicd --internet-uplink tun:NAME makes "the internet": the test moves the
# TUN into a network namespace of its own where 198.51.100.1 is the internet
# host, with a route to venic's public pool 203.0.113.0/24.  A QEMU guest
# (10.0.1.10, a group allowing ICMP from anywhere) gets an Elastic IP
# (aws CLI: allocate-address, associate-address) behind an attached internet
# gateway, with its subnet's default route 0.0.0.0/0 -> igw.
# - The internet host pings the EIP: the gateway translates 1:1 to
#   10.0.1.10, the guest answers, its answer leaves through the igw as the
#   EIP, through the VPC's main route table's 0.0.0.0/0 -> igw route.
# - The guest pings the internet host (needs the same route).
# A NAT gateway is made with the aws CLI; its EIP cannot be released, nor
# the internet gateway detached while public addresses are mapped.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/guest/guest_lib.sh"
guest_image_ready

AWS=/usr/bin/aws # Debian's aws CLI, not a pyenv shim
[ -x "$AWS" ] || die "Debian's awscli is not installed (ci/install-deps)"
TUN=vgw$$
NS=venic-inet-$$
TUN=${TUN:0:15}
cleanup_internet() {
  ip netns del "$NS" 2>/dev/null || true
  cleanup
}
trap cleanup_internet EXIT

PORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
KEYS=$WORK/ec2-keys
printf 'AKIDVENICROOT0001 venic-root-secret 0\n' >"$KEYS"
chmod 0600 "$KEYS"
start_venicd --ec2-api "127.0.0.1:$PORT" --ec2-access-keys "$KEYS" --internet-uplink "tun:$TUN"
grep -q "internet uplink on TUN $TUN" "$WORK/venicd.log" || die "venicd made no internet uplink"
export AWS_ACCESS_KEY_ID=AKIDVENICROOT0001 AWS_SECRET_ACCESS_KEY=venic-root-secret AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
aws_ec2() { "$AWS" --endpoint-url "http://127.0.0.1:$PORT" ec2 "$@"; }
awsq() { aws_ec2 "$@" --output text || die "aws ec2 $1 failed"; }

# The internet: the TUN in a namespace, 198.51.100.1 on it, a route to the pool.
ip netns add "$NS" || die "cannot make a network namespace"
ip link set "$TUN" netns "$NS" || die "cannot move $TUN into $NS"
inet() { ip netns exec "$NS" "$@"; }
inet ip link set lo up
inet ip addr add 198.51.100.1/32 dev "$TUN"
inet ip link set "$TUN" up
inet ip route add 203.0.113.0/24 dev "$TUN"

vpc=$(new_vpc 10.0.0.0/16)
subnet=$(new_subnet "$vpc" 10.0.1.0/24)
sg=$(ec2 create-security-group --group-name pingable --description "ICMP from anywhere" --vpc-id "$vpc" |
  field "j['GroupId']")
ec2 authorize-security-group-ingress --group-id "$sg" --protocol icmp --cidr 0.0.0.0/0 >/dev/null
read -r inst vf mac < <(ec2 run-instances --instance-type m5.large --subnet-id "$subnet" --private-ip-address 10.0.1.10 \
  --security-group-ids "$sg" --venic-frontend vhost-user |
  field "(lambda i: f\"{i['InstanceId']} {i['NetworkInterfaces'][0]['VenicVfId']} {i['NetworkInterfaces'][0]['MacAddress']}\")(j['Instances'][0])")

igw=$(awsq create-internet-gateway --query InternetGateway.InternetGatewayId)
awsq attach-internet-gateway --internet-gateway-id "$igw" --vpc-id "$vpc" >/dev/null
read -r alloc eip < <(awsq allocate-address --domain vpc --query '[AllocationId,PublicIp]')
assoc=$(awsq associate-address --allocation-id "$alloc" --instance-id "$inst" --query AssociationId)
[ "$(awsq describe-addresses --allocation-ids "$alloc" --query 'Addresses[0].InstanceId')" = "$inst" ] ||
  die "describe-addresses does not show the association"
[ "$(awsq describe-instances --instance-ids "$inst" --query 'Reservations[0].Instances[0].PublicIpAddress')" = "$eip" ] ||
  die "describe-instances does not show the EIP"
log "$inst (VF $vf) has EIP $eip ($alloc, $assoc) behind $igw"
# A NAT gateway in another subnet, through the aws CLI (its ClientToken is the CLI's).
subnet2=$(new_subnet "$vpc" 10.0.2.0/24)
alloc2=$(awsq allocate-address --query AllocationId)
nat=$(awsq create-nat-gateway --subnet-id "$subnet2" --allocation-id "$alloc2" --query NatGateway.NatGatewayId)
[ "$(awsq describe-nat-gateways --nat-gateway-ids "$nat" --query 'NatGateways[0].State')" = available ] ||
  die "the NAT gateway is not available"
aws_ec2 release-address --allocation-id "$alloc2" 2>"$WORK/release.err" && die "released the NAT gateway's address"
grep -q InvalidIPAddress.InUse "$WORK/release.err" || die "release-address: $(cat "$WORK/release.err")"
aws_ec2 detach-internet-gateway --internet-gateway-id "$igw" --vpc-id "$vpc" 2>"$WORK/detach.err" &&
  die "detached the internet gateway with public addresses mapped"
grep -q DependencyViolation "$WORK/detach.err" || die "detach-internet-gateway: $(cat "$WORK/detach.err")"
log "NAT gateway $nat available on $(awsq describe-nat-gateways --nat-gateway-ids "$nat" \
  --query 'NatGateways[0].NatGatewayAddresses[0].PublicIp')"

# The default route to the internet gateway.
rtb=$(awsq describe-route-tables --filters "Name=vpc-id,Values=$vpc" --query 'RouteTables[0].RouteTableId')
awsq create-route --route-table-id "$rtb" --destination-cidr-block 0.0.0.0/0 --gateway-id "$igw" >/dev/null
routes=1
log "route 0.0.0.0/0 -> $igw in $rtb"

mkdir -p "$WORK/a"
cat >"$WORK/a/venic-test.sh" <<EOF
$NO_IPV6
ip addr add 10.0.1.10/24 dev eth0
ip link set eth0 up
ip route add default via 10.0.1.1
echo VENIC-UP
if [ $routes = 1 ]; then
  if ping -c 3 -W 2 198.51.100.1; then echo VENIC-OUT-OK; else echo VENIC-OUT-FAIL; fi
fi
echo VENIC-OUT-DONE
sleep 60
EOF
pack_guest a
T0=$SECONDS
boot_guest a "$vf" "$mac"
while ! grep -q "VENIC-OUT-DONE" "$WORK/guest-a.log" 2>/dev/null; do
  [ $((SECONDS - T0)) -lt 90 ] || die "the guest did not get through its script within 90 s"
  kill -0 "$QEMU_a_PID" 2>/dev/null || die "QEMU exited early"
  sleep 0.5
done
log "guest up after $((SECONDS - T0)) s: $(grep -o 'VENIC-[A-Z-]*' "$WORK/guest-a.log" | tr '\n' ' ')"

# icmp_ping ADDR COUNT: echo requests from the internet namespace (no ping on
# the host: a raw socket); prints the replies that came back.
icmp_ping() {
  inet python3 - "$1" "$2" <<'PY'
import os, socket, struct, sys, time
dst, count = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(0.5)
def csum(b):
    t = sum(struct.unpack(f">{len(b)//2}H", b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
ident, got = os.getpid() & 0xffff, 0
for seq in range(count):
    m = struct.pack(">BBHHH", 8, 0, 0, ident, seq) + b"venic" * 8
    s.sendto(m[:2] + struct.pack(">H", csum(m)) + m[4:], (dst, 0))
    end = time.time() + 2
    while time.time() < end:
        try: r, a = s.recvfrom(2048)
        except socket.timeout: continue
        ihl = (r[0] & 15) * 4
        if a[0] == dst and r[ihl] == 0 and struct.unpack(">HH", r[ihl+4:ihl+8]) == (ident, seq):
            got += 1; break
print(got)
PY
}
gw() { ctl info --json | json_get "j['gateways']['$1']"; }
in_before=$(gw translated_in)
replies=$(icmp_ping "$eip" 3)
[ "$(gw translated_in)" -ge $((in_before + 3)) ] || die "the pings to $eip did not reach the instance translated"
[ "$(gw malformed)" -eq 0 ] || die "the gateway counted malformed packets"
if [ $routes = 1 ]; then
  [ "$replies" -ge 2 ] || die "the internet host's pings to $eip got $replies answers"
  grep -q "VENIC-OUT-OK" "$WORK/guest-a.log" || die "the guest could not ping 198.51.100.1"
  [ "$(gw translated_out)" -ge 6 ] || die "the gateway translated $(gw translated_out) packets out, want 6 or more"
  log "the internet host pings $eip and the guest pings the internet host"
else
  [ "$(stat_of "$vf" drops.no_route)" -ge 3 ] || die "the guest's answers were not seen (no_route $(stat_of "$vf" drops.no_route))"
  log "the internet host's pings reach the guest as 10.0.1.10; its answers wait for the route tables"
fi
# Unknown public addresses are dropped and counted.
icmp_ping 203.0.113.250 1 >/dev/null
[ "$(gw inbound_unknown)" -ge 1 ] || die "a packet to an unassigned public address was not counted"

kill -TERM "$QEMU_a_PID" 2>/dev/null || true
wait "$QEMU_a_PID" 2>/dev/null || true
assert_venicd_alive
log "PASS ($((SECONDS - T0)) s with the guest)"
