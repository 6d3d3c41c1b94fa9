#!/usr/bin/env bash
# The multi-host harness itself (multihost/lib.sh), without venicd: three
# host namespaces on one bridge reach each other with 9100-byte frames
# (DF set) and reach etcd on the bridge's address (its v3 JSON gateway
# writes and reads); etcd stops and starts again on the same data and
# ports; netem (where the kernel has it) applies and clears; mh_impair loses
# and duplicates about the share asked; mh_vxlan_send's frames are taken by a
# kernel vxlan device.  A child run of the harness leaves no namespace, veth,
# bridge or process behind when it exits.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
[ -x "$ETCD" ] || skip "etcd-server is not installed (ci/install-deps)"

if [ "${1:-}" = --child ]; then
  mh_underlay
  mh_host a
  mh_etcd_start
  echo "$MH_BR ${MH_NS[a]} ${MH_VETH[a]} $ETCD_PID $WORK" >"$2"
  exit 0
fi

mh_underlay
mh_host A
mh_host B
mh_host C
mh_etcd_start
log "bridge $MH_BR $MH_NET.0/24, etcd $ETCD_URL; hosts ${MH_ADDR[A]} ${MH_ADDR[B]} ${MH_ADDR[C]}"

for h in A B C; do
  [ "$(in_ns "$h" cat /sys/class/net/ul0/mtu)" = 9100 ] || die "host $h's ul0 has MTU $(in_ns "$h" cat /sys/class/net/ul0/mtu)"
  in_ns "$h" curl -sf --max-time 3 "$ETCD_URL/health" | grep -q '"health":"true"' || die "host $h does not reach etcd"
done
# udp_reach FROM TO BYTES: a UDP datagram of BYTES payload, DF set, from host
# FROM's namespace arrives at TO's (no ping on CI machines: python's sockets).
udp_reach() {
  local port
  port=$(in_ns "$2" python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('', 0)); print(s.getsockname()[1])")
  ip netns exec "${MH_NS[$2]}" timeout 5 python3 -c "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('', $port)); s.settimeout(3)
try: d = s.recv(65535)
except OSError: sys.exit(1)
sys.exit(0 if len(d) == $3 else 1)" &
  local r=$!
  sleep 0.3
  for _ in 1 2 3; do
    in_ns "$1" python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER = IP_PMTUDISC_DO: DF, never fragment
try: s.sendto(b'x' * $3, ('${MH_ADDR[$2]}', $port))
except OSError: pass" 2>/dev/null
    sleep 0.1
  done
  wait "$r"
}
# 9072 bytes of UDP payload + 28 of headers = 9100: the underlay's MTU, unfragmented.
udp_reach A B 9072 || die "A cannot reach B with 9100-byte packets"
udp_reach C A 9072 || die "C cannot reach A with 9100-byte packets"
udp_reach A B 9073 && die "a packet over 9100 bytes crossed the underlay"

# etcd's v3 JSON gateway from a host namespace: a put, read back from another.
b64() { printf '%s' "$1" | base64 -w0; }
in_ns A curl -sf --max-time 3 -X POST "$ETCD_URL/v3/kv/put" \
  -d "{\"key\": \"$(b64 /mh/probe)\", \"value\": \"$(b64 hello)\"}" >/dev/null || die "put through etcd's gateway failed"
got=$(in_ns B curl -sf --max-time 3 -X POST "$ETCD_URL/v3/kv/range" -d "{\"key\": \"$(b64 /mh/probe)\"}" |
  json_get "__import__('base64').b64decode(j['kvs'][0]['value']).decode()")
[ "$got" = hello ] || die "B read '$got' from etcd"

# Stopped, etcd is unreachable; started again it has the same data.
mh_etcd_stop
in_ns A curl -sf --max-time 2 "$ETCD_URL/health" >/dev/null 2>&1 && die "etcd still answers after it was stopped"
mh_etcd_start
got=$(in_ns C curl -sf --max-time 3 -X POST "$ETCD_URL/v3/kv/range" -d "{\"key\": \"$(b64 /mh/probe)\"}" |
  json_get "__import__('base64').b64decode(j['kvs'][0]['value']).decode()")
[ "$got" = hello ] || die "after a restart etcd has '$got'"

if mh_has_netem; then
  mh_netem A "loss 100%"
  udp_reach A B 100 && die "netem loss 100% on A let a datagram through"
  mh_netem B "loss 1% duplicate 0.5% delay 1ms reorder 25% 50%"
  in_ns B tc qdisc show dev ul0 | grep -q "netem.*loss 1%" || die "netem was not applied: $(in_ns B tc qdisc show dev ul0)"
  mh_netem B off
  mh_netem A off
  udp_reach A B 100 || die "B is unreachable after netem was cleared"
else
  log "this kernel has no netem (CONFIG_NET_SCH_NETEM off): the netem helpers are not checked"
fi

# mh_impair (netem, or BPF filters where the kernel has no netem): about a
# third of 400 datagrams from A are lost, or a fifth arrive twice; none
# once it is off.
udp_count() { # FROM TO COUNT: how many of COUNT datagrams from FROM arrive at TO
  local port
  port=$(in_ns "$2" python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('', 0)); print(s.getsockname()[1])")
  ip netns exec "${MH_NS[$2]}" timeout 10 python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('', $port)); s.settimeout(1.5)
n = 0
try:
    while True: s.recv(2048); n += 1
except OSError: pass
print(n)" >"$WORK/udp_count.out" &
  local r=$!
  sleep 0.3
  in_ns "$1" python3 -c "
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range($3): s.sendto(b'x' * 64, ('${MH_ADDR[$2]}', $port)); time.sleep(0.0005)"
  wait "$r"
  cat "$WORK/udp_count.out"
}
mh_impair A 33 0
got=$(udp_count A B 400)
log "mh_impair A 33 0: $got of 400 datagrams arrived"
[ "$got" -ge 180 ] && [ "$got" -le 340 ] || die "with 33% loss, $got of 400 datagrams arrived"
mh_impair A 0 20
got=$(udp_count A B 400)
log "mh_impair A 0 20: $got datagrams arrived for 400 sent"
[ "$got" -ge 430 ] && [ "$got" -le 560 ] || die "with 20% duplication, $got datagrams arrived for 400"
mh_impair A off
got=$(udp_count A B 200)
[ "$got" -eq 200 ] || die "with the impairments off, $got of 200 datagrams arrived"

# mh_vxlan_send's frames are standard VXLAN: a kernel vxlan device in C takes
# them and its UDP stack gets the inner datagram.
in_ns C ip link add vx0 type vxlan id 4242 local "${MH_ADDR[C]}" dstport 4789 nolearning dev ul0
in_ns C ip link set vx0 address 02:00:00:00:42:02 up
in_ns C ip addr add 10.42.0.2/24 dev vx0
ip netns exec "${MH_NS[C]}" timeout 8 python3 -c "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('10.42.0.2', 5001)); s.settimeout(6)
try: d = s.recv(2048)
except OSError: sys.exit(1)
sys.exit(0 if d.startswith(b'venic-spoof-') else 1)" &
vx_rx=$!
sleep 0.3
mh_vxlan_send A "${MH_ADDR[C]}" 4242 3 02:00:00:00:42:02 02:00:00:00:42:01 10.42.0.1 10.42.0.2
wait "$vx_rx" || die "the kernel's vxlan device did not take mh_vxlan_send's frames"

# A child run cleans up after itself.
bash "$0" --child "$WORK/child.names" >"$WORK/child.log" 2>&1 || die "the child harness failed: $(cat "$WORK/child.log")"
read -r c_br c_ns c_veth c_etcd c_work <"$WORK/child.names"
ip link show "$c_br" >/dev/null 2>&1 && die "the child's bridge $c_br is left"
ip link show "$c_veth" >/dev/null 2>&1 && die "the child's veth $c_veth is left"
ip netns list | grep -qw "$c_ns" && die "the child's namespace $c_ns is left"
kill -0 "$c_etcd" 2>/dev/null && die "the child's etcd ($c_etcd) still runs"
[ -e "$c_work" ] && die "the child's work dir $c_work is left"
log "PASS"
