#!/usr/bin/env bash
# EC2's source/destination check, on by default: a VF sends only from its own
# MAC and addresses (secondaries included) and receives only IPv4 addressed to
# it; each drop is counted by reason; turned off, the VF may act as a NAT or
# router.
source "$(dirname "$0")/lib.sh"
start_venicd
ctl vf create --type ena --mac 02:00:00:00:00:01 --ip 10.0.1.10 --secondary-ip 10.0.1.20 \
  --ipv6 2600:1f18::10 >/dev/null
ctl vf create --type ena --mac 02:00:00:00:00:02 --ip 10.0.1.11 --secondary-ip 10.0.1.21 \
  --ipv6 2600:1f18::11 >/dev/null
[ "$(ctl vf show 0 --json | json_get "j['src_dst_check']")" = True ] || die "the check is not on by default"

# send FROM-VF COUNT [venic-traffic send options]: IPv4/UDP frames to VF1's MAC.
send() {
  local from=$1 count=$2
  shift 2
  "$TRAFFIC" --socket "$SOCK" --vf "$from" send --dst-mac 02:00:00:00:00:02 --count "$count" --size 128 \
    --udp-flows 4 "$@" >/dev/null || die "send $* failed"
}
# expect_received COUNT -- SEND-ARGS: VF1 receives exactly COUNT intact frames.
expect_received() {
  local want=$1
  shift
  "$TRAFFIC" --socket "$SOCK" --vf 1 recv --count 200 --timeout 4 --idle 1 >"$WORK/recv.out" &
  local r=$!
  PIDS+=("$r")
  for _ in $(seq 50); do [ "$(ctl vf show 1 --json | json_get "j['started']")" = True ] && break; sleep 0.1; done
  send 0 200 "$@"
  wait "$r" || true
  local got bad
  got=$(json_get "j['received']" <"$WORK/recv.out")
  bad=$(json_get "j['bad']" <"$WORK/recv.out")
  [ "$bad" -eq 0 ] || die "VF1 received $bad corrupt frames ($*)"
  [ "$got" -eq "$want" ] || die "VF1 received $got frames, want $want ($*)"
}

expect_received 200 --src-ip 10.0.1.10 --dst-ip 10.0.1.11
expect_received 200 --src-ip 10.0.1.20 --dst-ip 10.0.1.21 # secondary addresses both ways
expect_received 0 --src-mac 02:00:00:00:00:99 --src-ip 10.0.1.10
[ "$(stat_of 0 drops.spoof_mac)" -eq 200 ] || die "spoof_mac is $(stat_of 0 drops.spoof_mac), want 200"
expect_received 0 --src-ip 10.0.1.99
[ "$(stat_of 0 drops.spoof_ip)" -eq 200 ] || die "spoof_ip is $(stat_of 0 drops.spoof_ip), want 200"
expect_received 0 --src-ip 10.0.1.10 --dst-ip 10.0.1.99
[ "$(stat_of 1 drops.dst_check)" -eq 200 ] || die "dst_check is $(stat_of 1 drops.dst_check), want 200"
expect_received 200 --src-ip 10.0.1.10 --dst-ip 10.0.1.255 # the subnet's broadcast passes

# IPv6: own addresses and link-local (neighbour discovery) pass; others do not.
expect_received 200 --src-ip6 2600:1f18::10 --dst-ip6 2600:1f18::11
expect_received 200 --src-ip6 fe80::1 --dst-ip6 fe80::2
expect_received 0 --src-ip6 2600:1f18::99 --dst-ip6 2600:1f18::11
[ "$(stat_of 0 drops.spoof_ip)" -eq 400 ] || die "IPv6 spoof not counted: spoof_ip $(stat_of 0 drops.spoof_ip)"
expect_received 0 --src-ip6 2600:1f18::10 --dst-ip6 2600:1f18::99
[ "$(stat_of 1 drops.dst_check)" -eq 400 ] || die "IPv6 dst check not counted: $(stat_of 1 drops.dst_check)"

# Off: VF0 may send for others (a NAT), VF1 may receive for others (a router).
ctl vf set 0 --src-dst-check off >/dev/null
expect_received 200 --src-ip 192.0.2.7 --dst-ip 10.0.1.11
ctl vf set 1 --src-dst-check off >/dev/null
expect_received 200 --src-ip 192.0.2.7 --dst-ip 198.51.100.9
ctl stats 1 | grep -q "dst_check 400" || die "venicctl stats does not show the dst_check drops"
assert_venicd_alive
log "PASS"
