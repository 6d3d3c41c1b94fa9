#!/usr/bin/env bash
# Allowances in the fast path, measured on real testpmd traffic: outbound
# bandwidth and PPS shape (packets wait in the TX ring), inbound bandwidth and
# the per-flow cap drop; each keeps the received rate within 3 % of the
# limit, and each counts ENA's *_allowance_exceeded counter.  The link-local
# PPS limit (1024 pps to 169.254.0.0/16) drops and counts.
source "$(dirname "$0")/lib.sh"
start_venicd
ctl vf create --type ena --mac 02:00:00:00:00:01 --ip 10.0.1.10 >/dev/null
ctl vf create --type ena --mac 02:00:00:00:00:02 --ip 10.0.1.11 --src-dst-check off >/dev/null

allowance() { stat_of "$1" "allowance_exceeded.$2"; }

# rate_of VF FIELD: FIELD's growth per second over 3 s, after 1 s to settle.
rate_of() {
  sleep 1
  local a b ta tb
  ta=$(date +%s.%N) a=$(stat_of "$1" "$2")
  sleep 3
  tb=$(date +%s.%N) b=$(stat_of "$1" "$2")
  python3 -c "print(($b - $a) / ($tb - $ta))"
}

# expect_rate WHAT MEASURED WANT: MEASURED within 3 % of WANT.
expect_rate() {
  python3 - "$@" <<'PY' || die "$1: measured $2, want $3 +- 3 %"
import sys
what, got, want = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
print(f"[rate_limit] {what}: {got:.0f} (limit {want:.0f}, {100 * (got / want - 1):+.2f} %)")
sys.exit(0 if abs(got / want - 1) <= 0.03 else 1)
PY
}

# expect_growing VF COUNTER BEFORE
expect_growing() {
  local now
  now=$(allowance "$1" "$2")
  [ "$now" -gt "$3" ] || die "VF$1 $2 did not count ($now, was $3)"
}

# ---- 1500 B frames, testpmd txonly VF0 -> rxonly VF1, far above every limit.
testpmd_start rx 1 "${EAL_COPY[@]}" -- --forward-mode=rxonly
testpmd_start tx 0 "${EAL_COPY[@]}" -- --forward-mode=txonly --txpkts=1500 --eth-peer=0,02:00:00:00:00:02 \
  --tx-ip=10.0.1.10,10.0.1.11

c=$(allowance 0 bw_out_allowance_exceeded)
ctl vf set 0 --bw-out-mbps 200 >/dev/null
expect_rate "bw_out 200 Mbps (bits/s)" "$(python3 -c "print(8 * $(rate_of 1 rx_bytes))")" 200e6
expect_growing 0 bw_out_allowance_exceeded "$c"

ctl vf set 0 --bw-out-mbps 10 >/dev/null
expect_rate "bw_out 10 Mbps (bits/s)" "$(python3 -c "print(8 * $(rate_of 1 rx_bytes))")" 10e6

ctl vf set 0 --bw-out-mbps 0 >/dev/null
c=$(allowance 1 bw_in_allowance_exceeded)
ctl vf set 1 --bw-in-mbps 80 >/dev/null
expect_rate "bw_in 80 Mbps (bits/s)" "$(python3 -c "print(8 * $(rate_of 1 rx_bytes))")" 80e6
expect_growing 1 bw_in_allowance_exceeded "$c"

ctl vf set 1 --bw-in-mbps 0 >/dev/null
c=$(allowance 0 flow_allowance_exceeded)
ctl vf set 0 --flow-mbps 120 >/dev/null
expect_rate "flow cap 120 Mbps (bits/s)" "$(python3 -c "print(8 * $(rate_of 1 rx_bytes))")" 120e6
expect_growing 0 flow_allowance_exceeded "$c"
ctl vf set 0 --flow-mbps 5000 >/dev/null
testpmd_stop tx
testpmd_stop rx
# Shaping holds packets in the ring and drops none: every frame testpmd sent
# left VF0, except those the per-flow cap dropped.
sent=$(testpmd_total tx TX-packets)
d_tx=$(stat_of 0 tx_pkts)
d_flow=$(allowance 0 flow_allowance_exceeded)
[ "$sent" -gt 0 ] && [ "$sent" -eq $((d_tx + d_flow)) ] ||
  die "testpmd sent $sent; VF0 took $d_tx and the flow cap dropped $d_flow"

# ---- 64 B frames: the PPS allowance, and bandwidth at small packets.
testpmd_start rx 1 "${EAL_COPY[@]}" -- --forward-mode=rxonly
testpmd_start tx 0 "${EAL_COPY[@]}" -- --forward-mode=txonly --txpkts=64 --eth-peer=0,02:00:00:00:00:02 \
  --tx-ip=10.0.1.10,10.0.1.11
c=$(allowance 0 pps_allowance_exceeded)
ctl vf set 0 --pps 20000 >/dev/null
expect_rate "pps 20000 (packets/s)" "$(rate_of 1 rx_pkts)" 20000
expect_growing 0 pps_allowance_exceeded "$c"
ctl vf set 0 --pps 0 --bw-out-mbps 30 >/dev/null
expect_rate "bw_out 30 Mbps at 64 B (bits/s)" "$(python3 -c "print(8 * $(rate_of 1 rx_bytes))")" 30e6
ctl vf set 0 --bw-out-mbps 0 >/dev/null
testpmd_stop tx
testpmd_stop rx

# ---- Link-local services: 1024 pps, the rest dropped and counted.
"$TRAFFIC" --socket "$SOCK" --vf 0 send --dst-mac 02:00:00:00:00:02 --count 5000 --size 128 --udp-flows 1 \
  --src-ip 10.0.1.10 --dst-ip 169.254.169.254 >/dev/null || die "send to 169.254.169.254 failed"
ll=$(allowance 0 linklocal_allowance_exceeded)
[ "$ll" -gt 0 ] || die "5000 packets at once to 169.254.169.254 exceeded nothing"
[ "$ll" -lt 5000 ] || die "every link-local packet was dropped ($ll)"
log "linklocal_allowance_exceeded: $ll of 5000"

# The counters reach the PMD's xstats under ENA's names.
printf 'show port xstats 0\nquit\n' | dpdk-testpmd --lcores "0@(0,1),1@(0,1)" --no-pci --file-prefix "vt$$-x" \
  "${EAL_COPY[@]}" -d "$PMD" --vdev "net_vena0,socket=$SOCK,vf=0" -- -i --total-num-mbufs=2048 \
  >"$WORK/xstats.log" 2>&1 || true
for name in bw_in_allowance_exceeded bw_out_allowance_exceeded pps_allowance_exceeded \
  conntrack_allowance_exceeded linklocal_allowance_exceeded flow_allowance_exceeded; do
  grep -q "$name:" "$WORK/xstats.log" || die "testpmd xstats lack $name"
done
grep -Eq "bw_out_allowance_exceeded: [1-9]" "$WORK/xstats.log" || die "xstats bw_out_allowance_exceeded is 0"
assert_venicd_alive
log "PASS"
