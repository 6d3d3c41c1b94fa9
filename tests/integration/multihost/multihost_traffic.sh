#!/usr/bin/env bash
# One VPC across two venicd hosts, A and B (namespaces on one bridge, the
# model in etcd): a VPC, a subnet and a group made through A's EC2 endpoint;
# instance 1 placed on A, instance 2 on B; each host has the VF of its own
# instance only, and both know the VPC's VNI.
# - Paced frames A -> B arrive, every byte checked, at 1400 and 9015 bytes
#   (MTU 9001 inside an underlay of 9100).
# - dpdk-testpmd txonly on A's ENI -> rxonly on B's: every packet testpmd sent
#   is accounted for: what A's VF took = what B's VF delivered + the drops
#   counted on the way (both VFs' drop reasons, the uplinks' drops).
# - Instance 2 in a group that admits nothing: B counts sg_ingress drops,
#   nothing is delivered.
# - Source/destination check: frames from A's ENI with another source address
#   or MAC stop at A (spoof_ip, spoof_mac), B sees none of them.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
mh_cluster A B

read -r vpc subnet sg < <(mh_network A 10.0.0.0/16 10.0.1.0/24)
read -r inst1 eni1 mac1 ip1 < <(mh_instance A A "$subnet" "$sg" 10.0.1.10)
read -r inst2 eni2 mac2 ip2 < <(mh_instance A B "$subnet" "$sg" 10.0.1.11)
vf1=$(mh_vf A "$mac1")
vf2=$(mh_vf B "$mac2")
mh_no_vf A "$mac2" || die "host A made a VF for $eni2, an ENI of host B's instance"
mh_no_vf B "$mac1" || die "host B made a VF for $eni1, an ENI of host A's instance"
vni_a=$(mh_vni A "$vpc")
vni_b=$(mh_vni B "$vpc")
[ "$vni_a" = "$vni_b" ] && [ "$vni_a" -gt 0 ] && [ "$vni_a" -lt 16777216 ] || die "VNI of $vpc: A says $vni_a, B says $vni_b"
log "$vpc (VNI $vni_a): $inst1 on A (VF $vf1, $ip1 $mac1), $inst2 on B (VF $vf2, $ip2 $mac2)"

# ---- paced frames, every one intact, at 1400 and 9015 bytes
mh_reach A "$vf1" B "$vf2" "$mac2" "$ip1" "$ip2"
mh_recv small B "$vf2" 2000
mh_send A "$vf1" "$mac2" "$ip1" "$ip2" 2000 --size 1400
mh_recv_wait small
mh_recv jumbo B "$vf2" 300
mh_send A "$vf1" "$mac2" "$ip1" "$ip2" 300 --size 9015 --pps 2000
mh_recv_wait jumbo

# ---- testpmd txonly on A -> rxonly on B: every packet accounted for, hop by hop
ul() { # HOST COUNTER: one of the uplink's counters (venicctl info's "underlay")
  mh_ctl "$1" info --json | json_get "j['underlay'].get('$2', 0)"
}
ul_drops() { # HOST: tunnelled frames the uplink refused (spoofed, unknown VNI, ...)
  mh_ctl "$1" info --json | json_get "sum(j['underlay']['drops'].values())"
}
allow() { # HOST VF: packets over the VF's allowances (bandwidth, PPS, conntrack)
  mh_ctl "$1" stats "$2" --json | json_get "sum(j['vfs'][0].get('allowance_exceeded', {}).values())"
}
snap() { # every counter the accounting reads, as "name=value" words
  echo "tx=$(mh_stat A "$vf1" tx_pkts) flow=$(mh_stat A "$vf1" allowance_exceeded.flow_allowance_exceeded)" \
    "adrops=$(mh_drops A "$vf1") rx=$(mh_stat B "$vf2" rx_pkts) bdrops=$(mh_drops B "$vf2")" \
    "nobuf=$(mh_stat B "$vf2" drops.rx_no_buffer) ballow=$(allow B "$vf2")" \
    "atx=$(ul A tx_frames) afull=$(ul A tx_full) abig=$(ul A tx_too_big) aarp=$(ul A arp_answers)" \
    "bdel=$(ul B delivered) bundel=$(ul B undelivered) bdrop=$(ul_drops B)"
}
declare -A c0 c1
for kv in $(snap); do c0[${kv%%=*}]=${kv#*=}; done
mh_testpmd_start rx B "$vf2" -- --forward-mode=rxonly
mh_testpmd_start tx A "$vf1" -- --forward-mode=txonly --eth-peer="0,$mac2" --tx-ip="$ip1,$ip2"
sleep 3
testpmd_stop tx
# Until B's VF has taken the last frame from the uplink.
last=-1
for _ in $(seq 50); do
  now=$(mh_stat B "$vf2" rx_pkts)
  [ "$now" = "$last" ] && break
  last=$now
  sleep 0.2
done
testpmd_stop rx
for kv in $(snap); do c1[${kv%%=*}]=${kv#*=}; done
d() { echo $((c1[$1] - c0[$1])); }
sent=$(testpmd_total tx TX-packets)
received=$(testpmd_total rx RX-packets)
missed=$(testpmd_total rx RX-dropped)
d_tx=$(d tx) d_flow=$(d flow) d_adrops=$(d adrops) d_rx=$(d rx) d_bdrops=$(d bdrops) d_nobuf=$(d nobuf)
d_ballow=$(d ballow)
# A's uplink: every frame A's VF sent to B became a tunnelled frame (sent,
# or refused by a full queue or as too big for the underlay).
tunnelled=$(($(d atx) - $(d aarp) + $(d afull) + $(d abig)))
# B's uplink: every tunnelled frame that arrived was delivered to the VF's
# checks, or refused and counted.
arrived=$(($(d bdel) + $(d bundel) + $(d bdrop)))
lost=$((tunnelled - $(d afull) - $(d abig) - arrived)) # by the underlay itself (the kernel's veth and socket rings)
log "testpmd sent $sent, received $received (missed $missed); A's VF took $d_tx (+ $d_flow over the flow cap," \
  "$d_adrops dropped at A); A's uplink tunnelled $tunnelled; B's uplink took $arrived (the underlay lost $lost);" \
  "B's VF delivered $d_rx, dropped $d_bdrops (no buffer $d_nobuf), $d_ballow over its allowances"
[ "$sent" -gt 1000 ] || die "testpmd sent only $sent packets"
[ "$sent" -eq $((d_tx + d_flow)) ] || die "testpmd sent $sent but A's VF took $d_tx (+ $d_flow over the flow cap)"
[ "$d_rx" -gt 0 ] || die "nothing crossed from A to B"
[ "$received" -eq "$d_rx" ] || die "B's venicd delivered $d_rx but testpmd on B received $received"
[ "$missed" -eq "$d_nobuf" ] || die "testpmd on B missed $missed != B's rx_no_buffer $d_nobuf"
[ "$d_tx" -eq $((tunnelled + d_adrops)) ] ||
  die "A: its VF took $d_tx but its uplink tunnelled $tunnelled and A dropped $d_adrops ($(mh_ctl A info --json))"
[ "$lost" -ge 0 ] || die "B's uplink took $arrived, more than A tunnelled ($tunnelled): frames from nowhere"
[ "$(d bdel)" -eq $((d_rx + d_bdrops + d_ballow)) ] ||
  die "B: its uplink handed over $(d bdel) but the VF delivered $d_rx, dropped $d_bdrops, $d_ballow over allowances" \
    "($(mh_ctl B stats "$vf2"); $(mh_ctl B info --json))"
[ "$(d bundel)" -eq 0 ] || die "B's uplink could not hand over $(d bundel) frames"
grep -q "Operation not permitted" "$WORK/tx.log" || die "promiscuous mode was not refused for an untrusted VF"

# ---- a group that admits nothing: B drops and counts, delivers nothing
closed=$(mh_ec2 A create-security-group --group-name "closed-$RANDOM" --description "admits nothing" --vpc-id "$vpc" |
  json_get "j['GroupId']")
mh_ec2 A modify-network-interface-attribute --network-interface-id "$eni2" --groups "$closed" >/dev/null
# New flows (other ports: the earlier ones are tracked, and stay allowed as on
# EC2; so is a flow that passed before B applied the change: one each try).
mh_listen B "$vf2"
sg0=$(mh_stat B "$vf2" drops.sg_ingress)
for try in $(seq 50); do # until B applies the change it learnt from etcd
  mh_send A "$vf1" "$mac2" "$ip1" "$ip2" 10 --dst-port 7001 --src-port $((31000 + try))
  [ "$(mh_stat B "$vf2" drops.sg_ingress)" -gt "$sg0" ] && break
  sleep 0.1
done
[ "$(mh_stat B "$vf2" drops.sg_ingress)" -gt "$sg0" ] || die "B never applied the closed group"
sleep 0.3
sg0=$(mh_stat B "$vf2" drops.sg_ingress)
rx0=$(mh_stat B "$vf2" rx_pkts)
mh_send A "$vf1" "$mac2" "$ip1" "$ip2" 500 --dst-port 7001 --src-port 30100
sleep 1
d_sg=$(($(mh_stat B "$vf2" drops.sg_ingress) - sg0))
d_rx=$(($(mh_stat B "$vf2" rx_pkts) - rx0))
log "closed group: B dropped $d_sg as sg_ingress, delivered $d_rx"
[ "$d_sg" -eq 500 ] || die "B counted $d_sg sg_ingress drops, not 500"
[ "$d_rx" -eq 0 ] || die "B delivered $d_rx frames through a group that admits nothing"

# ---- source/destination check: spoofs stop at A (B's VF in its open group again)
mh_ec2 A modify-network-interface-attribute --network-interface-id "$eni2" --groups "$sg" >/dev/null
rx0=$(mh_stat B "$vf2" rx_pkts)
bd0=$(mh_drops B "$vf2")
sip0=$(mh_stat A "$vf1" drops.spoof_ip)
smac0=$(mh_stat A "$vf1" drops.spoof_mac)
mh_send A "$vf1" "$mac2" 10.0.1.99 "$ip2" 200
mh_send A "$vf1" "$mac2" "$ip1" "$ip2" 200 --src-mac 02:00:00:00:99:99
sleep 1
d_sip=$(($(mh_stat A "$vf1" drops.spoof_ip) - sip0))
d_smac=$(($(mh_stat A "$vf1" drops.spoof_mac) - smac0))
log "spoofs: A dropped $d_sip as spoof_ip, $d_smac as spoof_mac"
[ "$d_sip" -eq 200 ] || die "A counted $d_sip spoof_ip drops, not 200"
[ "$d_smac" -eq 200 ] || die "A counted $d_smac spoof_mac drops, not 200"
[ "$(mh_stat B "$vf2" rx_pkts)" -eq "$rx0" ] || die "spoofed frames from A reached B's VF"
[ "$(mh_drops B "$vf2")" -eq "$bd0" ] || die "spoofed frames from A reached host B at all"
mh_listen_stop
mh_alive A
mh_alive B
log "PASS"
