#!/usr/bin/env bash
# VPC Flow Logs through the control socket: ec2.CreateFlowLogs for a VPC
# writes, every (test-shortened) window, version-2 records for each of its
# ENIs to <flow-log-dir>/<account-id>/<LogDestination>; a bad request is
# refused; DeleteFlowLogs stops the writing.  (The fast path's per-flow
# records are covered by the flow_log unit tests.)
source "$(dirname "$0")/lib.sh"
export VENIC_FLOW_LOG_WINDOW_S=1
start_venicd --flow-log-dir "$WORK/flow-logs"

# call METHOD PARAMS-JSON: the reply, as one JSON line.
call() {
  python3 - "$SOCK" "$1" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.send(json.dumps({"id": 1, "method": sys.argv[2], "params": json.loads(sys.argv[3])}).encode())
print(s.recv(262144).decode())
PY
}

vpc=$(new_vpc 10.0.0.0/16)
subnet=$(new_subnet "$vpc" 10.0.1.0/24)
# B's group lets in UDP 5001 from the VPC, nothing else.
web=$(ec2 create-security-group --group-name web --description "UDP 5001 only" --vpc-id "$vpc" | field "j['GroupId']")
ec2 authorize-security-group-ingress --group-id "$web" --protocol udp --port 5001 --cidr 10.0.0.0/16 >/dev/null
eni() { # IP [GROUP]: "ENI VF MAC"
  ec2 run-instances --instance-type m5.large --subnet-id "$subnet" --private-ip-address "$1" ${2:+--security-group-ids "$2"} |
    field "(lambda n: f\"{n['NetworkInterfaceId']} {n['VenicVfId']} {n['MacAddress']}\")(j['Instances'][0]['NetworkInterfaces'][0])"
}
read -r eni_a vf_a _ < <(eni 10.0.1.10)
read -r eni_b vf_b mac_b < <(eni 10.0.1.11 "$web")

bad=$(call ec2.CreateFlowLogs "{\"ResourceIds\": [\"$vpc\"], \"ResourceType\": \"VPC\", \"LogDestination\": \"../../etc/x\"}")
echo "$bad" | grep -q '"aws_code":"InvalidParameter"' || die "a LogDestination outside the directory was not refused: $bad"
bad=$(call ec2.CreateFlowLogs "{\"ResourceIds\": [\"$vpc\"], \"ResourceType\": \"VPC\", \"MaxAggregationInterval\": 30}")
echo "$bad" | grep -q '"aws_code":"InvalidParameter"' || die "MaxAggregationInterval 30 was not refused: $bad"

reply=$(call ec2.CreateFlowLogs "{\"ResourceIds\": [\"$vpc\"], \"ResourceType\": \"VPC\", \"TrafficType\": \"ALL\",
  \"LogDestinationType\": \"file\", \"LogDestination\": \"vpc.log\", \"MaxAggregationInterval\": 60}")
fl=$(echo "$reply" | json_get "j['result']['FlowLogIds'][0]") || die "CreateFlowLogs failed: $reply"
desc=$(call ec2.DescribeFlowLogs "{\"FlowLogIds\": [\"$fl\"]}")
echo "$desc" | json_get "j['result']['FlowLogs'][0]['ResourceId']" | grep -qx "$vpc" || die "DescribeFlowLogs: $desc"
log "flow log $fl for $vpc"

file=$WORK/flow-logs/000000000000/vpc.log
for _ in $(seq 50); do [ -s "$file" ] && [ "$(wc -l <"$file")" -ge 2 ] && break; sleep 0.1; done
[ -s "$file" ] || die "no flow log records in $file"
head -n 2 "$file" | sed "s/^/[$TEST_NAME]   /"
for e in "$eni_a" "$eni_b"; do
  grep -Eq "^2 000000000000 $e - - - - - - - [0-9]+ [0-9]+ - NODATA$" "$file" || die "no NODATA record for $e"
done

# Real traffic, A to B: 30 packets of a flow B's group admits, 20 of one it
# does not.  A's log accepts both (its egress allows all); B's accepts the
# first and rejects the second, with the 5-tuples and the packet counts.
"$TRAFFIC" --socket "$SOCK" --vf "$vf_b" recv --count 30 --timeout 5 --idle 2 >"$WORK/recv.out" &
recv=$!
PIDS+=("$recv")
sleep 0.3
# The refused flow first: the receiver leaves once it has the 30 admitted.
"$TRAFFIC" --socket "$SOCK" --vf "$vf_a" send --dst-mac "$mac_b" --count 20 --flows 1 --src-port 40001 \
  --dst-port 5002 --src-ip 10.0.1.10 --dst-ip 10.0.1.11 >/dev/null || die "sending the refused flow failed"
"$TRAFFIC" --socket "$SOCK" --vf "$vf_a" send --dst-mac "$mac_b" --count 30 --flows 1 --src-port 40000 \
  --dst-port 5001 --src-ip 10.0.1.10 --dst-ip 10.0.1.11 >/dev/null || die "sending the admitted flow failed"
wait "$recv" || true
# count RECORD-PATTERN: the packets of the records that match, summed over windows.
count() { awk -v pat="$1" '$0 ~ pat { n += $9 } END { print n + 0 }' "$file"; }
accept_a="^2 000000000000 $eni_a 10.0.1.10 10.0.1.11 40000 5001 17 [0-9]+ [0-9]+ [0-9]+ [0-9]+ ACCEPT OK$"
reject_b="^2 000000000000 $eni_b 10.0.1.10 10.0.1.11 40001 5002 17 [0-9]+ [0-9]+ [0-9]+ [0-9]+ REJECT OK$"
accept_b="^2 000000000000 $eni_b 10.0.1.10 10.0.1.11 40000 5001 17 [0-9]+ [0-9]+ [0-9]+ [0-9]+ ACCEPT OK$"
for _ in $(seq 60); do [ "$(count "$reject_b")" -ge 20 ] && [ "$(count "$accept_b")" -ge 30 ] && break; sleep 0.1; done
grep -E " (ACCEPT|REJECT) OK$" "$file" | sed "s/^/[$TEST_NAME]   /"
[ "$(count "$accept_a")" -eq 30 ] || die "A's ACCEPT record for 40000->5001 counts $(count "$accept_a") packets, not 30"
[ "$(count "$accept_b")" -eq 30 ] || die "B's ACCEPT record for 40000->5001 counts $(count "$accept_b") packets, not 30"
[ "$(count "$reject_b")" -eq 20 ] || die "B's REJECT record for 40001->5002 counts $(count "$reject_b") packets, not 20"
! grep -Eq "^2 000000000000 $eni_b .* 40000 5001 .* REJECT" "$file" || die "an admitted flow was logged as REJECT"

reply=$(call ec2.DeleteFlowLogs "{\"FlowLogIds\": [\"$fl\"]}")
[ "$(echo "$reply" | json_get "len(j['result']['Unsuccessful'])")" = 0 ] || die "DeleteFlowLogs: $reply"
sleep 1.5 # a window that may have been collecting when we deleted
n=$(wc -l <"$file")
sleep 2.5
[ "$(wc -l <"$file")" -eq "$n" ] || die "records still written after DeleteFlowLogs"
stop_venicd
log "PASS"
