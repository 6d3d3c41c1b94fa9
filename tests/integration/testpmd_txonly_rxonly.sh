#!/usr/bin/env bash
# dpdk-testpmd txonly on VF0 -> venicd -> dpdk-testpmd rxonly on VF1:
# every packet testpmd sent is accounted for, once, on the other side.
source "$(dirname "$0")/lib.sh"
start_venicd
if [ "${VENIC_ZERO_COPY:-0}" = 1 ]; then EAL_MODE=("${EAL_ZERO_COPY[@]}"); else EAL_MODE=("${EAL_COPY[@]}"); fi
ctl vf create --type ena --mac 02:00:00:00:00:01 --ip 10.0.1.10 >/dev/null
ctl vf create --type ena --mac 02:00:00:00:00:02 --ip 10.0.1.11 >/dev/null

testpmd_start rx 1 "${EAL_MODE[@]}" -- --forward-mode=rxonly
testpmd_start tx 0 "${EAL_MODE[@]}" -- --forward-mode=txonly --eth-peer=0,02:00:00:00:00:02 --tx-ip=10.0.1.10,10.0.1.11
sleep 2
testpmd_stop tx
sleep 0.5 # let the receiver take what is still in its ring
testpmd_stop rx

sent=$(testpmd_total tx TX-packets)
received=$(testpmd_total rx RX-packets)
missed=$(testpmd_total rx RX-dropped)
d_tx=$(stat_of 0 tx_pkts)
d_rx=$(stat_of 1 rx_pkts)
d_nobuf=$(stat_of 1 drops.rx_no_buffer)
d_noroute=$(stat_of 0 drops.no_route)
# txonly is one flow: past EC2's default 5 Gbps per flow, venicd drops and counts.
d_flow=$(stat_of 0 allowance_exceeded.flow_allowance_exceeded)
log "testpmd sent $sent, received $received (missed $missed); venicd vf0 tx $d_tx (+ $d_flow over the flow cap)," \
  "vf1 rx $d_rx + no-buffer $d_nobuf"

[ "$sent" -gt 10000 ] || die "testpmd sent only $sent packets"
[ "$sent" -eq $((d_tx + d_flow)) ] || die "testpmd sent $sent but venicd took $d_tx (+ $d_flow over the flow cap) from VF0"
[ "$received" -eq "$d_rx" ] || die "venicd delivered $d_rx to VF1 but testpmd received $received"
[ "$d_tx" -eq $((d_rx + d_nobuf)) ] || die "VF0 tx $d_tx != VF1 rx $d_rx + no-buffer drops $d_nobuf"
[ "$missed" -eq "$d_nobuf" ] || die "testpmd imissed $missed != venicd rx_no_buffer $d_nobuf"
[ "$d_noroute" -eq 0 ] || die "unexpected no_route drops: $d_noroute"
[ "$received" -gt 0 ] || die "nothing received"
grep -q "Operation not permitted" "$WORK/tx.log" || die "promiscuous mode was not refused for an untrusted VF"

# The worker's own load: it moved at least every descriptor VF0 sent, at a cost per packet.
load=$(ctl info --json)
moved=$(json_get 'sum(w["packets"] for w in j["worker_load"])' <<<"$load")
nspp=$(json_get 'j["worker_load"][0]["ns_per_packet"]' <<<"$load")
log "worker moved $moved descriptors, $nspp ns each while busy"
[ "$moved" -ge "$sent" ] || die "worker_load counts $moved descriptors moved, fewer than the $sent sent"
awk -v n="$nspp" 'BEGIN { exit !(n > 0) }' || die "worker_load ns_per_packet is $nspp"

# Link changes reach the application as ethdev LSC events.
testpmd_start lsc 1 "${EAL_MODE[@]}" -- --forward-mode=rxonly
ctl vf set 1 --link down >/dev/null
for _ in $(seq 30); do grep -q "link state change event" "$WORK/lsc.log" && break; sleep 0.1; done
grep -q "link state change event" "$WORK/lsc.log" || die "testpmd saw no LSC event for link down"
testpmd_stop lsc
log "PASS"
