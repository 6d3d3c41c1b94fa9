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
eni() { ec2 run-instances --instance-type m5.large --subnet-id "$subnet" --private-ip-address "$1" |
  field "j['Instances'][0]['NetworkInterfaces'][0]['NetworkInterfaceId']"; }
eni_a=$(eni 10.0.1.10)
eni_b=$(eni 10.0.1.11)

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

reply=$(call ec2.DeleteFlowLogs "{\"FlowLogIds\": [\"$fl\"]}")
[ "$(echo "$reply" | json_get "len(j['result']['Unsuccessful'])")" = 0 ] || die "DeleteFlowLogs: $reply"
sleep 1.5 # a window that may have been collecting when we deleted
n=$(wc -l <"$file")
sleep 2.5
[ "$(wc -l <"$file")" -eq "$n" ] || die "records still written after DeleteFlowLogs"
stop_venicd
log "PASS"
