#!/usr/bin/env bash
# Placement groups and public addresses as EC2 enforces them, through the
# EC2 Query API with boto3 (pointed at venicd --ec2-api): a spread group's
# 8th running instance in a zone is refused (InsufficientInstanceCapacity),
# also on start; a cluster group stays in one zone (InvalidPlacementGroup.InUse)
# and refuses a burstable type (InvalidParameterCombination); a partition
# group numbers its instances; a stopped instance gives its public IPv4 back
# and gets a new one on start.  The cluster group's 10 Gbps per flow between
# members only is pipeline_stages_test's (PoliceStage): a loaded 2-core box
# cannot push one flow past 5 Gbps reliably enough to measure it here.
source "$(dirname "$0")/lib.sh"

python3 -c "import boto3" 2>/dev/null || die "python3-boto3 is not installed (ci/install-deps)"
PORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
KEYS=$WORK/ec2-keys
printf 'AKIDVENICROOT0001 venic-root-secret 0\n' >"$KEYS"
chmod 0600 "$KEYS"
start_venicd --ec2-api "127.0.0.1:$PORT" --ec2-access-keys "$KEYS"

ENDPOINT=http://127.0.0.1:$PORT AWS_ACCESS_KEY_ID=AKIDVENICROOT0001 AWS_SECRET_ACCESS_KEY=venic-root-secret \
  AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
  python3 - <<'PY' || die "a placement rule or the public address on stop does not hold (see above)"
import os, sys, boto3, botocore.exceptions

ec2 = boto3.client("ec2", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1")

def refused(code, call, **kw):
    try:
        call(**kw)
    except botocore.exceptions.ClientError as e:
        got = e.response["Error"]["Code"]
        assert got == code, f"{call.__name__}: {got}, want {code} ({e})"
        print(f"[placement_groups] refused as EC2 does: {got}: {e.response['Error']['Message']}")
        return
    raise AssertionError(f"{call.__name__} {kw} was not refused (want {code})")

def run(subnet, type_="m5.large", count=1, **placement):
    r = ec2.run_instances(InstanceType=type_, SubnetId=subnet, MinCount=count, MaxCount=count,
                          **({"Placement": placement} if placement else {}))
    return [i["InstanceId"] for i in r["Instances"]]

def instance(iid):
    return ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]

vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
a = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
b = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.2.0/24", AvailabilityZone="us-east-1b")["Subnet"]["SubnetId"]

# Spread: seven running per zone.
ec2.create_placement_group(GroupName="apart", Strategy="spread")
seven = run(a, count=7, GroupName="apart")
refused("InsufficientInstanceCapacity", ec2.run_instances, InstanceType="m5.large", SubnetId=a, MinCount=1,
        MaxCount=1, Placement={"GroupName": "apart"})
run(b, GroupName="apart")  # another zone has its own seven
ec2.stop_instances(InstanceIds=[seven[0]])
run(a, GroupName="apart")
refused("InsufficientInstanceCapacity", ec2.start_instances, InstanceIds=[seven[0]])

# Cluster: one zone, supported types.
ec2.create_placement_group(GroupName="tight", Strategy="cluster")
refused("InvalidParameterCombination", ec2.run_instances, InstanceType="t3.nano", SubnetId=a, MinCount=1,
        MaxCount=1, Placement={"GroupName": "tight"})
run(a, "c5n.18xlarge", GroupName="tight")
refused("InvalidPlacementGroup.InUse", ec2.run_instances, InstanceType="c5n.18xlarge", SubnetId=b, MinCount=1,
        MaxCount=1, Placement={"GroupName": "tight"})

# Partition: numbered, given or spread.
ec2.create_placement_group(GroupName="racks", Strategy="partition", PartitionCount=3)
pg = ec2.describe_placement_groups(GroupNames=["racks"])["PlacementGroups"][0]
assert pg["PartitionCount"] == 3, pg
two = run(a, GroupName="racks", PartitionNumber=2)[0]
assert instance(two)["Placement"]["PartitionNumber"] == 2, instance(two)["Placement"]
spread = sorted(instance(i)["Placement"]["PartitionNumber"] for i in run(a, count=2, GroupName="racks"))
assert spread == [1, 3], f"the emptiest partitions first: {spread}"
refused("InvalidParameterValue", ec2.run_instances, InstanceType="m5.large", SubnetId=a, MinCount=1, MaxCount=1,
        Placement={"GroupName": "racks", "PartitionNumber": 4})

# A public IPv4 is given back on stop, a new one given on start.
ec2.modify_subnet_attribute(SubnetId=b, MapPublicIpOnLaunch={"Value": True})
pub = run(b)[0]
first = instance(pub)["PublicIpAddress"]
ec2.stop_instances(InstanceIds=[pub])
stopped = instance(pub)
assert "PublicIpAddress" not in stopped, stopped
eni = stopped["NetworkInterfaces"][0]["NetworkInterfaceId"]
assert "Association" not in ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]
ec2.start_instances(InstanceIds=[pub])
again = instance(pub).get("PublicIpAddress")
assert again and again != first, f"{first} -> {again}"
print(f"[placement_groups] public IPv4 {first}, released on stop, {again} on start")
PY
assert_venicd_alive
stop_venicd
log "PASS"
