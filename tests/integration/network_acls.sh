#!/usr/bin/env bash
# Network ACLs over real drivers, set up with Debian's aws CLI.  One VPC, two
# subnets: A (10.0.1.10, client) and C (10.0.1.11) in 10.0.1.0/24, B
# (10.0.2.20, dpdk-testpmd 5tswap echoing through the router) in
# 10.0.2.0/24.  B's and C's group lets UDP 5001-5003 in from the VPC; A's
# lets nothing in (its replies pass as tracked flows).
# - With the default ACLs, A's UDP to B:5001 comes back.
# - B's subnet's ACL denies UDP 5002 in: what the group would allow is
#   dropped at B, every packet counted as nacl_ingress (none as sg_ingress).
# - A's subnet's ACL denies UDP 5003 out: dropped at A, counted nacl_egress.
# - UDP 5004 passes both ACLs, but B's group has no rule for it: an ACL
#   allow does not bypass a group (sg_ingress).
# - Stateless: A's subnet denying ports 20000-20999 in drops B's replies to
#   A's source port 20000 (nacl_ingress at A) though A's conntrack knows them.
# - A to C, one subnet, UDP 5003: switched or routed, the ACL that denies it
#   out of the subnet does not apply.
# - testpmd's xstats show drop_nacl_ingress.
source "$(dirname "$0")/lib.sh"

AWS=/usr/bin/aws # Debian's aws CLI, not a pyenv shim
[ -x "$AWS" ] || die "Debian's awscli is not installed (ci/install-deps)"
PORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
KEYS=$WORK/ec2-keys
printf 'AKIDVENICROOT0001 venic-root-secret 0\n' >"$KEYS"
chmod 0600 "$KEYS"
start_venicd --ec2-api "127.0.0.1:$PORT" --ec2-access-keys "$KEYS"
export AWS_ACCESS_KEY_ID=AKIDVENICROOT0001 AWS_SECRET_ACCESS_KEY=venic-root-secret AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
awsq() { "$AWS" --endpoint-url "http://127.0.0.1:$PORT" ec2 "$@" --output text || die "aws ec2 $1 failed"; }

vpc=$(awsq create-vpc --cidr-block 10.0.0.0/16 --query Vpc.VpcId)
s1=$(awsq create-subnet --vpc-id "$vpc" --cidr-block 10.0.1.0/24 --availability-zone us-east-1a --query Subnet.SubnetId)
s2=$(awsq create-subnet --vpc-id "$vpc" --cidr-block 10.0.2.0/24 --availability-zone us-east-1a --query Subnet.SubnetId)
srv=$(awsq create-security-group --group-name srv --description "UDP 5001-5003" --vpc-id "$vpc" --query GroupId)
awsq authorize-security-group-ingress --group-id "$srv" --protocol udp --port 5001-5003 --cidr 10.0.0.0/16 >/dev/null
client=$(awsq create-security-group --group-name client --description "nothing in" --vpc-id "$vpc" --query GroupId)
run() { # SUBNET IP GROUP: prints "VF MAC"
  ec2 run-instances --instance-type m5.large --subnet-id "$1" --private-ip-address "$2" --security-group-ids "$3" |
    field "(lambda n: f\"{n['VenicVfId']} {n['MacAddress']}\")(j['Instances'][0]['NetworkInterfaces'][0])"
}
read -r vf_a mac_a < <(run "$s1" 10.0.1.10 "$client")
read -r vf_c mac_c < <(run "$s1" 10.0.1.11 "$srv")
read -r vf_b mac_b < <(run "$s2" 10.0.2.20 "$srv")
log "A: VF $vf_a $mac_a; C: VF $vf_c $mac_c (subnet $s1); B: VF $vf_b $mac_b (subnet $s2)"
router=02:76:70:63:00:01

# Every subnet starts with its VPC's default ACL: all in, all out.
default=$(awsq describe-network-acls --filters "Name=vpc-id,Values=$vpc" Name=default,Values=true \
  --query 'NetworkAcls[0].NetworkAclId')
[ "$(awsq describe-network-acls --network-acl-ids "$default" --query 'length(NetworkAcls[0].Associations)')" = 2 ] ||
  die "the default ACL $default is not associated with both subnets"

testpmd_start server "$vf_b" "${EAL_COPY[@]}" -- --forward-mode=5tswap
echo_to_b() { # LABEL PORT [echo flags]: the replies A got of 40
  local label=$1 port=$2
  shift 2
  "$TRAFFIC" --socket "$SOCK" --vf "$vf_a" echo --dst-mac "$router" --count 40 --size 128 --flows 1 --proto udp \
    --src-ip 10.0.1.10 --dst-ip 10.0.2.20 --dst-port "$port" --timeout 2 "$@" >"$WORK/echo.out" || true
  log "$label: $(cat "$WORK/echo.out")" >&2
  json_get "j['received']" <"$WORK/echo.out"
}
got=$(echo_to_b "default ACLs, UDP 5001" 5001)
[ "$got" -eq 40 ] || die "with the default ACLs, $got of 40 replies came back"

# A custom ACL per subnet: allow all both ways (rule 100), with a deny before it.
new_acl() { # SUBNET: a new ACL allowing all both ways, associated with SUBNET
  local acl assoc
  acl=$(awsq create-network-acl --vpc-id "$vpc" --query NetworkAcl.NetworkAclId)
  for dir in --ingress --egress; do
    awsq create-network-acl-entry --network-acl-id "$acl" --rule-number 100 --protocol -1 --rule-action allow \
      --cidr-block 0.0.0.0/0 "$dir" >/dev/null
  done
  assoc=$(awsq describe-network-acls --filters "Name=association.subnet-id,Values=$1" \
    --query "NetworkAcls[0].Associations[?SubnetId=='$1'].NetworkAclAssociationId")
  awsq replace-network-acl-association --association-id "$assoc" --network-acl-id "$acl" >/dev/null
  echo "$acl"
}
acl_a=$(new_acl "$s1")
acl_b=$(new_acl "$s2")
awsq create-network-acl-entry --network-acl-id "$acl_b" --rule-number 90 --protocol udp --port-range From=5002,To=5002 \
  --rule-action deny --cidr-block 0.0.0.0/0 --ingress >/dev/null
awsq create-network-acl-entry --network-acl-id "$acl_a" --rule-number 90 --protocol udp --port-range From=5003,To=5003 \
  --rule-action deny --cidr-block 0.0.0.0/0 --egress >/dev/null
log "ACLs: A's subnet $acl_a (no UDP 5003 out), B's subnet $acl_b (no UDP 5002 in)"
[ "$(awsq describe-network-acls --network-acl-ids "$acl_b" \
  --query 'NetworkAcls[0].Entries[?RuleNumber==`90`].RuleAction')" = deny ] || die "describe does not show rule 90"

got=$(echo_to_b "custom ACLs, UDP 5001" 5001)
[ "$got" -eq 40 ] || die "UDP 5001 through the custom ACLs: $got of 40 replies"
got=$(echo_to_b "UDP 5002, denied into B's subnet" 5002)
[ "$got" -eq 0 ] || die "UDP 5002 got $got replies through B's ACL"
[ "$(stat_of "$vf_b" drops.nacl_ingress)" -eq 40 ] || die "B counted $(stat_of "$vf_b" drops.nacl_ingress) nacl_ingress, not 40"
[ "$(stat_of "$vf_b" drops.sg_ingress)" -eq 0 ] || die "B's group judged what its ACL dropped"
got=$(echo_to_b "UDP 5003, denied out of A's subnet" 5003)
[ "$got" -eq 0 ] || die "UDP 5003 got $got replies through A's ACL"
[ "$(stat_of "$vf_a" drops.nacl_egress)" -eq 40 ] || die "A counted $(stat_of "$vf_a" drops.nacl_egress) nacl_egress, not 40"
got=$(echo_to_b "UDP 5004, ACLs allow, the group does not" 5004)
[ "$got" -eq 0 ] || die "UDP 5004 got $got replies: an ACL allow bypassed B's group"
[ "$(stat_of "$vf_b" drops.sg_ingress)" -eq 40 ] || die "B counted $(stat_of "$vf_b" drops.sg_ingress) sg_ingress, not 40"
[ "$(stat_of "$vf_b" drops.nacl_ingress)" -eq 40 ] || die "the ACL counted what the group dropped"

# Stateless: the replies to A's source port need their own inbound entry.
awsq create-network-acl-entry --network-acl-id "$acl_a" --rule-number 80 --protocol udp \
  --port-range From=20000,To=20999 --rule-action deny --cidr-block 10.0.2.0/24 --ingress >/dev/null
got=$(echo_to_b "UDP 5001 from port 20000, replies denied into A's subnet" 5001 --src-port 20000)
[ "$got" -eq 0 ] || die "$got replies to port 20000 passed A's ACL"
[ "$(stat_of "$vf_a" drops.nacl_ingress)" -eq 40 ] || die "A counted $(stat_of "$vf_a" drops.nacl_ingress) nacl_ingress, not 40"
[ "$(stat_of "$vf_a" drops.sg_ingress)" -eq 0 ] || die "A's group dropped replies"
testpmd_stop server
# B got 5001 twice and from port 20000; nothing of what an ACL or its group dropped.
[ "$(testpmd_total server RX-packets)" -eq 120 ] || die "B's testpmd got $(testpmd_total server RX-packets) frames, not 120"

# Within one subnet the ACL that keeps UDP 5003 in does not apply.
to_c() { # LABEL DST-MAC: frames C received of 30
  "$TRAFFIC" --socket "$SOCK" --vf "$vf_c" recv --count 30 --timeout 3 --idle 1 >"$WORK/c.out" &
  local r=$!
  PIDS+=("$r")
  for _ in $(seq 50); do [ "$(ctl vf show "$vf_c" --json | json_get "j['started']")" = True ] && break; sleep 0.1; done
  "$TRAFFIC" --socket "$SOCK" --vf "$vf_a" send --dst-mac "$2" --count 30 --size 128 --flows 1 --proto udp \
    --src-ip 10.0.1.10 --dst-ip 10.0.1.11 --dst-port 5003 >/dev/null || die "$1: send from A failed"
  wait "$r" || true
  log "$1: $(cat "$WORK/c.out")" >&2
  json_get "j['received']" <"$WORK/c.out"
}
[ "$(to_c "A to C, switched" "$mac_c")" -eq 30 ] || die "A to C (one subnet, switched) met the ACL"
[ "$(to_c "A to C, through the router" "$router")" -eq 30 ] || die "A to C (one subnet, routed) met the ACL"
[ "$(stat_of "$vf_a" drops.nacl_egress)" -eq 40 ] || die "traffic inside the subnet was counted as nacl_egress"

# The drivers' view: testpmd's xstats on B.
(sleep 3; echo "show port xstats 0"; sleep 1; echo quit) | timeout 30 dpdk-testpmd --lcores "0@(0,1),1@(0,1)" \
  --no-pci "${EAL_COPY[@]}" --file-prefix "vt$$-xs" -d "$PMD" --vdev "net_vena0,socket=$SOCK,vf=$vf_b" -- \
  --total-num-mbufs=8192 -i >"$WORK/xstats.log" 2>&1 || true
grep -Eq "^ *drop_nacl_ingress: 40$" "$WORK/xstats.log" || die "xstats do not show drop_nacl_ingress 40"
ctl stats "$vf_a" | grep -q "nacl_egress" || die "venicctl stats does not show nacl_egress"

# The ACLs go as EC2 says: not while associated, the default never.
"$AWS" --endpoint-url "http://127.0.0.1:$PORT" ec2 delete-network-acl --network-acl-id "$acl_a" >"$WORK/del.out" 2>&1 &&
  die "an associated ACL was deleted"
grep -q DependencyViolation "$WORK/del.out" || die "deleting an associated ACL: $(cat "$WORK/del.out")"
assert_venicd_alive
log "PASS"
