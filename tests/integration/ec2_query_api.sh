#!/usr/bin/env bash
# The EC2 Query API as its users meet it: Debian's aws CLI and boto3, pointed
# at venicd --ec2-api with --endpoint-url, build a network (VPC, subnet, a
# group with a rule, two instances, an extra ENI attached to one), describe
# and wait on it, and traffic to the ENI's address reaches its VF.  A badly
# signed or unsigned request gets AuthFailure; a second key (uid 1001) sees
# none of root's resources; a retried RunInstances with the same ClientToken
# creates one instance.  The teardown (terminate-instances, delete-*) and
# describe --filters run when venicd models them, and are skipped with a
# message while it answers InvalidAction / UnknownParameter.
source "$(dirname "$0")/lib.sh"

AWS=/usr/bin/aws  # Debian's aws CLI, not a pyenv shim
[ -x "$AWS" ] || die "Debian's awscli is not installed (ci/install-deps)"
python3 -c "import boto3" 2>/dev/null || die "python3-boto3 is not installed (ci/install-deps)"

PORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
KEYS=$WORK/ec2-keys
printf '# ACCESS_KEY_ID SECRET_ACCESS_KEY UID\nAKIDVENICROOT0001 venic-root-secret 0\nAKIDVENICUSER1001 venic-user-secret 1001\n' >"$KEYS"
chmod 0644 "$KEYS"
start_venicd_expect_refusal() {
  "$VENICD" --socket "$SOCK" --state "$STATE" --ec2-api "127.0.0.1:$PORT" --ec2-access-keys "$KEYS" -- --no-pci \
    --no-huge -m 128 --no-shconf --no-telemetry >"$WORK/refused.out" 2>&1 && die "venicd started with a readable key file"
  grep -q "chmod 600" "$WORK/refused.out" || die "the key-file refusal does not say why: $(cat "$WORK/refused.out")"
}
start_venicd_expect_refusal
"$VENICD" --socket "$SOCK" --state "$STATE" --ec2-api "127.0.0.1:$PORT" -- --no-pci --no-huge -m 128 --no-shconf \
  --no-telemetry >"$WORK/refused.out" 2>&1 && die "venicd served the EC2 API without access keys"
grep -q "needs --ec2-access-keys" "$WORK/refused.out" || die "no keys: $(cat "$WORK/refused.out")"
chmod 0600 "$KEYS"
start_venicd --ec2-api "127.0.0.1:$PORT" --ec2-access-keys "$KEYS"
grep -q "EC2 API on http://127.0.0.1:$PORT/" "$WORK/venicd.log" || die "venicd does not say where the EC2 API is"

export AWS_ACCESS_KEY_ID=AKIDVENICROOT0001 AWS_SECRET_ACCESS_KEY=venic-root-secret AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export ENDPOINT=http://127.0.0.1:$PORT
aws_ec2() { "$AWS" --endpoint-url "$ENDPOINT" ec2 "$@"; }
awsq() { aws_ec2 "$@" --output text || die "aws ec2 $1 failed"; }

# ---- a network, with the aws CLI ----
vpc=$(awsq create-vpc --cidr-block 10.0.0.0/16 --query Vpc.VpcId)
subnet=$(awsq create-subnet --vpc-id "$vpc" --cidr-block 10.0.1.0/24 --availability-zone us-east-1a \
  --query Subnet.SubnetId)
sg=$(awsq create-security-group --group-name web --description "web servers" --vpc-id "$vpc" --query GroupId)
awsq authorize-security-group-ingress --group-id "$sg" \
  --ip-permissions 'IpProtocol=udp,FromPort=0,ToPort=65535,IpRanges=[{CidrIp=10.0.0.0/16}]' >/dev/null
read -r inst_a inst_b < <(awsq run-instances --instance-type m5.large --subnet-id "$subnet" --security-group-ids "$sg" \
  --count 2 --query 'Instances[].InstanceId' | tr '\t' ' ')
[ -n "$inst_b" ] || die "run-instances --count 2 did not answer two instances"
log "aws CLI: $vpc $subnet $sg, instances $inst_a $inst_b"
[ "$(awsq describe-security-groups --group-ids "$sg" --query 'SecurityGroups[0].IpPermissions[0].IpRanges[0].CidrIp')" = \
  10.0.0.0/16 ] || die "the ingress rule does not read back"
timeout 60 "$AWS" --endpoint-url "$ENDPOINT" ec2 wait instance-running --instance-ids "$inst_a" "$inst_b" ||
  die "aws ec2 wait instance-running did not return"
[ "$(awsq describe-instances --instance-ids "$inst_a" --query 'Reservations[0].Instances[0].State.Name')" = running ] ||
  die "describe-instances does not say running"

eni=$(awsq create-network-interface --subnet-id "$subnet" --groups "$sg" --description "moves between instances" \
  --query NetworkInterface.NetworkInterfaceId)
awsq attach-network-interface --network-interface-id "$eni" --instance-id "$inst_a" --device-index 1 >/dev/null
[ "$(awsq describe-network-interfaces --network-interface-ids "$eni" --query 'NetworkInterfaces[0].Attachment.InstanceId')" = \
  "$inst_a" ] || die "the ENI is not attached to $inst_a"
[ "$(awsq describe-instances --instance-ids "$inst_a" --query 'length(Reservations[0].Instances[0].NetworkInterfaces)')" = 2 ] ||
  die "instance A does not show two ENIs"

# ---- traffic to the ENI (attached through the EC2 API) reaches its VF ----
vf_x=$(ec2 describe-network-interfaces --network-interface-ids "$eni" | field "j['NetworkInterfaces'][0]['VenicVfId']")
ip_x=$(awsq describe-network-interfaces --network-interface-ids "$eni" --query 'NetworkInterfaces[0].PrivateIpAddress')
mac_x=$(awsq describe-network-interfaces --network-interface-ids "$eni" --query 'NetworkInterfaces[0].MacAddress')
ec2 describe-instances --instance-ids "$inst_b" >"$WORK/b.json"
read -r vf_b ip_b < <(field "' '.join(str(x) for x in (lambda n: (n['VenicVfId'], n['PrivateIpAddress']))(j['Reservations'][0]['Instances'][0]['NetworkInterfaces'][0]))" <"$WORK/b.json")
"$TRAFFIC" --socket "$SOCK" --vf "$vf_x" recv --count 200 --timeout 10 >"$WORK/recv.out" &
recv_pid=$!
PIDS+=("$recv_pid")
for _ in $(seq 50); do [ "$(ctl vf show "$vf_x" --json | json_get "j['started']")" = True ] && break; sleep 0.1; done
"$TRAFFIC" --socket "$SOCK" --vf "$vf_b" send --dst-mac "$mac_x" --count 200 --size 256 --udp-flows 1 \
  --src-ip "$ip_b" --dst-ip "$ip_x" >/dev/null || die "send from instance B failed"
wait "$recv_pid" || die "the ENI's VF did not get B's traffic: $(cat "$WORK/recv.out")"
log "traffic from $inst_b reached $eni (VF $vf_x): $(cat "$WORK/recv.out")"

# ---- refused: a bad signature, an unknown key, no signature at all ----
out=$(AWS_SECRET_ACCESS_KEY=not-the-secret aws_ec2 describe-vpcs 2>&1) && die "a badly signed request was served"
grep -q AuthFailure <<<"$out" || die "a badly signed request: $out"
out=$(AWS_ACCESS_KEY_ID=AKIDNOSUCHKEY0001 aws_ec2 describe-vpcs 2>&1) && die "an unknown key was served"
grep -q AuthFailure <<<"$out" || die "an unknown key: $out"
python3 - <<'PY' || die "an unsigned request was not refused with 401 AuthFailure"
import os, urllib.request, urllib.error
req = urllib.request.Request(os.environ["ENDPOINT"] + "/", data=b"Action=DescribeVpcs&Version=2016-11-15",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
try:
    urllib.request.urlopen(req, timeout=10)
    raise SystemExit(1)
except urllib.error.HTTPError as e:
    body = e.read().decode()
    raise SystemExit(0 if e.code == 401 and "<Code>AuthFailure</Code>" in body else 1)
PY

# ---- hostile clients: an oversized body, a burst of idle connections, concurrent callers ----
python3 - <<'PY' || die "the endpoint did not stand up to hostile clients"
import os, socket, urllib.request, urllib.error
host, port = "127.0.0.1", int(os.environ["ENDPOINT"].rsplit(":", 1)[1])
req = urllib.request.Request(os.environ["ENDPOINT"] + "/", data=b"Action=DescribeVpcs&" + b"A" * (2 << 20),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
try:
    urllib.request.urlopen(req, timeout=20)
    raise SystemExit("a 2 MiB body was served")
except urllib.error.HTTPError as e:
    assert e.code in (413, 400), e.code
except (ConnectionError, urllib.error.URLError):
    pass  # closed on us: refused as well
socks = [socket.create_connection((host, port), timeout=5) for _ in range(30)]
for s in socks:
    s.close()
PY
python3 - <<'PY' || die "concurrent signed requests failed"
import os, boto3
from concurrent.futures import ThreadPoolExecutor
ec2 = boto3.client("ec2", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1")
with ThreadPoolExecutor(8) as pool:
    answers = list(pool.map(lambda _: len(ec2.describe_vpcs()["Vpcs"]), range(40)))
assert answers == [1] * 40, answers
PY
assert_venicd_alive

# ---- boto3: another owner's view, ClientToken, paginators ----
AWS_ACCESS_KEY_ID=AKIDVENICUSER1001 AWS_SECRET_ACCESS_KEY=venic-user-secret python3 - "$vpc" <<'PY' || die "boto3 checks failed"
import os, sys, boto3, botocore
root_vpc = sys.argv[1]
ec2 = boto3.client("ec2", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1")
assert ec2.describe_vpcs()["Vpcs"] == [], "uid 1001 sees root's VPC"
try:
    ec2.describe_vpcs(VpcIds=[root_vpc])
    raise AssertionError("uid 1001 described root's VPC")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] in ("InvalidVpcID.NotFound", "UnauthorizedOperation"), e.response
vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]
assert vpc["OwnerId"] == "000000001001", vpc
sub = ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock="10.1.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
a = ec2.run_instances(InstanceType="c5.large", SubnetId=sub, MinCount=1, MaxCount=1, ClientToken="retry-me-1")
b = ec2.run_instances(InstanceType="c5.large", SubnetId=sub, MinCount=1, MaxCount=1, ClientToken="retry-me-1")
assert a["Instances"][0]["InstanceId"] == b["Instances"][0]["InstanceId"], "a retried RunInstances created twice"
mine = [i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
assert mine == [a["Instances"][0]["InstanceId"]], mine
ec2.get_waiter("instance_running").wait(InstanceIds=mine, WaiterConfig={"Delay": 1, "MaxAttempts": 10})
for n in range(2, 8):
    ec2.create_vpc(CidrBlock="10.%d.0.0/16" % n)
pages = list(ec2.get_paginator("describe_vpcs").paginate(PaginationConfig={"PageSize": 5}))
ids = [v["VpcId"] for p in pages for v in p["Vpcs"]]
assert len(pages) == 2 and len(ids) == 7 and len(set(ids)) == 7, (len(pages), ids)
print("boto3: uid 1001 sees its own only; ClientToken retried once; 7 VPCs in 2 pages")
PY

# ---- what venicd models once the lifecycle is merged: skipped until then ----
not_modelled() { grep -qE "InvalidAction|UnknownParameter|is not recognized" <<<"$1"; }
if out=$(aws_ec2 describe-instances --filters Name=instance-state-name,Values=running \
  --query 'Reservations[].Instances[].InstanceId' --output text 2>&1); then
  for i in "$inst_a" "$inst_b"; do grep -q "$i" <<<"$out" || die "describe-instances --filters lost $i: $out"; done
  out=$(awsq describe-instances --filters "Name=instance-id,Values=$inst_a" --query 'Reservations[].Instances[].InstanceId')
  [ "$out" = "$inst_a" ] || die "describe-instances --filters instance-id=$inst_a answered: $out"
  log "describe-instances --filters: ok"
elif not_modelled "$out"; then
  log "SKIP describe-instances --filters: venicd does not model filters yet ($out)"
else
  die "describe-instances --filters: $out"
fi

if out=$(aws_ec2 terminate-instances --instance-ids "$inst_a" "$inst_b" --output text 2>&1); then
  # Terminated instances read back as "terminated" for a while on EC2, or are gone.
  for _ in $(seq 60); do
    states=$(aws_ec2 describe-instances --instance-ids "$inst_a" "$inst_b" \
      --query 'Reservations[].Instances[].State.Name' --output text 2>&1) || states=gone
    grep -q NotFound <<<"$states" && states=gone
    [ -z "$(tr -s '\t ' '\n\n' <<<"$states" | grep -vxE 'terminated|gone|')" ] && break
    sleep 0.5
  done
  [ -z "$(tr -s '\t ' '\n\n' <<<"$states" | grep -vxE 'terminated|gone|')" ] ||
    die "the instances did not terminate: $states"
  out=$(aws_ec2 delete-vpc --vpc-id "$vpc" 2>&1) && die "a VPC with a subnet was deleted"
  grep -q DependencyViolation <<<"$out" || die "delete-vpc with a subnet: $out"
  # The extra ENI (not DeleteOnTermination) outlives its instance, detached.
  att=$(aws_ec2 describe-network-interfaces --network-interface-ids "$eni" \
    --query 'NetworkInterfaces[0].Attachment.AttachmentId' --output text 2>/dev/null) || att=None
  [ "$att" = None ] || aws_ec2 detach-network-interface --attachment-id "$att" >/dev/null 2>&1 || true
  awsq delete-network-interface --network-interface-id "$eni" >/dev/null
  awsq revoke-security-group-ingress --group-id "$sg" \
    --ip-permissions 'IpProtocol=udp,FromPort=0,ToPort=65535,IpRanges=[{CidrIp=10.0.0.0/16}]' >/dev/null
  [ "$(awsq describe-security-groups --group-ids "$sg" --query 'length(SecurityGroups[0].IpPermissions)')" = 0 ] ||
    die "the revoked rule is still there"
  awsq delete-security-group --group-id "$sg" >/dev/null
  awsq delete-subnet --subnet-id "$subnet" >/dev/null
  awsq delete-vpc --vpc-id "$vpc" >/dev/null
  out=$(aws_ec2 describe-vpcs --vpc-ids "$vpc" 2>&1) && die "the deleted VPC still reads back: $out"
  grep -q InvalidVpcID.NotFound <<<"$out" || die "describe-vpcs of the deleted VPC: $out"
  log "teardown through the aws CLI: ok"
elif not_modelled "$out"; then
  log "SKIP the teardown (terminate-instances, delete-*, revoke-*): venicd does not model it yet ($out)"
else
  die "terminate-instances: $out"
fi

assert_venicd_alive
stop_venicd
log "PASS"
