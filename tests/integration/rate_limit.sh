#!/usr/bin/env bash
# Allowances in the fast path, measured on real testpmd traffic: outbound
# bandwidth and PPS shape (packets wait in the TX ring), inbound bandwidth and
# the per-flow cap drop; each counts ENA's *_allowance_exceeded counter.  The
# link-local PPS limit (1024 pps to 169.254.0.0/16) drops and counts.
# What noise cannot break is asserted, from venicd's own counters: a token
# bucket never passes more than rate x elapsed + its depth, and on a loaded
# box the sender still reaches half the rate.  Exact rates are the unit
# tests' (allowance_test, against rte_meter on a fake clock) and ci/bench's.
source "$(dirname "$0")/lib.sh"
start_venicd
ctl vf create --type ena --mac 02:00:00:00:00:01 --ip 10.0.1.10 >/dev/null
ctl vf create --type ena --mac 02:00:00:00:00:02 --ip 10.0.1.11 --src-dst-check off >/dev/null

allowance() { stat_of "$1" "allowance_exceeded.$2"; }

# Frames a worker may have let through a bucket but not yet counted at the
# receiver when a reading is taken: one TX burst (worker.h kBurstDescs).
IN_FLIGHT_FRAMES=64
BURST_MS=10  # venicd's default bucket depth (Limits::kDefaultBurstMs)

# expect_bucket WHAT VF FIELD RATE DEPTH FRAME_UNITS: over about 2 s (after
# 1 s to settle), FIELD of VF grows by at most RATE x elapsed + DEPTH (+ the
# frames in flight, FRAME_UNITS each) and by at least half of RATE x elapsed.
# Each reading is bracketed by clock reads: the upper bound uses the outer
# interval, the lower bound the inner one.
expect_bucket() {
  local what=$1 vf=$2 field=$3 rate=$4 depth=$5 unit=$6 t0 a t1 t2 b t3
  sleep 1
  t0=$(date +%s.%N) a=$(stat_of "$vf" "$field") t1=$(date +%s.%N)
  sleep 2
  t2=$(date +%s.%N) b=$(stat_of "$vf" "$field") t3=$(date +%s.%N)
  python3 - "$what" "$a" "$b" "$t0" "$t1" "$t2" "$t3" "$rate" "$depth" "$unit" "$IN_FLIGHT_FRAMES" <<'PY' ||
import sys
what = sys.argv[1]
a, b, t0, t1, t2, t3, rate, depth, unit, frames = map(float, sys.argv[2:])
got = b - a
most = rate * (t3 - t0) + depth + frames * unit
least = 0.5 * rate * (t2 - t1)
print(f"[rate_limit] {what}: {got:.0f} in {t2 - t1:.2f}-{t3 - t0:.2f} s "
      f"(at most {most:.0f}, at least {least:.0f}; {got / ((t2 - t1 + t3 - t0) / 2) / rate * 100:.1f} % of the rate)")
sys.exit(0 if least <= got <= most else 1)
PY
    die "$what: VF$vf $field grew outside [rate/2, rate x elapsed + depth]"
}

# bytes_depth MBPS: a byte bucket's depth at the default burst (allowance.h).
bytes_depth() { python3 -c "print(max(2 * 9216, $1 * 125000 // 1000 * $BURST_MS))"; }
# bytes_rate MBPS: bytes per second.
bytes_rate() { python3 -c "print($1 * 125000)"; }

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
expect_bucket "bw_out 200 Mbps (bytes)" 1 rx_bytes "$(bytes_rate 200)" "$(bytes_depth 200)" 1500
expect_growing 0 bw_out_allowance_exceeded "$c"

ctl vf set 0 --bw-out-mbps 10 >/dev/null
expect_bucket "bw_out 10 Mbps (bytes)" 1 rx_bytes "$(bytes_rate 10)" "$(bytes_depth 10)" 1500

ctl vf set 0 --bw-out-mbps 0 >/dev/null
c=$(allowance 1 bw_in_allowance_exceeded)
ctl vf set 1 --bw-in-mbps 80 >/dev/null
expect_bucket "bw_in 80 Mbps (bytes)" 1 rx_bytes "$(bytes_rate 80)" "$(bytes_depth 80)" 1500
expect_growing 1 bw_in_allowance_exceeded "$c"

ctl vf set 1 --bw-in-mbps 0 >/dev/null
c=$(allowance 0 flow_allowance_exceeded)
ctl vf set 0 --flow-mbps 120 >/dev/null
# Two buckets in series (the VF's gate, then the flow's own): both depths.
expect_bucket "flow cap 120 Mbps (bytes)" 1 rx_bytes "$(bytes_rate 120)" "$((2 * $(bytes_depth 120)))" 1500
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
expect_bucket "pps 20000 (packets)" 1 rx_pkts 20000 "$((20000 * BURST_MS / 1000 > 32 ? 20000 * BURST_MS / 1000 : 32))" 1
expect_growing 0 pps_allowance_exceeded "$c"
ctl vf set 0 --pps 0 --bw-out-mbps 30 >/dev/null
expect_bucket "bw_out 30 Mbps at 64 B (bytes)" 1 rx_bytes "$(bytes_rate 30)" "$(bytes_depth 30)" 64
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
