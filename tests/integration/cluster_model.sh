#!/usr/bin/env bash
# Two venicds share one EC2 model in etcd (docs/multi-host.md): an instance
# host A launches on host B gets its VF on B (B learns it through its
# watch); plain VFs are refused; a host killed with -9 rejoins and serves its
# ENIs again; with etcd gone a change fails with ServiceUnavailable while
# describes still answer and the daemons stay up.
source "$(dirname "$0")/lib.sh"
[ -x /usr/bin/etcd ] || { log "SKIP: etcd-server is not installed"; exit 0; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
CLIENT=http://127.0.0.1:$(free_port)
PEER=http://127.0.0.1:$(free_port)
/usr/bin/etcd --name t --data-dir "$WORK/etcd" --listen-client-urls "$CLIENT" --advertise-client-urls "$CLIENT" \
  --listen-peer-urls "$PEER" --initial-advertise-peer-urls "$PEER" --initial-cluster "t=$PEER" >"$WORK/etcd.log" 2>&1 &
ETCD_PID=$!
PIDS+=("$ETCD_PID")
etcd_up() { python3 -c "import urllib.request as u; u.urlopen('$CLIENT/health', timeout=1)" 2>/dev/null; }
for _ in $(seq 100); do etcd_up && break; sleep 0.1; done
etcd_up || die "etcd did not come up"

# host NAME IP: starts that host's venicd (socket $WORK/NAME.sock); its pid in HOST_PID.
host() {
  "$VENICD" --socket "$WORK/$1.sock" --state "$WORK/$1.json" --etcd "$CLIENT" --venic-host "$1" --underlay-ip "$2" \
    -- --lcores "0@(0,1),1@(0,1)" --no-pci --no-huge -m 128 --no-shconf --no-telemetry --file-prefix "venic-$1-$$" \
    --log-level=lib.eal:warning >"$WORK/$1.log" 2>&1 &
  HOST_PID=$!
  PIDS+=("$HOST_PID")
  for _ in $(seq 100); do
    grep -q "serving" "$WORK/$1.log" 2>/dev/null && [ -S "$WORK/$1.sock" ] && return 0
    kill -0 "$HOST_PID" 2>/dev/null || die "venicd $1 exited at start"
    sleep 0.1
  done
  die "venicd $1 did not come up"
}
on() { local h=$1; shift; "$VENICCTL" --socket "$WORK/$h.sock" "$@"; }
# enis_on HOST: the ENI ids of that host's VFs.
enis_on() { on "$1" vf list --json | json_get "' '.join(sorted(v.get('eni_id','') for v in j['vfs']))"; }

host host-a 192.0.2.1
A_PID=$HOST_PID
host host-b 192.0.2.2
B_PID=$HOST_PID
on host-a cluster | grep -q "host-b  192.0.2.2" || die "host A does not list host B: $(on host-a cluster)"

SOCK=$WORK/host-a.sock
VPC=$(new_vpc 10.0.0.0/16)
SUBNET=$(new_subnet "$VPC" 10.0.1.0/24)
ENI=$(ec2 run-instances --instance-type c5.large --subnet-id "$SUBNET" --placement HostId=host-b |
  field "j['Instances'][0]['NetworkInterfaces'][0]['NetworkInterfaceId']")
for _ in $(seq 50); do [[ " $(enis_on host-b) " == *" $ENI "* ]] && break; sleep 0.1; done
[[ " $(enis_on host-b) " == *" $ENI "* ]] || die "host B has no VF for $ENI (it has: $(enis_on host-b))"
[[ " $(enis_on host-a) " != *" $ENI "* ]] || die "host A made a VF for host B's $ENI"
log "an instance placed on host B from host A has its VF on B"

out=$(on host-a vf create --type ena --mac 02:00:00:00:00:01 --ip 10.9.0.1 2>&1) && die "a plain VF was created: $out"
[[ $out == *"--etcd"* ]] || die "unclear refusal: $out"
on host-a cluster add-host kernel-peer --underlay-ip 192.0.2.9 --mac 02:00:00:00:00:09 >/dev/null
on host-b cluster | grep -q "kernel-peer  192.0.2.9" || die "host B does not list the added host"

kill -KILL "$B_PID"
wait "$B_PID" 2>/dev/null || true
host host-b 192.0.2.2
[[ " $(enis_on host-b) " == *" $ENI "* ]] || die "restarted host B does not serve $ENI"
log "host B killed with -9 rejoins and serves its ENI again"

kill -TERM "$ETCD_PID"
wait "$ETCD_PID" 2>/dev/null || true
out=$(on host-a run-instances --instance-type c5.large --subnet-id "$SUBNET" 2>&1) && die "launched without etcd: $out"
[[ $out == *ServiceUnavailable* ]] || die "expected ServiceUnavailable: $out"
ec2 describe-instances | field "len(j['Reservations'])" | grep -qx 1 || die "describe-instances did not answer"
kill -0 "$A_PID" && kill -0 "$HOST_PID" || die "a venicd died with etcd gone"
[[ " $(enis_on host-b) " == *" $ENI "* ]] || die "host B dropped $ENI with etcd gone"
log "etcd gone: changes fail with ServiceUnavailable, describes answer, VFs stay"
log PASS
