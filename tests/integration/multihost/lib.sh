# shellcheck shell=bash
# Several venic hosts on one machine (issue 21, docs/multi-host.md), for the
# multihost_* tests; sourced after ../lib.sh.  Each host is a network
# namespace with a veth (ul0, MTU 9100) whose peer is on a Linux bridge of
# this test run; the kernel address on ul0 carries the control plane (etcd,
# the EC2 API), while the host's underlay address is answered by venicd's own
# net_af_packet port on ul0 and never configured on the kernel.  One etcd
# listens on the bridge's address.  Everything is torn down on exit: the
# processes by PID (lib.sh's cleanup), then the namespaces, veths and bridge.
#
#   mh_require_cluster        exit 77 (SKIP) unless venicd knows --etcd
#   mh_cluster HOST...        all of the below for a venicd per HOST
#   mh_underlay               the bridge and its subnet ($MH_NET.0/24)
#   mh_host NAME              a namespace on the bridge: MH_NS/MH_ADDR/MH_UL/MH_MAC[NAME]
#   mh_etcd_start / mh_etcd_stop
#   mh_venicd NAME [ARGS]     venicd for host NAME in its namespace, ready (again after mh_kill)
#   mh_ctl NAME ARGS          venicctl against NAME's venicd
#   mh_ec2 NAME ARGS          Debian's aws CLI ec2 against NAME's EC2 endpoint (JSON)
#   mh_network / mh_instance  a VPC, subnet and group; an instance placed on a host
#   mh_vf NAME MAC            the VF a host made for an ENI (by its MAC)
#   mh_send / mh_recv / mh_reach / mh_listen   venic-traffic between hosts' VFs
#   mh_vxlan_send, mh_kernel_ping              raw VXLAN and ICMP from a namespace's kernel
#   mh_netem NAME SPEC        tc netem on NAME's ul0 (mh_netem NAME off: none; mh_has_netem)
#   mh_impair NAME LOSS DUP   random loss and duplication on NAME's ul0, with or without netem

MH_ENCAP=vxlan # what the kernel peers of these tests speak (CI kernels lack geneve)
MH_SKIP=77 # tests/integration/multihost/CMakeLists.txt: SKIP_RETURN_CODE
AWS=/usr/bin/aws # Debian's aws CLI, not a pyenv shim
ETCD=/usr/bin/etcd

declare -A MH_NS MH_ADDR MH_UL MH_MAC MH_VETH MH_SOCK MH_PORT MH_PID MH_ARGS
MH_HOSTS=()
MH_BR=''
MH_NET=''
MH_IDX=0
ETCD_PID=''
ETCD_URL=''

skip() {
  echo "[$TEST_NAME] SKIP: $*"
  exit "$MH_SKIP"
}

# The cluster flags (--etcd, --venic-host, --underlay-ip, --uplink) come with
# the multi-host venicd; before it, these tests have nothing to drive.
mh_require_cluster() {
  "$VENICD" --help 2>&1 | grep -q -- '--etcd' || skip "this venicd has no --etcd (multi-host venicd not built)"
  [ -x "$ETCD" ] || skip "etcd-server is not installed (ci/install-deps)"
  [ -x "$AWS" ] || skip "Debian's awscli is not installed (ci/install-deps)"
}

mh_teardown() {
  local ns pid
  # Anything still inside our namespaces was started by this test.
  for ns in "${MH_NS[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  done
  for ns in "${MH_NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  local v
  for v in "${MH_VETH[@]}"; do ip link del "$v" 2>/dev/null || true; done
  [ -z "$MH_BR" ] || ip link del "$MH_BR" 2>/dev/null || true
}
trap 'cleanup; mh_teardown' EXIT

free_port() { # ADDR: a TCP port nobody listens on there
  python3 -c "import socket,sys; s=socket.socket(); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])" "$1"
}

# A /24 in 100.88.0.0/16 that no interface here uses yet (several test runs
# may overlap on one machine).
mh_underlay() {
  local x=$(($$ % 250))
  for _ in $(seq 250); do
    ip -4 -o addr | grep -q " 100\.88\.$x\." || break
    x=$(((x + 1) % 250))
  done
  MH_NET=100.88.$x
  MH_BR=vmhbr$$
  ip link add "$MH_BR" type bridge
  ip link set "$MH_BR" mtu 9100
  ip addr add "$MH_NET.1/24" dev "$MH_BR"
  ip link set "$MH_BR" up
}

# mh_host NAME: a namespace on the bridge; its kernel address $MH_NET.(10+i)
# (control plane), its underlay address $MH_NET.(100+i) (venicd's uplink).
mh_host() {
  local name=$1 ns="vmh$$-$1" veth="vmh$$${1:0:4}"
  MH_IDX=$((MH_IDX + 1))
  ip netns add "$ns"
  MH_NS[$name]=$ns
  ip link add "$veth" mtu 9100 type veth peer name ul0 mtu 9100 netns "$ns"
  MH_VETH[$name]=$veth
  ip link set "$veth" master "$MH_BR" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$MH_NET.$((10 + MH_IDX))/24" dev ul0
  ip -n "$ns" link set ul0 up
  # No IPv6 chatter (router solicitations, MLD) on the underlay.
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  MH_ADDR[$name]=$MH_NET.$((10 + MH_IDX))
  MH_UL[$name]=$MH_NET.$((100 + MH_IDX))
  # shellcheck disable=SC2034 # the tests read MH_MAC
  MH_MAC[$name]=$(ip -n "$ns" -j link show ul0 | json_get "j[0]['address']")
  MH_SOCK[$name]=$WORK/$name.sock
  MH_HOSTS+=("$name")
}

# in_ns NAME CMD...: CMD in host NAME's namespace (in the foreground: in the
# background, $! would be a subshell's PID).
in_ns() {
  local ns=${MH_NS[$1]}
  shift
  ip netns exec "$ns" "$@"
}

# ---- etcd, on the bridge's address (every namespace reaches it)

mh_etcd_start() {
  if [ -z "$ETCD_URL" ]; then
    ETCD_URL=http://$MH_NET.1:$(free_port "$MH_NET.1")
    ETCD_PEER=http://127.0.0.1:$(free_port 127.0.0.1)
  fi
  "$ETCD" --name mh --data-dir "$WORK/etcd" --listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
    --listen-peer-urls "$ETCD_PEER" --initial-advertise-peer-urls "$ETCD_PEER" --initial-cluster "mh=$ETCD_PEER" \
    >>"$WORK/etcd.log" 2>&1 &
  ETCD_PID=$!
  PIDS+=("$ETCD_PID")
  for _ in $(seq 100); do
    curl -sf --max-time 1 "$ETCD_URL/health" 2>/dev/null | grep -q '"health":"true"' && return 0
    kill -0 "$ETCD_PID" 2>/dev/null || die "etcd exited at start"
    sleep 0.1
  done
  die "etcd did not come up on $ETCD_URL"
}

mh_etcd_stop() {
  kill -TERM "$ETCD_PID" 2>/dev/null || true
  wait "$ETCD_PID" 2>/dev/null || true
}

# ---- venicd per host

KEYS=$WORK/ec2-keys
printf 'AKIDVENICMULTIHOST01 venic-multihost-secret 0\n' >"$KEYS"
chmod 0600 "$KEYS"
export AWS_ACCESS_KEY_ID=AKIDVENICMULTIHOST01 AWS_SECRET_ACCESS_KEY=venic-multihost-secret AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

# mh_venicd NAME [ARGS]: venicd for host NAME inside its namespace, a member
# of the cluster in etcd, its uplink on ul0; returns once it serves.  A second
# call (after mh_kill) restarts it with the same arguments and state.
mh_venicd() {
  local name=$1
  shift
  [ $# -eq 0 ] || MH_ARGS[$name]="$*"
  [ -n "${MH_PORT[$name]:-}" ] || MH_PORT[$name]=$(in_ns "$name" python3 -c \
    "import socket,sys; s=socket.socket(); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])" "${MH_ADDR[$name]}")
  local log=$WORK/$name.venicd.log n0
  # "serving" lines before this start (a restart appends to the same log);
  # counted before venicd runs, and 0 when there is no log yet.
  n0=$(grep -c "serving" "$log" 2>/dev/null) || true
  n0=${n0:-0}
  # shellcheck disable=SC2086 # MH_ARGS holds separate words
  # `ip netns exec` itself, not in_ns: it execs venicd, so $! is venicd's PID
  # (a function in the background is a subshell, which signals do not pass).
  ip netns exec "${MH_NS[$name]}" "$VENICD" --socket "${MH_SOCK[$name]}" --state "$WORK/$name.state.json" --workers 1 \
    --etcd "$ETCD_URL" --venic-host "$name" --underlay-ip "${MH_UL[$name]}" --uplink ul0 --underlay "$MH_ENCAP" \
    --ec2-api "${MH_ADDR[$name]}:${MH_PORT[$name]}" --ec2-access-keys "$KEYS" ${MH_ARGS[$name]:-} \
    -- --lcores "0@(0,1),1@(0,1)" --no-pci --no-huge -m 256 --no-shconf --file-prefix "vmh$$$name" --no-telemetry \
    --log-level=lib.eal:warning >>"$log" 2>&1 &
  MH_PID[$name]=$!
  PIDS+=("$!")
  local n
  for _ in $(seq 300); do
    n=$(grep -c "serving" "$log" 2>/dev/null) || true
    [ -S "${MH_SOCK[$name]}" ] && [ "${n:-0}" -gt "$n0" ] && return 0
    kill -0 "${MH_PID[$name]}" 2>/dev/null || die "venicd of host $name exited at start"
    sleep 0.1
  done
  die "venicd of host $name did not come up"
}

mh_kill() { # NAME [SIGNAL]: signals NAME's venicd (default KILL) and reaps it
  kill "-${2:-KILL}" "${MH_PID[$1]}" 2>/dev/null || true
  wait "${MH_PID[$1]}" 2>/dev/null || true
}

mh_alive() { kill -0 "${MH_PID[$1]}" 2>/dev/null || die "venicd of host $1 died"; }

mh_ctl() {
  local name=$1
  shift
  "$VENICCTL" --socket "${MH_SOCK[$name]}" "$@"
}

mh_endpoint() { echo "http://${MH_ADDR[$1]}:${MH_PORT[$1]}"; }

# mh_ec2 NAME ARGS: aws ec2 ARGS against NAME's endpoint, JSON out; the
# test fails when it does (mh_ec2_try: the caller decides).
mh_ec2_try() {
  local name=$1
  shift
  "$AWS" --endpoint-url "$(mh_endpoint "$name")" --cli-read-timeout 20 --cli-connect-timeout 5 ec2 "$@" --output json
}
mh_ec2() { mh_ec2_try "$@" || die "aws ec2 $2 (via $1) failed"; }

# mh_wait_cluster NAME COUNT: NAME's venicd lists COUNT hosts.
mh_wait_cluster() {
  for _ in $(seq 100); do
    [ "$(mh_ctl "$1" cluster --json 2>/dev/null | json_get "len(j['hosts'])" 2>/dev/null)" = "$2" ] && return 0
    sleep 0.1
  done
  die "host $1 does not list $2 hosts: $(mh_ctl "$1" cluster 2>&1)"
}

# mh_vni NAME VPC: the VPC's VNI as NAME's venicd knows it.
mh_vni() {
  mh_ctl "$1" cluster --json | json_get "[v['vni'] for v in j['vpcs'] if v['id'] == '$2'][0]"
}

# mh_network NAME CIDR SUBNET-CIDR: "VPC SUBNET SG" made through NAME's
# endpoint; the group admits everything from itself.
mh_network() {
  local vpc subnet sg
  vpc=$(mh_ec2 "$1" create-vpc --cidr-block "$2" | json_get "j['Vpc']['VpcId']")
  subnet=$(mh_ec2 "$1" create-subnet --vpc-id "$vpc" --cidr-block "$3" --availability-zone us-east-1a |
    json_get "j['Subnet']['SubnetId']")
  sg=$(mh_ec2 "$1" create-security-group --group-name "mh-$RANDOM" --description "the cluster" --vpc-id "$vpc" |
    json_get "j['GroupId']")
  mh_ec2 "$1" authorize-security-group-ingress --group-id "$sg" --protocol all --source-group "$sg" >/dev/null
  echo "$vpc $subnet $sg"
}

# mh_instance VIA HOST SUBNET SG [IP]: runs a c5n.18xlarge (100 Gbit/s: no
# bandwidth allowance in the way) on venic host HOST, through VIA's endpoint;
# prints "INSTANCE ENI MAC IP".
mh_instance() {
  mh_ec2 "$1" run-instances --instance-type c5n.18xlarge --subnet-id "$3" --security-group-ids "$4" \
    --placement "HostId=$2" ${5:+--private-ip-address "$5"} |
    json_get "(lambda i, n: ' '.join((i['InstanceId'], n['NetworkInterfaceId'], n['MacAddress'], n['PrivateIpAddress'])))(j['Instances'][0], j['Instances'][0]['NetworkInterfaces'][0])"
}

# mh_vf NAME MAC: the VF on host NAME with MAC, once NAME's venicd made it
# (it learns the model from etcd's watch); fails the test after 10 s.
mh_vf() {
  local vf
  for _ in $(seq 100); do
    vf=$(mh_ctl "$1" vf list --json 2>/dev/null |
      json_get "next((str(v['id']) for v in j['vfs'] if v['mac'].lower() == '${2,,}'), '')" 2>/dev/null || true)
    [ -n "$vf" ] && { echo "$vf"; return 0; }
    sleep 0.1
  done
  die "host $1 has no VF with MAC $2: $(mh_ctl "$1" vf list 2>&1)"
}

# mh_no_vf NAME MAC: host NAME has no VF with MAC (it is another host's).
mh_no_vf() {
  [ "$(mh_ctl "$1" vf list --json | json_get "sum(1 for v in j['vfs'] if v['mac'].lower() == '${2,,}')")" = 0 ]
}

# mh_stat NAME VF FIELD: a VF counter (drops.X for drop reasons) on host NAME.
mh_stat() {
  mh_ctl "$1" stats "$2" --json | json_get "(lambda v: v$(echo ".$3" | sed -E 's/\.([a-z_0-9]+)/["\1"]/g'))(j['vfs'][0])"
}

# mh_counter_sum NAME REGEX [SOURCES]: the sum of every number anywhere in
# NAME's `venicctl SOURCE --json` (default: info and cluster) whose key path
# matches REGEX, e.g. '(uplink|underlay).*(drop|miss|err)': the uplink's
# counters, wherever the daemon puts them.
mh_counter_sum() {
  local src
  for src in ${3:-info cluster}; do mh_ctl "$1" "$src" --json; echo; done | python3 -c '
import json, re, sys
rx = re.compile(sys.argv[1], re.I)
def walk(v, path):
    if isinstance(v, bool): return 0
    if isinstance(v, (int, float)): return v if rx.search(path) else 0
    if isinstance(v, dict): return sum(walk(x, path + "." + k) for k, x in v.items())
    if isinstance(v, list): return sum(walk(x, path) for x in v)
    return 0
dec, text, total, i = json.JSONDecoder(), sys.stdin.read(), 0, 0
while i < len(text):
    while i < len(text) and text[i].isspace(): i += 1
    if i >= len(text): break
    try:
        obj, i = dec.raw_decode(text, i)
    except ValueError:  # not JSON (an error message): skip the line
        i = text.find("\n", i) + 1 or len(text)
        continue
    total += walk(obj, "")
print(int(total))' "$2"
}

# mh_has_netem: the kernel has tc's netem (CONFIG_NET_SCH_NETEM; some CI
# kernels are built without it: tests then skip their netem parts, and say so).
mh_has_netem() {
  [ -e /proc/config.gz ] && ! zcat /proc/config.gz | grep -qE '^CONFIG_NET_SCH_NETEM=(y|m)' && return 1
  modprobe -q sch_netem 2>/dev/null || true
  local ns=vmh$$-netemprobe ok=0
  ip netns add "$ns" && ip -n "$ns" link add d0 type veth peer name d1 &&
    ip netns exec "$ns" tc qdisc add dev d0 root netem loss 1% 2>/dev/null && ok=1
  ip netns del "$ns" 2>/dev/null || true
  [ "$ok" = 1 ]
}

# mh_netem NAME SPEC|off: netem on host NAME's ul0 (both directions of its
# traffic pass it: it is the host's only way to the others), e.g.
#   mh_netem B "loss 1% duplicate 0.5% delay 1ms reorder 25% 50%"
mh_netem() {
  local name=$1
  shift
  if [ "$1" = off ]; then
    in_ns "$name" tc qdisc del dev ul0 root 2>/dev/null || true
  else
    # shellcheck disable=SC2068 # SPEC is netem's words
    in_ns "$name" tc qdisc replace dev ul0 root netem $@
  fi
}

# mh_impair NAME LOSS DUP | mh_impair NAME off: drops LOSS percent of what
# host NAME sends on ul0 and sends DUP percent twice, at random: with netem
# where the kernel has it (add reordering with mh_netem there), else with
# classic BPF filters on ul0's egress (their random number against a
# threshold): a match is mirrored to ul0 again (a duplicate), or redirected
# to a veth whose peer is down, where it vanishes (a loss).  Without netem
# there is no reordering.
mh_impair() {
  local name=$1 loss=${2:-0} dup=${3:-0}
  if mh_has_netem; then
    if [ "$loss" = off ]; then mh_netem "$name" off; else mh_netem "$name" "loss $loss% duplicate $dup%"; fi
    return
  fi
  in_ns "$name" tc qdisc del dev ul0 clsact 2>/dev/null || true
  [ "$loss" != off ] || return 0
  in_ns "$name" ip link show blackhole0 >/dev/null 2>&1 || {
    in_ns "$name" ip link add blackhole0 type veth peer name blackhole1
    in_ns "$name" ip link set blackhole0 up
  }
  in_ns "$name" tc qdisc add dev ul0 clsact
  # ld rand; jge threshold -> ret 0 (no match); else ret -1 (match: the action)
  random_below() { echo "4,32 0 0 4294963256,53 0 1 $(python3 -c "print(int($1 / 100 * 4294967296))"),6 0 0 0,6 0 0 4294967295"; }
  in_ns "$name" tc filter add dev ul0 egress pref 10 bpf bytecode "$(random_below "$dup")" action mirred egress mirror dev ul0
  in_ns "$name" tc filter add dev ul0 egress pref 20 bpf bytecode "$(random_below "$loss")" \
    action mirred egress redirect dev blackhole0
}

# mh_testpmd_start LABEL HOST VF -- TESTPMD-ARGS: testpmd on HOST's VF (the
# PMD reaches venicd by its socket path; no namespace needed), as lib.sh's.
mh_testpmd_start() {
  local label=$1 host=$2 vf=$3
  shift 4
  local saved=$SOCK
  SOCK=${MH_SOCK[$host]}
  testpmd_start "$label" "$vf" "${EAL_COPY[@]}" -- "$@"
  SOCK=$saved
}

# mh_cluster HOST...: the underlay, etcd, and a venicd per HOST (each knows
# them all); skips (77) without the multi-host venicd.
mh_cluster() {
  mh_require_cluster
  mh_underlay
  local h
  for h in "$@"; do mh_host "$h"; done
  mh_etcd_start
  for h in "$@"; do mh_venicd "$h"; done
  for h in "$@"; do mh_wait_cluster "$h" $#; done
  log "hosts: $(for h in "$@"; do printf '%s (ctl %s, underlay %s) ' "$h" "${MH_ADDR[$h]}" "${MH_UL[$h]}"; done)"
}

# mh_recv LABEL HOST VF COUNT [ARGS]: venic-traffic recv on HOST's VF in the
# background (output $WORK/LABEL.out), returned once the VF's queues are
# started; mh_recv_wait LABEL: its verdict (fails the test unless every frame
# came, intact).
mh_recv() {
  local label=$1 host=$2 vf=$3 count=$4
  shift 4
  "$TRAFFIC" --socket "${MH_SOCK[$host]}" --vf "$vf" recv --count "$count" --timeout 20 "$@" >"$WORK/$label.out" 2>&1 &
  PIDS+=("$!")
  eval "MH_RECV_${label}=$!"
  for _ in $(seq 50); do
    [ "$(mh_ctl "$host" vf show "$vf" --json | json_get "j['started']")" = True ] && return 0
    sleep 0.1
  done
  die "$label: the receiver on host $host VF $vf did not start"
}
mh_recv_wait() {
  local pid_var="MH_RECV_$1"
  wait "${!pid_var}" || die "$1: not every frame arrived intact: $(cat "$WORK/$1.out")"
  log "$1: $(cat "$WORK/$1.out")"
}

# mh_send HOST VF DST-MAC SRC-IP DST-IP COUNT [ARGS]: COUNT verifiable UDP
# frames (one flow) from HOST's VF, paced (default 5000/s: no queue overflows
# anywhere, so every frame must arrive).
mh_send() {
  local host=$1 vf=$2 mac=$3 src=$4 dst=$5 count=$6
  shift 6
  local pace=(--pps 5000) # (an option given twice is refused)
  [[ " $* " != *" --pps "* ]] || pace=()
  "$TRAFFIC" --socket "${MH_SOCK[$host]}" --vf "$vf" send --dst-mac "$mac" --udp-flows 1 --src-ip "$src" --dst-ip "$dst" \
    --count "$count" "${pace[@]}" "$@" >>"$WORK/send.out" 2>&1 || die "send from host $host VF $vf failed: $(tail -2 "$WORK/send.out")"
}

# mh_drops HOST VF: the sum of the VF's drop counters.
mh_drops() { mh_ctl "$1" stats "$2" --json | json_get "sum(j['vfs'][0].get('drops', {}).values())"; }

# mh_host_mac VIA HOST: HOST's uplink MAC as VIA's `venicctl cluster` lists it.
mh_host_mac() {
  mh_ctl "$1" cluster --json | json_get "[h['mac'] for h in j['hosts'] if h['name'] == '$2'][0]"
}

# mh_vxlan_send NS-HOST DST-IP VNI COUNT DST-MAC SRC-MAC SRC-IP INNER-DST-IP:
# COUNT VXLAN datagrams from host NS-HOST's kernel address (its own UDP
# socket) to DST-IP:4789, each an Ethernet/IPv4/UDP frame SRC -> DST inside.
mh_vxlan_send() {
  in_ns "$1" python3 - "$2" "$3" "$4" "$5" "$6" "$7" "$8" <<'PY'
import socket, struct, sys
dst, vni, count, dmac, smac, sip, dip = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:8]
mac = lambda m: bytes(int(x, 16) for x in m.split(":"))
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(count):
    payload = b"venic-spoof-%06d" % i + bytes(30)
    udp = struct.pack("!HHHH", 40000, 5001, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0,
                     socket.inet_aton(sip), socket.inet_aton(dip))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    frame = mac(dmac) + mac(smac) + b"\x08\x00" + ip + udp
    s.sendto(struct.pack("!B3xI", 0x08, vni << 8) + frame, (dst, 4789))
PY
}

# mh_kernel_ping HOST DST COUNT: ICMP echo from host HOST's kernel (a raw
# socket: CI machines have no ping); prints {"sent", "received"}, exit 0 when
# every request was answered.
mh_kernel_ping() {
  in_ns "$1" python3 - "$2" "$3" <<'PY'
import os, socket, struct, sys, time
dst, count = sys.argv[1], int(sys.argv[2])
def csum(b):
    b += b"\0" * (len(b) % 2)
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(0.2)
ident, got = os.getpid() & 0xFFFF, set()
for seq in range(count):
    body = struct.pack("!HH", ident, seq) + b"venic-kernel-ping" + bytes(39)
    s.sendto(struct.pack("!BBH", 8, 0, csum(b"\x08\x00\x00\x00" + body)) + body, (dst, 0))
    deadline = time.time() + (3 if seq == count - 1 else 0.3)
    while time.time() < deadline and len(got) <= seq:
        try: d, a = s.recvfrom(4096)
        except socket.timeout: continue
        ihl = (d[0] & 0xF) * 4
        t, _, _, i, q = struct.unpack("!BBHHH", d[ihl:ihl + 8])
        if t == 0 and i == ident and a[0] == dst: got.add(q)
print('{"sent": %d, "received": %d}' % (count, len(got)))
sys.exit(0 if len(got) == count else 1)
PY
}

# mh_listen HOST VF: a driver on HOST's VF that takes what arrives (venicd
# drops frames for a VF nobody drives as rx_down, before any other check);
# mh_listen_stop: stops it and waits until venicd saw it go.
mh_listen() {
  "$TRAFFIC" --socket "${MH_SOCK[$1]}" --vf "$2" recv --count 100000000 --timeout 120 >"$WORK/listen.out" 2>&1 &
  MH_LISTEN=("$!" "$1" "$2")
  PIDS+=("$!")
  for _ in $(seq 50); do
    [ "$(mh_ctl "$1" vf show "$2" --json | json_get "j['started']")" = True ] && return 0
    sleep 0.1
  done
  die "the listener on host $1 VF $2 did not start"
}
mh_listen_stop() {
  kill -TERM "${MH_LISTEN[0]}" 2>/dev/null || true
  wait "${MH_LISTEN[0]}" 2>/dev/null || true
  for _ in $(seq 50); do
    [ "$(mh_ctl "${MH_LISTEN[1]}" vf show "${MH_LISTEN[2]}" --json | json_get "j['attached']")" = False ] && return 0
    sleep 0.1
  done
  die "host ${MH_LISTEN[1]}'s VF ${MH_LISTEN[2]} stayed attached after its listener exited"
}

# mh_reach SRC-HOST SRC-VF DST-HOST DST-VF DST-MAC SRC-IP DST-IP: waits (10 s
# at most) until frames from the source VF reach the destination VF: each
# host learns the other's ENIs from etcd's watch, a moment after the ENI
# exists.  The exact checks come after.
mh_reach() {
  local rx0
  mh_listen "$3" "$4"
  rx0=$(mh_stat "$3" "$4" rx_pkts)
  for _ in $(seq 50); do
    mh_send "$1" "$2" "$5" "$6" "$7" 5
    sleep 0.2
    if [ "$(mh_stat "$3" "$4" rx_pkts)" -gt "$rx0" ]; then
      mh_listen_stop
      return 0
    fi
  done
  die "frames from host $1 VF $2 never reached host $3 VF $4 ($6 -> $7): $(mh_ctl "$1" stats "$2")"
}

# mh_efa_pair: one VPC, an EFA group that admits itself both ways, and an EFA
# instance on host A (10.0.1.10) and one on host B (10.0.1.11); sets inst_a,
# mac_a, vf_a, inst_b, mac_b, vf_b (the VFs on each host's venicd).
mh_efa_pair() {
  local vpc subnet efa_sg
  read -r vpc subnet _ < <(mh_network A 10.0.0.0/16 10.0.1.0/24)
  efa_sg=$(mh_ec2 A create-security-group --group-name "efa-$RANDOM" --description "EFA OS bypass" --vpc-id "$vpc" |
    json_get "j['GroupId']")
  mh_ec2 A authorize-security-group-ingress --group-id "$efa_sg" --protocol all --source-group "$efa_sg" >/dev/null
  mh_ec2 A authorize-security-group-egress --group-id "$efa_sg" --protocol all --source-group "$efa_sg" >/dev/null
  # (The aws CLI has no NetworkInterfaceType: venicctl, with the placement as JSON.)
  efa_instance() { # HOST IP -> "INSTANCE MAC"
    mh_ctl A run-instances --instance-type c5n.18xlarge --subnet-id "$subnet" --security-group-ids "$efa_sg" \
      --private-ip-address "$2" --network-interface-type efa --placement "{\"HostId\": \"$1\"}" |
      json_get "(lambda i: i['InstanceId'] + ' ' + i['NetworkInterfaces'][0]['MacAddress'])(j['Instances'][0])" ||
      die "venicctl run-instances (EFA, on host $1) failed"
  }
  read -r inst_a mac_a < <(efa_instance A 10.0.1.10)
  read -r inst_b mac_b < <(efa_instance B 10.0.1.11)
  vf_a=$(mh_vf A "$mac_a")
  vf_b=$(mh_vf B "$mac_b")
  log "$inst_a on A (EFA VF $vf_a), $inst_b on B (EFA VF $vf_b)"
}
