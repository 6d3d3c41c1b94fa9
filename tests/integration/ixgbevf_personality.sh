#!/usr/bin/env bash
# The Intel 82599 VF personality: `vf create --type ixgbevf` makes a VF whose
# net_vena port tells dpdk-testpmd the 82599 VF's limits (2 queue pairs, a
# 40-byte RSS key, a 128-entry RETA, 9728-byte frames, 10 Gbps), refuses more
# queues than that, and shows none of ENA's allowance-exceeded xstats.
source "$(dirname "$0")/lib.sh"
start_venicd

# venicd holds the VF to the personality's limits at creation.
ctl vf create --type ixgbevf --mac 02:00:00:00:00:01 --ip 10.0.1.10 --queues 4 >"$WORK/too_many.out" 2>&1 &&
  die "an ixgbevf VF with 4 queue pairs was created"
grep -q "at most 2 queue pairs" "$WORK/too_many.out" || die "unclear refusal: $(cat "$WORK/too_many.out")"
ctl vf create --type ixgbevf --mac 02:00:00:00:00:01 --ip 10.0.1.10 >/dev/null
ctl vf show 0 --json >"$WORK/vf.json"
[ "$(json_get "j['type']" <"$WORK/vf.json")" = ixgbevf ] || die "vf show: $(cat "$WORK/vf.json")"
[ "$(json_get "j['queues']" <"$WORK/vf.json")" = 2 ] || die "an ixgbevf VF defaults to its 2 queue pairs"
ctl vf set 0 --mtu 9711 >"$WORK/mtu.out" 2>&1 && die "MTU 9711 accepted on an ixgbevf VF"
ctl vf set 0 --mtu 9710 >/dev/null || die "MTU 9710 (the 82599 VF's jumbo limit) refused"
ctl vf set 0 --mtu 1500 >/dev/null

# An instance of an older type (no ENA, SriovNetSupport simple) gets an
# ixgbevf VF; EFA is refused on it.
vpc=$(new_vpc 10.1.0.0/16)
subnet=$(new_subnet "$vpc" 10.1.1.0/24)
ec2 run-instances --instance-type c4.large --subnet-id "$subnet" >"$WORK/run.json"
inst=$(field "j['Instances'][0]['InstanceId']" <"$WORK/run.json")
c4_vf=$(field "j['Instances'][0]['NetworkInterfaces'][0]['VenicVfId']" <"$WORK/run.json")
[ "$(ctl vf show "$c4_vf" --json | json_get "j['type']")" = ixgbevf ] || die "a c4.large's VF is not ixgbevf"
ec2 describe-instances --instance-ids "$inst" >"$WORK/describe.json"
[ "$(field "j['Reservations'][0]['Instances'][0]['SriovNetSupport']" <"$WORK/describe.json")" = simple ] ||
  die "DescribeInstances: no SriovNetSupport simple"
[ "$(field "j['Reservations'][0]['Instances'][0]['EnaSupport']" <"$WORK/describe.json")" = False ] ||
  die "DescribeInstances: EnaSupport is not false"
ctl run-instances --instance-type c4.8xlarge --subnet-id "$subnet" --network-interface-type efa \
  >"$WORK/efa.out" 2>&1 && die "EFA accepted on a c4.8xlarge"
grep -q "InvalidParameterCombination" "$WORK/efa.out" || die "unclear EFA refusal: $(cat "$WORK/efa.out")"

(
  sleep 3
  echo "show port info 0"
  echo "show device info all"
  echo "show port 0 rss-hash key"
  echo "show port 0 rss reta 128 (0xffffffffffffffff,0xffffffffffffffff)"
  echo "show port xstats 0"
  echo "port stop 0"
  echo "port config all rxq 3"
  echo "port config all txq 3"
  echo "port config mtu 0 9711"
  echo "port config mtu 0 9710"
  echo "port start 0"
  echo "show port info 0"
  sleep 1
  echo "quit"
) | timeout 40 dpdk-testpmd --lcores "0@(0,1),1@(0,1)" --no-pci "${EAL_COPY[@]}" --file-prefix "vt$$-ixgbevf" \
  -d "$PMD" --vdev "net_vena0,socket=$SOCK,vf=0" -- --total-num-mbufs=8192 --rxq=2 --txq=2 \
  --forward-mode=rxonly -i >"$WORK/testpmd.log" 2>&1 || true

L=$WORK/testpmd.log
grep -q "Firmware-version: .*ixgbevf" "$L" || die "show port info does not name the ixgbevf personality"
grep -q "Max possible RX queues: 2$" "$L" || die "max_rx_queues is not 2"
grep -q "Max possible TX queues: 2$" "$L" || die "max_tx_queues is not 2"
grep -q "Hash key size in bytes: 40$" "$L" || die "the RSS key is not 40 bytes"
grep -q "Redirection table size: 128$" "$L" || die "the RETA is not 128 entries"
grep -q "Maximum configurable length of RX packet: 9728$" "$L" || die "max_rx_pktlen is not 9728"
grep -q "Link speed: 10 Gbps" "$L" || die "the link is not 10 Gbps"
grep -Eq "Device speed capability: *10 Gbps" "$L" || die "speed capability is not 10G"
# The RETA: 128 entries (0-127) over the 2 queues.  (testpmd's piped output
# may split a line where the next command's prompt lands: count loosely.)
n=$(grep -Ec "RSS RETA configuration: hash index=[0-9]+, queue=[01]$" "$L" || true)
[ "$n" -ge 120 ] || die "reta query gave $n entries on queues 0-1"
grep -q "RSS RETA configuration: hash index=127, queue=[01]$" "$L" || die "no RETA entry 127"
grep -Eq "RSS RETA configuration: hash index=[0-9]+, queue=([2-9]|[0-9]{2,})" "$L" && die "a RETA entry names a third queue"
grep -q "RSS key:" "$L" || die "no RSS key"
# ENA's allowance counters are ENA's: an 82599 VF has none.
grep -q "drop_no_route" "$L" || die "no xstats shown"
for x in bw_in_allowance_exceeded bw_out_allowance_exceeded pps_allowance_exceeded conntrack_allowance_exceeded \
  linklocal_allowance_exceeded; do
  grep -q "$x" "$L" && die "an ixgbevf port shows ENA's $x"
done
# More queues than the device has, and an MTU above its jumbo limit, are refused.
grep -q "can't be greater than max_rx_queues (2)" "$L" || die "rxq 3 was not refused"
grep -q "can't be greater than max_tx_queues (2)" "$L" || die "txq 3 was not refused"
grep -Eq "MTU \(9711\) .*(max|greater)|mtu.*9711.*(max|greater)|9711.*Invalid" "$L" || die "MTU 9711 was not refused"
[ "$(grep -c "^MTU: 9710$" "$L")" -ge 1 ] || die "MTU 9710 was not taken"
[ "$(json_get "j['mtu']" < <(ctl vf show 0 --json))" = 9710 ] || die "venicd did not take the MTU"
assert_venicd_alive
log "PASS"
