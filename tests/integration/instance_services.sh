#!/usr/bin/env bash
# The instance services of a real venicd, without the fast path: the model's
# instances, user data and metadata options reach IMDS, DNS and Time Sync in
# venicd's private namespace.  The test enters that namespace and plays the
# instance's VF from its namespace address (services/address_map.h).
source "$(dirname "$0")/lib.sh"

start_venicd
grep -q "instance services are off" "$WORK/venicd.log" && die "venicd started without its instance services"
vpc=$(new_vpc 10.0.0.0/16)
subnet=$(new_subnet "$vpc" 10.0.1.0/24)
run=$(ec2 run-instances --instance-type t3.micro --subnet-id "$subnet" --private-ip-address 10.0.1.5 \
  --user-data 'hello from venic')
id=$(echo "$run" | field "j['Instances'][0]['InstanceId']")
vf=$(echo "$run" | field "j['Instances'][0]['NetworkInterfaces'][0]['VenicVfId']")
ec2 run-instances --instance-type t3.micro --subnet-id "$subnet" --private-ip-address 10.0.1.6 >/dev/null

# venicd's threads in another network namespace than its own: the services'.
ns=""
for t in /proc/"$VENICD_PID"/task/*; do
  if [ "$(readlink "$t/ns/net")" != "$(readlink /proc/"$VENICD_PID"/ns/net)" ]; then ns=$t/ns/net; break; fi
done
[ -n "$ns" ] || die "no thread of venicd is in a namespace of its own"
in_ns() { nsenter --net="$ns" "$@"; }
# The VF's namespace address: 100.64.0.0 | 0x8000 | vf << 6 (its primary address, index 0).
tag=$((0x8000 | vf << 6))
me=100.64.$((tag >> 8)).$((tag & 255))
in_ns ip addr add "$me/32" dev lo || die "cannot add $me in the services' namespace"

imds() { in_ns curl -s --max-time 5 --interface "$me" "$@"; }
got=$(imds http://169.254.169.254/latest/meta-data/instance-id)
[ "$got" = "$id" ] || die "IMDSv1 instance-id: '$got', want $id"
[ "$(imds http://169.254.169.254/latest/user-data)" = "hello from venic" ] || die "user-data did not round-trip"
log "IMDSv1 answers $id"

ec2 modify-instance-metadata-options --instance-id "$id" --http-tokens required >/dev/null
code=$(imds -o /dev/null -w '%{http_code}' http://169.254.169.254/latest/meta-data/instance-id)
[ "$code" = 401 ] || die "HttpTokens=required: GET without a token got $code, want 401"
token=$(imds -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" http://169.254.169.254/latest/api/token)
[ -n "$token" ] || die "no IMDSv2 token"
got=$(imds -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/instance-id)
[ "$got" = "$id" ] || die "IMDSv2 instance-id: '$got', want $id"
log "IMDSv2: 401 without a token, $id with one"

# Amazon DNS and Time Sync from the same address.
in_ns python3 - "$me" <<'PY' || die "DNS or NTP did not answer"
import socket, struct, sys, time
me = sys.argv[1]
def ask(dst, port, payload):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((me, 0)); s.settimeout(5); s.sendto(payload, (dst, port))
    return s.recv(1024)
name = b"".join(bytes([len(l)]) + l for l in b"ip-10-0-1-6.ec2.internal".split(b".")) + b"\0"
r = ask("169.254.169.253", 53, struct.pack(">HHHHHH", 7, 0x100, 1, 0, 0, 0) + name + struct.pack(">HH", 1, 1))
assert r[3] & 15 == 0 and r[-4:] == bytes([10, 0, 1, 6]), r
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.bind((me, 0)); t.settimeout(5); t.connect(("169.254.169.253", 53))
q = struct.pack(">HHHHHH", 8, 0x100, 1, 0, 0, 0) + name + struct.pack(">HH", 1, 1)
t.sendall(struct.pack(">H", len(q)) + q)
r = t.recv(1024)
assert struct.unpack(">H", r[:2])[0] == len(r) - 2 and r[-4:] == bytes([10, 0, 1, 6]), r
r = ask("169.254.169.123", 123, bytes([0x23]) + bytes(47))
assert r[0] & 7 == 4 and r[1] == 3, r
secs = struct.unpack(">I", r[40:44])[0] - 2208988800
assert abs(secs - time.time()) < 5, secs
PY
log "DNS (UDP and TCP) resolves ip-10-0-1-6.ec2.internal; NTP answers at stratum 3"
stop_venicd
log "PASS"
