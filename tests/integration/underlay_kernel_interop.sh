#!/usr/bin/env bash
# venic's underlay wire format against the Linux kernel's own tunnel
# devices: a vxlan device (VNI 7701) and, where the kernel has geneve, a
# geneve device (VNI 7700) in a network namespace, reached over a veth pair,
# answer ICMP echo requests that venic's tunnel codec encapsulates, and
# their replies decode with the right VNI; a request with another VNI is not
# answered.  No daemon: the codec alone, proving the format is the standard
# one before hosts speak it to each other (issue 21).  A kernel without
# geneve (CONFIG_GENEVE off) leaves Geneve to the unit tests, and says so.
source "$(dirname "$0")/lib.sh"
PROBE=$BUILD/tests/integration/underlay/tunnel_probe
NS=venic-tun-$$
VA=vtA$$
VB=vtB$$
cleanup_net() {
  ip link del "$VA" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
}
trap 'cleanup; cleanup_net' EXIT

ip netns add "$NS"
ip link add "$VA" type veth peer name "$VB"
ip link set "$VB" netns "$NS"
ip addr add 100.64.77.1/24 dev "$VA"
ip link set "$VA" up
ip -n "$NS" addr add 100.64.77.2/24 dev "$VB"
ip -n "$NS" link set "$VB" up
ip -n "$NS" link set lo up
geneve=yes
ip -n "$NS" link add gnv0 type geneve id 7700 remote 100.64.77.1 2>"$WORK/geneve.err" || geneve=no
ip -n "$NS" link add vx0 type vxlan id 7701 remote 100.64.77.1 dstport 4789 local 100.64.77.2
ip -n "$NS" addr add 10.78.0.2/24 dev vx0
ip -n "$NS" link set vx0 up
# Our inner address's MAC, as a VPC's mapping service would know it.
ip -n "$NS" neigh add 10.78.0.1 lladdr 02:00:00:00:77:01 dev vx0
mac_of() { ip -n "$NS" -j link show "$1" | json_get "j[0]['address']"; }

if [ "$geneve" = yes ]; then
  ip -n "$NS" addr add 10.77.0.2/24 dev gnv0
  ip -n "$NS" link set gnv0 up
  ip -n "$NS" neigh add 10.77.0.1 lladdr 02:00:00:00:77:01 dev gnv0
  "$PROBE" --encap geneve --vni 7700 --local 100.64.77.1 --remote 100.64.77.2 --inner-dst-mac "$(mac_of gnv0)" \
    --inner-src-ip 10.77.0.1 --inner-dst-ip 10.77.0.2 --count 5 >"$WORK/geneve.out" ||
    die "the kernel's geneve device did not answer through venic's codec: $(cat "$WORK/geneve.out")"
  log "geneve: $(cat "$WORK/geneve.out")"
else
  log "this kernel has no geneve devices ($(cat "$WORK/geneve.err")): Geneve is checked by tunnel_codec_test only"
fi
"$PROBE" --encap vxlan --vni 7701 --local 100.64.77.1 --remote 100.64.77.2 --inner-dst-mac "$(mac_of vx0)" \
  --inner-src-ip 10.78.0.1 --inner-dst-ip 10.78.0.2 --count 5 >"$WORK/vxlan.out" ||
  die "the kernel's vxlan device did not answer through venic's codec: $(cat "$WORK/vxlan.out")"
log "vxlan: $(cat "$WORK/vxlan.out")"
# A wrong VNI reaches no device: nothing answers.
"$PROBE" --encap vxlan --vni 7799 --local 100.64.77.1 --remote 100.64.77.2 --inner-dst-mac "$(mac_of vx0)" \
  --inner-src-ip 10.78.0.1 --inner-dst-ip 10.78.0.2 --count 2 >"$WORK/wrong.out" &&
  die "a request with another VNI was answered: $(cat "$WORK/wrong.out")"
log "PASS"
