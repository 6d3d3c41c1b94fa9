#!/usr/bin/env bash
# No spoofing through the underlay: hosts A and B run venicd; M is a third
# machine on the same underlay, not a venic host.  Instance 1 is on A,
# instance 2 on B.  Frames A -> B arrive (the path works); then M sends B
# VXLAN datagrams with the VPC's VNI whose inner frame claims to come from
# instance 1's ENI (its MAC and address) to instance 2's: the outer source
# is not A's underlay address, so B drops every one and counts it (a counter
# whose name says "spoof"), and B's VF receives none.  Datagrams with a VNI
# no VPC has are not delivered either.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
mh_require_cluster
mh_underlay
mh_host A
mh_host B
mh_host M
mh_etcd_start
mh_venicd A
mh_venicd B
mh_wait_cluster A 2
mh_wait_cluster B 2

read -r vpc subnet sg < <(mh_network A 10.0.0.0/16 10.0.1.0/24)
read -r _ _ mac1 ip1 < <(mh_instance A A "$subnet" "$sg" 10.0.1.10)
read -r _ _ mac2 ip2 < <(mh_instance A B "$subnet" "$sg" 10.0.1.11)
vf1=$(mh_vf A "$mac1")
vf2=$(mh_vf B "$mac2")
vni=$(mh_vni B "$vpc")
log "$vpc VNI $vni; A's ENI $ip1 $mac1 (VF $vf1), B's $ip2 $mac2 (VF $vf2); M at ${MH_ADDR[M]}"

mh_reach A "$vf1" B "$vf2" "$mac2" "$ip1" "$ip2"
mh_recv real B "$vf2" 200
mh_send A "$vf1" "$mac2" "$ip1" "$ip2" 200
mh_recv_wait real

# M knows B's uplink MAC (as an attacker on the segment would).
in_ns M ip neigh replace "${MH_UL[B]}" lladdr "$(mh_host_mac A B)" dev ul0
spoof_counted() { mh_counter_sum B spoof "info cluster stats"; }
mh_listen B "$vf2"
rx0=$(mh_stat B "$vf2" rx_pkts)
s0=$(spoof_counted)
mh_vxlan_send M "${MH_UL[B]}" "$vni" 100 "$mac2" "$mac1" "$ip1" "$ip2"
for _ in $(seq 30); do
  [ "$(($(spoof_counted) - s0))" -ge 100 ] && break
  sleep 0.1
done
d_spoof=$(($(spoof_counted) - s0))
d_rx=$(($(mh_stat B "$vf2" rx_pkts) - rx0))
log "spoofed outer source: B counted $d_spoof as spoofed, delivered $d_rx"
[ "$d_rx" -eq 0 ] || die "B delivered $d_rx frames whose outer source was not A's"
[ "$d_spoof" -ge 100 ] ||
  die "B counted $d_spoof spoofed frames of the 100 M sent (info: $(mh_ctl B info --json); cluster: $(mh_ctl B cluster --json))"

# Another VNI: no VPC of B's, nothing delivered.
mh_vxlan_send M "${MH_UL[B]}" $(((vni + 1) % 16777216)) 50 "$mac2" "$mac1" "$ip1" "$ip2"
sleep 0.5
[ "$(mh_stat B "$vf2" rx_pkts)" -eq "$rx0" ] || die "B delivered a frame of an unknown VNI"
mh_listen_stop

# The real path still works afterwards.
mh_recv again B "$vf2" 100
mh_send A "$vf1" "$mac2" "$ip1" "$ip2" 100
mh_recv_wait again
mh_alive A
mh_alive B
log "PASS"
