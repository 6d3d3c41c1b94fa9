#!/usr/bin/env bash
# L2 switching rules: a frame for an unknown MAC is dropped and counted;
# broadcast floods to every VF of the sender's subnet and to no other; a VF
# in another subnet is unreachable by MAC.
source "$(dirname "$0")/lib.sh"
start_venicd
ctl vf create --type ena --mac 02:00:00:00:00:01 --ip 10.0.1.10 >/dev/null
ctl vf create --type ena --mac 02:00:00:00:00:02 --ip 10.0.1.11 >/dev/null
ctl vf create --type ena --mac 02:00:00:00:00:03 --ip 10.0.1.12 >/dev/null
ctl vf create --type ena --mac 02:00:00:00:00:04 --ip 10.0.2.10 >/dev/null

# Unknown destination.
"$TRAFFIC" --socket "$SOCK" --vf 0 send --dst-mac 02:de:ad:be:ef:00 --count 500 >/dev/null
[ "$(stat_of 0 drops.no_route)" -eq 500 ] || die "no_route is $(stat_of 0 drops.no_route), want 500"
for vf in 1 2 3; do [ "$(stat_of $vf rx_pkts)" -eq 0 ] || die "VF$vf received a frame for an unknown MAC"; done

# Broadcast: VF1 and VF2 (same subnet) get it, VF3 (10.0.2.0/24) does not.
"$TRAFFIC" --socket "$SOCK" --vf 1 recv --count 300 --timeout 15 >"$WORK/r1.out" &
r1=$!
"$TRAFFIC" --socket "$SOCK" --vf 2 recv --count 300 --timeout 15 >"$WORK/r2.out" &
r2=$!
"$TRAFFIC" --socket "$SOCK" --vf 3 recv --count 1 --timeout 4 >"$WORK/r3.out" &
r3=$!
PIDS+=("$r1" "$r2" "$r3")
for _ in $(seq 50); do
  [ "$(ctl vf list --json | json_get "sum(1 for v in j['vfs'] if v['started'])")" -eq 3 ] && break
  sleep 0.1
done
"$TRAFFIC" --socket "$SOCK" --vf 0 send --dst-mac ff:ff:ff:ff:ff:ff --count 300 >/dev/null
wait "$r1" || die "VF1 did not get the broadcasts: $(cat "$WORK/r1.out")"
wait "$r2" || die "VF2 did not get the broadcasts: $(cat "$WORK/r2.out")"
if wait "$r3"; then die "VF3 in another subnet received a broadcast"; fi

# Unicast to the other subnet's MAC is not switched.
"$TRAFFIC" --socket "$SOCK" --vf 0 send --dst-mac 02:00:00:00:00:04 --count 100 >/dev/null
[ "$(stat_of 0 drops.no_route)" -eq 600 ] || die "unicast across subnets was not dropped"
[ "$(stat_of 3 rx_pkts)" -eq 0 ] || die "VF3 received traffic from another subnet"

# The PMD shows the device's drop counters as xstats (testpmd, interactive).
(sleep 3; echo "show port xstats 0"; sleep 1; echo quit) | timeout 30 dpdk-testpmd --lcores "0@(0,1),1@(0,1)" \
  --no-pci "${EAL_COPY[@]}" --file-prefix "vt$$-xs" -d "$PMD" --vdev "net_vena0,socket=$SOCK,vf=0" -- \
  --total-num-mbufs=8192 -i >"$WORK/xstats.log" 2>&1 || true
grep -Eq "^ *drop_no_route: 600$" "$WORK/xstats.log" || die "xstats do not show drop_no_route 600"
grep -Eq "^ *rx_q0_cnt: 0$" "$WORK/xstats.log" || die "xstats lack the per-queue counters"
assert_venicd_alive
log "PASS"
