#!/usr/bin/env bash
# venicd --metrics: GET /metrics passes `promtool check metrics`, and a VF's
# packet counter rises with testpmd traffic (and equals venicctl stats after).
source "$(dirname "$0")/lib.sh"
command -v promtool >/dev/null || die "promtool missing (Debian's prometheus package)"
start_venicd --metrics 127.0.0.1:0
url=$(grep -o 'http://127.0.0.1:[0-9]*/metrics' "$WORK/venicd.log" | head -n1)
[ -n "$url" ] || die "venicd did not say where its metrics are"

ctl vf create --type ena --mac 02:00:00:00:00:01 --ip 10.0.1.10 >/dev/null
ctl vf create --type ena --mac 02:00:00:00:00:02 --ip 10.0.1.11 >/dev/null
# sample NAME: the VF 0 tx packet counter (and the exposition kept as NAME.txt).
sample() {
  curl -sf "$url" >"$WORK/$1.txt" || die "GET $url failed"
  grep '^venic_vf_tx_packets_total{vf="0"' "$WORK/$1.txt" | awk '{print $2}'
}
before=$(sample before)
promtool check metrics <"$WORK/before.txt" >"$WORK/promtool.log" 2>&1 || die "promtool rejects /metrics: $(cat "$WORK/promtool.log")"

testpmd_start rx 1 "${EAL_COPY[@]}" -- --forward-mode=rxonly
testpmd_start tx 0 "${EAL_COPY[@]}" -- --forward-mode=txonly --eth-peer=0,02:00:00:00:00:02 --tx-ip=10.0.1.10,10.0.1.11
sleep 1
during=$(sample during)
testpmd_stop tx
sleep 0.5
testpmd_stop rx
sleep 0.3
after=$(sample after)
promtool check metrics <"$WORK/after.txt" >"$WORK/promtool.log" 2>&1 || die "promtool rejects /metrics: $(cat "$WORK/promtool.log")"
ctl_tx=$(stat_of 0 tx_pkts)
log "venic_vf_tx_packets_total{vf=0}: $before, $during, $after (venicctl: $ctl_tx)"
[ "$before" -eq 0 ] || die "tx counter $before before any traffic"
[ "$during" -gt 0 ] && [ "$after" -ge "$during" ] || die "tx counter did not rise: $before, $during, $after"
[ "$after" -eq "$ctl_tx" ] || die "/metrics says $after, venicctl stats $ctl_tx"
grep -q '^venic_vf_drops_total{vf="1",eni="",instance="",type="ena",reason="rx_no_buffer"} [0-9]' "$WORK/after.txt" ||
  die "no per-reason drop counter"
grep -q '^venic_vf_queue_packets_total{vf="1",.*queue="0",direction="rx"} [1-9]' "$WORK/after.txt" ||
  die "no per-queue rx counter"
[ "$(curl -s -o /dev/null -w '%{http_code}' "${url%/metrics}/other")" = 404 ] || die "a path other than /metrics answered"
stop_venicd
log "PASS"
