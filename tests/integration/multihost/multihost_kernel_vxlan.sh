#!/usr/bin/env bash
# The standard wire format, with a venicd on one side and Linux on the other:
# host A runs venicd; host "kernel" is a namespace whose Linux vxlan device
# (the VPC's VNI from `venicctl cluster`) is the VTEP, registered with
# `venicctl cluster add-host kernel --underlay-ip --mac`.  An instance placed
# on host kernel (HostId=kernel) gets an ENI; the vxlan device takes that
# ENI's MAC and address.  The kernel pings an ENI of A's instance (answered by
# venic-traffic answer-ping on A's VF), and A's VF pings the kernel (answered
# by the kernel's own ICMP).
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
mh_require_cluster
mh_underlay
mh_host A
mh_host kernel
mh_etcd_start
mh_venicd A
mh_wait_cluster A 1
mh_ctl A cluster add-host kernel --underlay-ip "${MH_ADDR[kernel]}" --mac "${MH_MAC[kernel]}" >/dev/null ||
  die "venicctl cluster add-host failed"
mh_wait_cluster A 2
mh_ctl A cluster --json | json_get "[h for h in j['hosts'] if h['name'] == 'kernel'][0]" >"$WORK/kernel-host.out"
grep -q "${MH_ADDR[kernel]}" "$WORK/kernel-host.out" || die "cluster lists kernel as $(cat "$WORK/kernel-host.out")"

read -r vpc subnet sg < <(mh_network A 10.0.0.0/16 10.0.1.0/24)
read -r inst_a _ mac_a ip_a < <(mh_instance A A "$subnet" "$sg" 10.0.1.10)
read -r inst_k eni_k mac_k ip_k < <(mh_instance A kernel "$subnet" "$sg" 10.0.1.20)
vf_a=$(mh_vf A "$mac_a")
mh_no_vf A "$mac_k" || die "A made a VF for $eni_k, whose instance is on host kernel"
vni=$(mh_vni A "$vpc")
log "$vpc VNI $vni: $inst_a on A (VF $vf_a, $ip_a $mac_a); $inst_k on kernel ($ip_k $mac_k)"

# The kernel's VTEP: the ENI's MAC and address on a vxlan device whose
# forwarding entries send A's ENI (and broadcasts) to A's underlay address.
k() { in_ns kernel "$@"; }
k ip link add vx0 type vxlan id "$vni" local "${MH_ADDR[kernel]}" dstport 4789 nolearning dev ul0
k ip link set vx0 address "$mac_k" mtu 9001
k ip addr add "$ip_k/24" dev vx0
k ip link set vx0 up
k bridge fdb append 00:00:00:00:00:00 dev vx0 dst "${MH_UL[A]}"
k bridge fdb add "$mac_a" dev vx0 dst "${MH_UL[A]}"
# Static, as a VPC's mapping service would give it (not relying on ARP over the tunnel).
k ip neigh replace "$ip_a" lladdr "$mac_a" dev vx0

"$TRAFFIC" --socket "${MH_SOCK[A]}" --vf "$vf_a" answer-ping --ip "$ip_a" --seconds 30 >"$WORK/answer.out" 2>&1 &
answer=$!
PIDS+=("$answer")
for _ in $(seq 50); do
  [ "$(mh_ctl A vf show "$vf_a" --json | json_get "j['started']")" = True ] && break
  sleep 0.1
done
# A's fast path may still be learning the kernel host's ENI: a first ping may go unanswered.
for try in $(seq 10); do
  mh_kernel_ping kernel "$ip_a" 1 >/dev/null 2>&1 && break
  [ "$try" -lt 10 ] || die "the kernel's pings to $ip_a were never answered"
done
out=$(mh_kernel_ping kernel "$ip_a" 5) || die "the kernel's pings to A's ENI were not all answered: $out"
log "kernel -> A: $out"
kill -TERM "$answer" 2>/dev/null || true
wait "$answer" 2>/dev/null || true
for _ in $(seq 50); do
  [ "$(mh_ctl A vf show "$vf_a" --json | json_get "j['attached']")" = False ] && break
  sleep 0.1
done

# The other way: A's VF pings the kernel, which answers through its vxlan device.
"$TRAFFIC" --socket "${MH_SOCK[A]}" --vf "$vf_a" ping --src-ip "$ip_a" --dst-ip "$ip_k" --count 5 --timeout 5 \
  >"$WORK/ping.out" 2>&1 || die "A's pings to the kernel's $ip_k were not all answered: $(cat "$WORK/ping.out")"
log "A -> kernel: $(cat "$WORK/ping.out")"
k ip -s link show vx0 >"$WORK/vx0.out"
mh_alive A
log "PASS"
