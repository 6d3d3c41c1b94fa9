#!/usr/bin/env bash
# Failures: three venicd hosts A, B and C, an instance on each.
# - kill -9 of B's venicd while A sends to C, paced, for several seconds:
#   every frame reaches C (the others' traffic never stopped); B restarted
#   rejoins from etcd and serves its ENI again (A -> B arrives, B's VF keeps
#   its MAC).
# - etcd stopped: a change (aws ec2 create-vpc through A) fails cleanly with
#   ServiceUnavailable, while A -> C and A -> B keep flowing; etcd back, a
#   change succeeds again.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
mh_cluster A B C

read -r vpc subnet sg < <(mh_network A 10.0.0.0/16 10.0.1.0/24)
read -r _ _ mac_a ip_a < <(mh_instance A A "$subnet" "$sg" 10.0.1.10)
read -r _ eni_b mac_b ip_b < <(mh_instance A B "$subnet" "$sg" 10.0.1.11)
read -r _ _ mac_c ip_c < <(mh_instance A C "$subnet" "$sg" 10.0.1.12)
vf_a=$(mh_vf A "$mac_a")
vf_b=$(mh_vf B "$mac_b")
vf_c=$(mh_vf C "$mac_c")
log "$vpc: A VF $vf_a $ip_a, B VF $vf_b $ip_b ($eni_b), C VF $vf_c $ip_c"
mh_reach A "$vf_a" B "$vf_b" "$mac_b" "$ip_a" "$ip_b"
mh_reach A "$vf_a" C "$vf_c" "$mac_c" "$ip_a" "$ip_c"
mh_recv warm B "$vf_b" 100
mh_send A "$vf_a" "$mac_b" "$ip_a" "$ip_b" 100
mh_recv_wait warm

# ---- kill -9 B while A -> C flows: 12000 frames at 2000/s (6 s), every one arrives.
mh_recv steady C "$vf_c" 12000
"$TRAFFIC" --socket "${MH_SOCK[A]}" --vf "$vf_a" send --dst-mac "$mac_c" --udp-flows 1 --src-ip "$ip_a" --dst-ip "$ip_c" \
  --count 12000 --pps 2000 >"$WORK/steady.send.out" 2>&1 &
sender=$!
PIDS+=("$sender")
sleep 1
mh_kill B KILL
log "killed B's venicd (kill -9)"
sleep 1
mh_venicd B
log "B restarted"
wait "$sender" || die "A's sender failed: $(cat "$WORK/steady.send.out")"
mh_recv_wait steady

# B is back: its ENI's VF (same MAC), and traffic to it from A.
mh_wait_cluster B 3
vf_b=$(mh_vf B "$mac_b")
for _ in $(seq 50); do
  [ "$(mh_ctl B vf show "$vf_b" --json | json_get "j['link']")" = up ] && break
  sleep 0.1
done
[ "$(mh_ctl B vf show "$vf_b" --json | json_get "j['link']")" = up ] || die "B's VF for $eni_b is not up after the restart"
mh_reach A "$vf_a" B "$vf_b" "$mac_b" "$ip_a" "$ip_b"
mh_recv back B "$vf_b" 500
mh_send A "$vf_a" "$mac_b" "$ip_a" "$ip_b" 500
mh_recv_wait back

# ---- etcd down: changes fail cleanly, traffic flows
mh_etcd_stop
log "etcd stopped"
out=$(AWS_MAX_ATTEMPTS=1 AWS_RETRY_MODE=standard timeout 60 "$AWS" --endpoint-url "$(mh_endpoint A)" \
  --cli-read-timeout 30 ec2 create-vpc --cidr-block 10.9.0.0/16 2>&1) && die "create-vpc succeeded without etcd: $out"
grep -q ServiceUnavailable <<<"$out" || die "create-vpc without etcd did not fail with ServiceUnavailable: $out"
log "create-vpc without etcd: $(head -c 200 <<<"$out")"
mh_recv no_etcd_c C "$vf_c" 1000
mh_send A "$vf_a" "$mac_c" "$ip_a" "$ip_c" 1000
mh_recv_wait no_etcd_c
mh_recv no_etcd_b B "$vf_b" 1000
mh_send A "$vf_a" "$mac_b" "$ip_a" "$ip_b" 1000
mh_recv_wait no_etcd_b

# etcd back: changes work again.
mh_etcd_start
for try in $(seq 20); do
  out=$(AWS_MAX_ATTEMPTS=1 timeout 30 "$AWS" --endpoint-url "$(mh_endpoint A)" ec2 create-vpc --cidr-block 10.9.0.0/16 \
    --output json 2>&1) && break
  [ "$try" -lt 20 ] || die "create-vpc still fails after etcd came back: $out"
  sleep 0.5
done
new_vpc=$(json_get "j['Vpc']['VpcId']" <<<"$out")
for _ in $(seq 50); do
  mh_ec2_try C describe-vpcs --vpc-ids "$new_vpc" >/dev/null 2>&1 && break
  sleep 0.1
done
mh_ec2 C describe-vpcs --vpc-ids "$new_vpc" >/dev/null
for h in A B C; do mh_alive "$h"; done
log "PASS"
