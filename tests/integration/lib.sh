# Shared helpers for venic's integration tests (sourced by each test).
# Each test gets a private directory, its own venicd, and kills only the
# processes it started, by PID, on exit.
set -euo pipefail

BUILD=${VENIC_BUILD:?VENIC_BUILD must point at the build directory}
VENICD=$BUILD/emulator/venicd
VENICCTL=$BUILD/tools/venicctl/venicctl
TRAFFIC=$BUILD/tools/venic-traffic/venic-traffic
TEST_NAME=$(basename "$0" .sh)

# EAL refuses -d on a path under a world-writable directory (/tmp): work
# under /run, which is root's.
WORK=$(mktemp -d "/run/venic-test.$TEST_NAME.XXXXXX")
chmod 0755 "$WORK"
cp "$BUILD/pmd/librte_net_vena.so" "$WORK/"
PMD=$WORK/librte_net_vena.so
SOCK=$WORK/venicd.sock
STATE=$WORK/state.json
PIDS=()

log() { echo "[$TEST_NAME] $*"; }
die() {
  echo "[$TEST_NAME] FAIL: $*" >&2
  for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 25 "$f" >&2; }; done
  exit 1
}

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  # The daemon names requests that took over a second, and why: worth seeing
  # even when the test passed (ci/test prints the file after the run).
  grep -h "slow request" "$WORK"/*.log 2>/dev/null | sed "s/^/[$TEST_NAME] /" >>"$BUILD/venicd-slow-requests.log" || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# start_venicd [extra venicd args...]: starts the daemon with $WORKERS (1)
# poll-mode workers, waits for its socket.
start_venicd() {
  local workers=${WORKERS:-1} lcores="0@(0,1)" i
  for i in $(seq "$workers"); do lcores+=",$i@(0,1)"; done
  "$VENICD" --socket "$SOCK" --state "$STATE" --workers "$workers" "$@" -- --lcores "$lcores" --no-pci --no-huge -m 128 \
    --no-shconf --no-telemetry --log-level=lib.eal:warning >"$WORK/venicd.log" 2>&1 &
  VENICD_PID=$!
  PIDS+=("$VENICD_PID")
  for _ in $(seq 100); do
    [ -S "$SOCK" ] && grep -q "serving" "$WORK/venicd.log" && return 0
    kill -0 "$VENICD_PID" 2>/dev/null || die "venicd exited at start"
    sleep 0.1
  done
  die "venicd did not come up"
}

stop_venicd() {
  kill -TERM "$VENICD_PID"
  local rc=0
  wait "$VENICD_PID" || rc=$?
  [ "$rc" -eq 0 ] || die "venicd exited with $rc on SIGTERM"
}

assert_venicd_alive() { kill -0 "$VENICD_PID" 2>/dev/null || die "venicd died"; }

ctl() { "$VENICCTL" --socket "$SOCK" "$@"; }

# json_get 'expression on j' < json: evaluates a Python expression over the parsed JSON.
json_get() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

# The EC2 commands: ec2 COMMAND... fails the test when venicctl does;
# field 'expression on j' < json reads its output.
ec2() { ctl "$@" || die "venicctl $* failed"; }
field() { json_get "$1"; }
# new_vpc CIDR [IPV6-CIDR]: a VPC's id.  new_subnet VPC CIDR: a subnet's id (us-east-1a).
new_vpc() { ec2 create-vpc --cidr-block "$1" ${2:+--ipv6-cidr-block "$2"} | field "j['Vpc']['VpcId']"; }
new_subnet() {
  ec2 create-subnet --vpc-id "$1" --cidr-block "$2" --availability-zone us-east-1a | field "j['Subnet']['SubnetId']"
}

# stat_of VF FIELD: a counter from venicctl stats --json (drops.X for drop reasons).
stat_of() {
  ctl stats "$1" --json | json_get "(lambda v: v$(echo ".$2" | sed -E 's/\.([a-z_0-9]+)/["\1"]/g'))(j['vfs'][0])"
}

# testpmd_start NAME VF EAL-MEMORY-ARGS -- TESTPMD-APP-ARGS: runs testpmd in
# the background on VF; its output goes to $WORK/NAME.log.
testpmd_start() {
  local name=$1 vf=$2
  shift 2
  local eal=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do eal+=("$1"); shift; done
  shift
  dpdk-testpmd --lcores "0@(0,1),1@(0,1)" --no-pci --file-prefix "vt$$-$name" --log-level=pmd.net.vena:info "${eal[@]}" \
    -d "$PMD" --vdev "net_vena0,socket=$SOCK,vf=$vf" -- --total-num-mbufs=8192 --stats-period 1 "$@" \
    >"$WORK/$name.log" 2>&1 </dev/null &
  local pid=$!
  PIDS+=("$pid")
  eval "TESTPMD_${name}_PID=$pid"
  for _ in $(seq 150); do
    grep -q "start packet forwarding" "$WORK/$name.log" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || die "testpmd $name exited early"
    sleep 0.1
  done
  die "testpmd $name did not start forwarding"
}

# testpmd_stop NAME: SIGINT, wait for its final statistics.
testpmd_stop() {
  local pid_var="TESTPMD_${1}_PID"
  local pid=${!pid_var}
  kill -INT "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && die "testpmd $1 did not exit on SIGINT"
  wait "$pid" 2>/dev/null || true
}

# testpmd_total NAME FIELD: FIELD (RX-packets, TX-packets, RX-dropped) from the
# final "all ports" summary of a stopped testpmd.
testpmd_total() {
  sed -n '/Accumulated forward statistics for all ports/,/+++/p' "$WORK/$1.log" |
    grep -o "$2: *[0-9]*" | head -n1 | grep -o '[0-9]*$'
}

# Two DPDK memory set-ups for the PMD: copy mode (no fds) and zero-copy.
EAL_COPY=(--no-huge -m 256)
EAL_ZERO_COPY=(--in-memory --single-file-segments -m 128)

hugepages_ready() {
  [ "$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)" -ge 128 ]
}

# ---- EFA (the vefa libfabric provider over venicd's EFA devices)

# free_port: a TCP port for a test's own listener (fi_pingpong's out-of-band
# exchange): above the kernel's ephemeral range, so no outbound connection
# or TIME_WAIT of a test running beside it holds it; random, so runs of one
# test do not meet; unused now.
free_port() {
  local lo hi p
  read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
  [ "$hi" -lt 65000 ] || hi=50000
  for _ in $(seq 50); do
    p=$((hi + 1 + RANDOM % (65535 - hi)))
    ss -Htan "sport = :$p" | grep -q . || {
      echo "$p"
      return
    }
  done
  echo $((hi + 1))
}

# fabric_env: puts the vefa provider where libfabric looks (FI_PROVIDER_PATH)
# and points the driver at this test's daemon.
fabric_env() {
  mkdir -p "$WORK/fi"
  cp "$BUILD/fabric-provider/libvefa-fi.so" "$WORK/fi/"
  export FI_PROVIDER_PATH=$WORK/fi VENIC_SOCKET=$SOCK
  unset VENIC_INSTANCE VENIC_EFA_VF
}

# efa_group VPC: a security group that lets EFA's OS-bypass traffic through
# (all traffic in from and out to itself); prints its id.
efa_group() {
  local sg
  sg=$(ec2 create-security-group --group-name "efa-$RANDOM" --description "EFA OS bypass" --vpc-id "$1" |
    field "j['GroupId']")
  ec2 authorize-security-group-ingress --group-id "$sg" --protocol all --source-group "$sg" >/dev/null
  ec2 authorize-security-group-egress --group-id "$sg" --protocol all --source-group "$sg" >/dev/null
  echo "$sg"
}

# efa_instances SUBNET GROUP COUNT: runs COUNT c5n.18xlarge instances whose
# primary ENI is an EFA; prints their ids, comma-separated.
efa_instances() {
  ec2 run-instances --instance-type c5n.18xlarge --subnet-id "$1" --security-group-ids "$2" --count "$3" \
    --network-interface-type efa | field "','.join(i['InstanceId'] for i in j['Instances'])"
}

# efa_vf INSTANCE: the VF behind the instance's EFA interface.
efa_vf() {
  ec2 describe-instances --instance-ids "$1" |
    field "j['Reservations'][0]['Instances'][0]['NetworkInterfaces'][0]['VenicVfId']"
}

# efa_stat VF NAME: one of the VF's EFA counters (venicctl stats --json).
efa_stat() { ctl stats "$1" --json | json_get "j['vfs'][0]['efa']['$2']"; }
