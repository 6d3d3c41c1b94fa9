#!/usr/bin/env bash
# Payload check through a real testpmd: venic-traffic on VF0 sends numbered,
# patterned frames to VF1, where dpdk-testpmd (macswap) sends each one back;
# venic-traffic verifies every byte of every echo.  Run in copy mode (no-huge
# anonymous memory: testpmd --mp-alloc=xmem) and, with hugepages, in zero-copy mode, which the daemon's
# zero-copy counters must confirm.  Jumbo frames (9001 MTU) go through
# chained mbufs.
source "$(dirname "$0")/lib.sh"
start_venicd
ctl vf create --type ena --mac 02:00:00:00:00:01 --ip 10.0.1.10 --mtu 9001 >/dev/null
ctl vf create --type ena --mac 02:00:00:00:00:02 --ip 10.0.1.11 --mtu 9001 >/dev/null

run_mode() {
  local mode=$1 pool=$2
  shift 2
  ctl stats --reset >/dev/null
  testpmd_start "echo_$mode" 1 "$@" -- --forward-mode=macswap --max-pkt-len=9019 --enable-scatter \
    --mbuf-size=2176 --mp-alloc="$pool"
  for size in 64 1500 9019; do
    out=$("$TRAFFIC" --socket "$SOCK" --vf 0 echo --dst-mac 02:00:00:00:00:02 --count 3000 --size "$size" \
      --timeout 20) || die "$mode: echo of $size-byte frames failed: $out"
    log "$mode $size B: $out"
  done
  testpmd_stop "echo_$mode"
  local zc_rx zc_tx
  zc_rx=$(stat_of 1 rx_zero_copy_pkts)
  zc_tx=$(stat_of 1 tx_zero_copy_pkts)
  log "$mode: VF1 zero-copy rx $zc_rx tx $zc_tx"
  if [ "$mode" = zero_copy ]; then
    [ "$zc_rx" -ge 9000 ] && [ "$zc_tx" -ge 9000 ] || die "zero-copy mode moved rx $zc_rx / tx $zc_tx zero-copy frames"
    grep -q "rx queue 0: zero-copy" "$WORK/echo_$mode.log" || die "PMD did not report zero-copy"
  else
    [ "$zc_rx" -eq 0 ] && [ "$zc_tx" -eq 0 ] || die "copy mode used registered memory ($zc_rx/$zc_tx)"
    grep -q "rx queue 0: copy mode" "$WORK/echo_$mode.log" || die "PMD did not report copy mode"
  fi
}

run_mode copy xmem "${EAL_COPY[@]}"
if hugepages_ready; then
  run_mode zero_copy native "${EAL_ZERO_COPY[@]}"
else
  die "zero-copy mode needs 128 free 2 MiB hugepages (ci/install-deps --hugepages 512)"
fi
log "PASS"
