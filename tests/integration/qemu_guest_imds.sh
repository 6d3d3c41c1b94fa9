#!/usr/bin/env bash
# A QEMU guest (a real Linux kernel, busybox) as an EC2 instance asks its own
# services through the fast path's exception path, as on EC2: with
# HttpTokens=required its IMDSv1 GET is refused, its IMDSv2 token (asked for
# with nc: busybox wget has no PUT) gets its instance id, its MAC's
# local-ipv4s and its user data with busybox wget; Amazon DNS at the VPC's
# base + 2 and at 169.254.169.253 resolves another instance's private name.
# (The guest's busybox has no NTP client and no UDP nc: Time Sync is checked
# by instance_services.sh and service_port_test.  Its wget crashes on -T:
# timeout(1) bounds it instead.)  The subnet is the VPC's first, so that its
# base + 2 is the VPC's too.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/guest/guest_lib.sh"
guest_image_ready

start_venicd
grep -q "instance services are off" "$WORK/venicd.log" && die "venicd started without its instance services"
vpc=$(new_vpc 10.0.0.0/16)
subnet=$(new_subnet "$vpc" 10.0.0.0/24)
read -r id vf mac < <(ec2 run-instances --instance-type m5.large --subnet-id "$subnet" --private-ip-address 10.0.0.5 \
  --venic-frontend vhost-user --user-data 'hello from venic' --metadata-options HttpTokens=required |
  field "(lambda i: f\"{i['InstanceId']} {i['NetworkInterfaces'][0]['VenicVfId']} {i['NetworkInterfaces'][0]['MacAddress']}\")(j['Instances'][0])")
ec2 run-instances --instance-type t3.micro --subnet-id "$subnet" --private-ip-address 10.0.0.6 >/dev/null
log "instance $id: VF $vf $mac 10.0.0.5"

mkdir -p "$WORK/a"
cat >"$WORK/a/venic-test.sh" <<EOF
$NO_IPV6
ip addr add 10.0.0.5/24 dev eth0
ip link set eth0 up
ip route add default via 10.0.0.1
M=http://169.254.169.254/latest
if timeout 10 wget -q -O /tmp/v1 \$M/meta-data/instance-id 2>/dev/null; then echo VENIC-V1-ANSWERED; else echo VENIC-V1-REFUSED; fi
# nc's stdin stays open until the answer is in (busybox nc may stop at its
# input's end), and a lost first try is tried again.
for try in 1 2 3; do
  TOKEN=\$( { printf 'PUT /latest/api/token HTTP/1.0\r\nX-aws-ec2-metadata-token-ttl-seconds: 21600\r\n\r\n'; sleep 3; } |
    timeout 10 nc 169.254.169.254 80 | tail -n 1)
  [ -n "\$TOKEN" ] && break
done
get() { timeout 10 wget -qO- --header "X-aws-ec2-metadata-token: \$TOKEN" "\$M/\$1" | tr '\n' ' '; }
echo "VENIC-IID=\$(get meta-data/instance-id)="
echo "VENIC-IPS=\$(get meta-data/network/interfaces/macs/$mac/local-ipv4s)="
echo "VENIC-UD=\$(get user-data)="
for dns in 10.0.0.2 169.254.169.253; do
  if nslookup ip-10-0-0-6.ec2.internal \$dns 2>&1 | grep -q 10.0.0.6; then echo VENIC-DNS-OK-\$dns; else echo VENIC-DNS-FAIL-\$dns; fi
done
EOF
pack_guest a

T0=$SECONDS
boot_guest a "$vf" "$mac"
while ! grep -q "VENIC-GUEST-DONE" "$WORK/guest-a.log" 2>/dev/null; do
  [ $((SECONDS - T0)) -lt 120 ] || die "the guest did not finish within 120 s"
  kill -0 "$QEMU_a_PID" 2>/dev/null || die "QEMU exited without VENIC-GUEST-DONE"
  sleep 0.5
done
out=$(grep -a 'VENIC-' "$WORK/guest-a.log" | tr -d '\r')
log "guest done after $((SECONDS - T0)) s: $(echo "$out" | tr '\n' ' ')"
want() {
  echo "$out" | grep -qF -- "$1" && return 0
  grep -a -v VHOST "$WORK/guest-a.log" | tail -n 12 >&2
  ctl stats "$vf" --json >&2 || true
  die "the guest did not print '$1'"
}
want "VENIC-V1-REFUSED"
want "VENIC-IID=$id="
want "VENIC-IPS=10.0.0.5="
want "VENIC-UD=hello from venic="
want "VENIC-DNS-OK-10.0.0.2"
want "VENIC-DNS-OK-169.254.169.253"
kill -TERM "$QEMU_a_PID" 2>/dev/null || true
wait "$QEMU_a_PID" 2>/dev/null || true
assert_venicd_alive
log "PASS ($((SECONDS - T0)) s with the guest)"
