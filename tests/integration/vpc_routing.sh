#!/usr/bin/env bash
# The VPC's mapping service and implied router, over real drivers.  One VPC,
# two subnets: A (10.0.1.10) and C (10.0.1.11) in 10.0.1.0/24, B (10.0.2.20)
# in 10.0.2.0/24.  venic-traffic on A asks and sends; C and B receive.
# - ARP for C and for the gateway 10.0.1.1 is answered by venicd (C's MAC,
#   the router's MAC); ARP for B (another subnet) and for a free address is
#   not answered, and C never sees any of A's requests: nothing is flooded.
# - UDP from A to B through the router's MAC arrives intact at B with the
#   router's source MAC and TTL 63; with TTL 1 it is dropped (ttl_expired);
#   sent straight to B's MAC from the other subnet it has no route.
# - A broadcast from A reaches no one and is counted (not_flooded).
# - IPv6: a neighbour solicitation for B's IPv6 address is answered with B's
#   MAC; UDP over IPv6 through the router reaches B with hop limit 63.
# - ICMP echo: A pings B through the router and B (venic-traffic
#   answer-ping) answers every request.
source "$(dirname "$0")/lib.sh"
start_venicd

vpc=$(new_vpc 10.0.0.0/16 2600:1f18:aa:b00::/56)
s1=$(new_subnet "$vpc" 10.0.1.0/24)
s2=$(new_subnet "$vpc" 10.0.2.0/24)
run() { # SUBNET IP: prints "VF MAC ENI"
  ec2 run-instances --instance-type m5.large --subnet-id "$1" --private-ip-address "$2" |
    field "(lambda n: f\"{n['VenicVfId']} {n['MacAddress']} {n['NetworkInterfaceId']}\")(j['Instances'][0]['NetworkInterfaces'][0])"
}
read -r vf_a mac_a eni_a < <(run "$s1" 10.0.1.10)
read -r vf_c mac_c _ < <(run "$s1" 10.0.1.11)
read -r vf_b mac_b eni_b < <(run "$s2" 10.0.2.20)
ec2 assign-ipv6-addresses --network-interface-id "$eni_a" --ipv6-addresses 2600:1f18:aa:b01::10 >/dev/null
ec2 assign-ipv6-addresses --network-interface-id "$eni_b" --ipv6-addresses 2600:1f18:aa:b02::20 >/dev/null
log "A: VF $vf_a $mac_a; C: VF $vf_c $mac_c; B: VF $vf_b $mac_b"
router=02:76:70:63:00:01

# C listens the whole time: it must get nothing of what A asks or broadcasts.
"$TRAFFIC" --socket "$SOCK" --vf "$vf_c" recv --count 1 --timeout 6 >"$WORK/c.out" &
c_pid=$!
PIDS+=("$c_pid")
for _ in $(seq 50); do [ "$(ctl vf show "$vf_c" --json | json_get "j['started']")" = True ] && break; sleep 0.1; done

resolve() { # TARGET [flags]: the MAC venicd answered with, or "None"
  local target=$1
  shift
  "$TRAFFIC" --socket "$SOCK" --vf "$vf_a" resolve --target "$target" --src-ip 10.0.1.10 --timeout 1 "$@" |
    json_get "j['mac']" || true
}
[ "$(resolve 10.0.1.11)" = "$mac_c" ] || die "ARP for C (10.0.1.11) was not answered with C's MAC"
[ "$(resolve 10.0.1.1)" = "$router" ] || die "ARP for the gateway was not answered with the router's MAC"
[ "$(resolve 10.0.2.20)" = None ] || die "ARP for B, in another subnet, was answered"
[ "$(resolve 10.0.1.99)" = None ] || die "ARP for a free address was answered"
[ "$(resolve 2600:1f18:aa:b02::20 --src-ip6 2600:1f18:aa:b01::10)" = "$mac_b" ] ||
  die "the neighbour solicitation for B's IPv6 address was not answered with B's MAC"
[ "$(resolve fe80::99)" = None ] || die "a solicitation for an unknown address was answered"
not_flooded=$(stat_of "$vf_a" drops.not_flooded)
[ "$not_flooded" -eq 3 ] || die "A counted $not_flooded unanswered requests, not 3"
# (IPv4 UDP broadcasts: a frame of another ethertype stops earlier, as ethertype.)
"$TRAFFIC" --socket "$SOCK" --vf "$vf_a" send --dst-mac ff:ff:ff:ff:ff:ff --count 5 --size 128 --flows 1 \
  --src-ip 10.0.1.10 --dst-ip 10.0.1.255 >/dev/null || die "broadcast send failed"
[ "$(stat_of "$vf_a" drops.not_flooded)" -eq 8 ] || die "A's broadcasts were not counted as not flooded"
wait "$c_pid" && die "C received something A asked or broadcast: $(cat "$WORK/c.out")"
log "C heard nothing: $(cat "$WORK/c.out")"

to_b() { # LABEL RECV-FLAGS -- SEND-FLAGS: frames B received of 50
  local label=$1 recv_flags=() send_flags=()
  shift
  while [ "$1" != -- ]; do recv_flags+=("$1"); shift; done
  shift
  send_flags=("$@")
  "$TRAFFIC" --socket "$SOCK" --vf "$vf_b" recv --count 50 --timeout 3 --idle 1 "${recv_flags[@]}" >"$WORK/b.out" &
  local r=$!
  PIDS+=("$r")
  for _ in $(seq 50); do [ "$(ctl vf show "$vf_b" --json | json_get "j['started']")" = True ] && break; sleep 0.1; done
  "$TRAFFIC" --socket "$SOCK" --vf "$vf_a" send --count 50 --size 256 --flows 2 "${send_flags[@]}" >/dev/null ||
    die "$label: send from A failed"
  wait "$r" || true
  log "$label: $(cat "$WORK/b.out")" >&2
  json_get "j['received'] if j['bad'] == 0 else -1" <"$WORK/b.out"
}
v4=(--src-ip 10.0.1.10 --dst-ip 10.0.2.20)
got=$(to_b "routed" --expect-src-mac "$router" --expect-ttl 63 -- --dst-mac "$router" "${v4[@]}")
[ "$got" -eq 50 ] || die "routed to B: $got of 50 arrived with the router's MAC and TTL 63"
got=$(to_b "TTL 1" -- --dst-mac "$router" "${v4[@]}" --ttl 1)
[ "$got" -eq 0 ] || die "$got frames with TTL 1 were routed"
[ "$(stat_of "$vf_a" drops.ttl_expired)" -eq 50 ] || die "A did not count 50 ttl_expired drops"
before=$(stat_of "$vf_a" drops.no_route)
got=$(to_b "straight to B's MAC" -- --dst-mac "$mac_b" "${v4[@]}")
[ "$got" -eq 0 ] || die "$got frames crossed subnets without the router"
[ "$(($(stat_of "$vf_a" drops.no_route) - before))" -eq 50 ] || die "A did not count 50 no_route drops"
got=$(to_b "routed IPv6" --expect-src-mac "$router" --expect-ttl 63 -- --dst-mac "$router" \
  --src-ip6 2600:1f18:aa:b01::10 --dst-ip6 2600:1f18:aa:b02::20)
[ "$got" -eq 50 ] || { ctl stats "$vf_a" >&2; ctl stats "$vf_b" >&2; die "routed over IPv6 to B: $got of 50 arrived with the router's MAC and hop limit 63"; }

# ICMP echo across the router, as hosts do it: B answers A's pings.
"$TRAFFIC" --socket "$SOCK" --vf "$vf_b" answer-ping --ip 10.0.2.20 --count 5 --seconds 20 >"$WORK/answer.out" &
answer_pid=$!
PIDS+=("$answer_pid")
for _ in $(seq 50); do [ "$(ctl vf show "$vf_b" --json | json_get "j['started']")" = True ] && break; sleep 0.1; done
"$TRAFFIC" --socket "$SOCK" --vf "$vf_a" ping --src-ip 10.0.1.10 --dst-ip 10.0.2.20 --count 5 --interval-ms 20 \
  --timeout 10 >"$WORK/ping.out" || die "A's pings to B were not all answered: $(cat "$WORK/ping.out")"
[ "$(json_get "j['from']" <"$WORK/ping.out")" = 10.0.2.20 ] || die "the echo replies did not come from B"
wait "$answer_pid" || die "B's answer-ping failed: $(cat "$WORK/answer.out")"
log "ping: $(cat "$WORK/ping.out")"
assert_venicd_alive
log "PASS"
