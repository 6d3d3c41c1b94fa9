#!/usr/bin/env bash
# An ENI moves between hosts: instance 1 on host A, instance 2 on host B, and
# a secondary ENI X.  Attached to instance 1, X's VF is on A and answers
# pings from instance 2 (B -> A through the underlay).  Detached and attached
# to instance 2, X keeps its MAC and address, its VF is on B, and what
# instance 1 sends to X's address reaches B's VF (A -> B); A's old VF for X,
# if it keeps one, receives nothing.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
mh_cluster A B

read -r vpc subnet sg < <(mh_network A 10.0.0.0/16 10.0.1.0/24)
read -r inst1 _ mac1 ip1 < <(mh_instance A A "$subnet" "$sg" 10.0.1.10)
read -r inst2 _ mac2 ip2 < <(mh_instance A B "$subnet" "$sg" 10.0.1.11)
vf1=$(mh_vf A "$mac1")
vf2=$(mh_vf B "$mac2")
mh_ec2 A create-network-interface --subnet-id "$subnet" --groups "$sg" --private-ip-address 10.0.1.50 \
  --description "moves between hosts" >"$WORK/eni.json"
read -r eni mac_x ip_x < <(json_get "' '.join((j['NetworkInterface'][k] for k in ('NetworkInterfaceId', 'MacAddress', 'PrivateIpAddress')))" <"$WORK/eni.json")
log "$vpc: $inst1 on A (VF $vf1), $inst2 on B (VF $vf2); $eni $ip_x $mac_x"

# answer_on HOST VF LABEL: X's VF on HOST answers pings to X's address for a while.
answer_on() {
  "$TRAFFIC" --socket "${MH_SOCK[$1]}" --vf "$2" answer-ping --ip "$ip_x" --seconds 30 >"$WORK/$3.answer.out" 2>&1 &
  PIDS+=("$!")
  ANSWER_PID=$!
  ANSWER_AT=("$1" "$2")
  for _ in $(seq 50); do
    [ "$(mh_ctl "$1" vf show "$2" --json | json_get "j['started']")" = True ] && return 0
    sleep 0.1
  done
  die "$3: the answerer on host $1 did not start"
}
# ping_from HOST VF SRC LABEL: 5 pings from HOST's VF to X, every one answered.
ping_from() {
  "$TRAFFIC" --socket "${MH_SOCK[$1]}" --vf "$2" ping --src-ip "$3" --dst-ip "$ip_x" --count 5 --timeout 5 \
    >"$WORK/$4.ping.out" 2>&1 || die "$4: pings from host $1 to $ip_x were not all answered: $(cat "$WORK/$4.ping.out")"
  log "$4: $(cat "$WORK/$4.ping.out")"
}
answer_stop() { # and wait until venicd saw its driver go
  kill -TERM "$ANSWER_PID" 2>/dev/null || true
  wait "$ANSWER_PID" 2>/dev/null || true
  for _ in $(seq 50); do
    [ "$(mh_ctl "${ANSWER_AT[0]}" vf show "${ANSWER_AT[1]}" --json | json_get "j['attached']")" = False ] && return 0
    sleep 0.1
  done
  die "host ${ANSWER_AT[0]}'s VF ${ANSWER_AT[1]} stayed attached after its driver exited"
}

attach=$(mh_ec2 A attach-network-interface --network-interface-id "$eni" --instance-id "$inst1" --device-index 1 |
  json_get "j['AttachmentId']")
vf_xa=$(mh_vf A "$mac_x")
mh_no_vf B "$mac_x" || die "host B has a VF for $eni, attached on A"
mh_reach B "$vf2" A "$vf_xa" "$mac_x" "$ip2" "$ip_x"
answer_on A "$vf_xa" on-a
ping_from B "$vf2" "$ip2" on-a
answer_stop
[ "$(mh_stat A "$vf_xa" rx_pkts)" -ge 5 ] || die "A's VF for $eni counted no received frames"

# The move: detached from instance 1, attached to instance 2 (through B's endpoint).
mh_ec2 B detach-network-interface --attachment-id "$attach" >/dev/null
for _ in $(seq 100); do
  [ "$(mh_ec2 B describe-network-interfaces --network-interface-ids "$eni" | json_get "j['NetworkInterfaces'][0]['Status']")" = available ] && break
  sleep 0.1
done
mh_ec2 B attach-network-interface --network-interface-id "$eni" --instance-id "$inst2" --device-index 1 >/dev/null
mh_ec2 A describe-network-interfaces --network-interface-ids "$eni" >"$WORK/moved.json"
[ "$(json_get "j['NetworkInterfaces'][0]['Attachment']['InstanceId']" <"$WORK/moved.json")" = "$inst2" ] ||
  die "A does not see $eni attached to $inst2: $(cat "$WORK/moved.json")"
[ "$(json_get "j['NetworkInterfaces'][0]['MacAddress']" <"$WORK/moved.json")" = "$mac_x" ] &&
  [ "$(json_get "j['NetworkInterfaces'][0]['PrivateIpAddress']" <"$WORK/moved.json")" = "$ip_x" ] ||
  die "$eni's MAC or address changed with the move"
vf_xb=$(mh_vf B "$mac_x")
old_rx=-1
if mh_no_vf A "$mac_x"; then
  log "A removed its VF for $eni"
else
  old_rx=$(mh_stat A "$vf_xa" rx_pkts)
  [ "$(mh_ctl A vf show "$vf_xa" --json | json_get "j['link']")" = down ] || die "A's VF for the moved $eni still has its link up"
fi

answer_on B "$vf_xb" on-b
# B's venicd may still be publishing the move to A's fast path: a first try may go unanswered.
for try in 1 2 3 4 5 6 7 8 9 10; do
  "$TRAFFIC" --socket "${MH_SOCK[A]}" --vf "$vf1" ping --src-ip "$ip1" --dst-ip "$ip_x" --count 1 --timeout 1 >/dev/null 2>&1 && break
  [ "$try" -lt 10 ] || die "A never reached $eni on B"
done
ping_from A "$vf1" "$ip1" after-move
answer_stop
[ "$(mh_stat B "$vf_xb" rx_pkts)" -ge 5 ] || die "B's VF for $eni counted no received frames"
# Paced frames too, every byte checked, on B's VF.
mh_recv moved B "$vf_xb" 500
mh_send A "$vf1" "$mac_x" "$ip1" "$ip_x" 500 --size 1000
mh_recv_wait moved
if [ "$old_rx" -ge 0 ]; then
  [ "$(mh_stat A "$vf_xa" rx_pkts)" -eq "$old_rx" ] || die "A's old VF for $eni still received frames after the move"
fi
mh_alive A
mh_alive B
log "PASS"
