#!/usr/bin/env bash
# venicd's rte_telemetry commands through DPDK's own client, dpdk-telemetry.py
# (scripted through its stdin): after testpmd traffic between two instances,
# every /venic/* command answers and its counters equal venicctl stats --json.
source "$(dirname "$0")/lib.sh"
PREFIX="vt$$-venicd"
TELEMETRY=/usr/bin/dpdk-telemetry.py
[ -x "$TELEMETRY" ] || die "$TELEMETRY missing (Debian's dpdk package)"
trap 'cleanup; rm -rf "/var/run/dpdk/$PREFIX"' EXIT

# start_venicd passes --no-telemetry; this test wants it on, in its own prefix.
"$VENICD" --socket "$SOCK" --state "$STATE" -- --lcores "0@(0,1),1@(0,1)" --no-pci --no-huge -m 128 --no-shconf \
  --file-prefix "$PREFIX" --log-level=lib.eal:warning >"$WORK/venicd.log" 2>&1 &
VENICD_PID=$!
PIDS+=("$VENICD_PID")
for _ in $(seq 100); do grep -q "serving" "$WORK/venicd.log" && break; sleep 0.1; done
grep -q "serving" "$WORK/venicd.log" || die "venicd did not come up"

# tel COMMAND...: one JSON reply a line.
tel() { printf '%s\n' "$@" | python3 "$TELEMETRY" -f "$PREFIX"; }

vpc=$(new_vpc 10.0.0.0/16)
subnet=$(new_subnet "$vpc" 10.0.1.0/24)
run() { # IP: prints "VF INSTANCE ENI"
  ec2 run-instances --instance-type m5.large --subnet-id "$subnet" --private-ip-address "$1" |
    field "(lambda i: f\"{i['NetworkInterfaces'][0]['VenicVfId']} {i['InstanceId']} {i['NetworkInterfaces'][0]['NetworkInterfaceId']}\")(j['Instances'][0])"
}
read -r vf_a inst_a eni_a < <(run 10.0.1.10)
read -r vf_b inst_b _ < <(run 10.0.1.11)
mac_b=$(ctl vf show "$vf_b" --json | json_get "j['mac']")
efa=$(ctl vf create --type efa --mac 02:00:00:00:00:e1 --ip 10.0.2.10 --json | json_get "j['id']")

testpmd_start rx "$vf_b" "${EAL_COPY[@]}" -- --forward-mode=rxonly
testpmd_start tx "$vf_a" "${EAL_COPY[@]}" -- --forward-mode=txonly --eth-peer=0,"$mac_b" --tx-ip=10.0.1.10,10.0.1.11
sleep 1
testpmd_stop tx
sleep 0.5
testpmd_stop rx
sleep 0.3 # the snapshot is at most 100 ms old

tel /venic/info /venic/vf/list "/venic/vf/stats,$vf_a" "/venic/vf/stats,$vf_b" "/venic/efa/stats,$efa" \
  "/venic/conntrack,$inst_a" /venic/worker/stats "/venic/vf/stats,999" "/venic/vf/stats,1x" >"$WORK/tel.out" ||
  die "dpdk-telemetry.py failed"
ctl stats --json >"$WORK/stats.json"

python3 - "$WORK/tel.out" "$WORK/stats.json" "$vf_a" "$vf_b" "$efa" "$inst_a" "$eni_a" "$VENICD_PID" <<'PY' || die "telemetry disagrees with venicctl stats"
import json, sys
out, stats, vf_a, vf_b, efa, inst_a, eni_a, pid = sys.argv[1:]
lines = [json.loads(l) for l in open(out) if l.strip()]
assert len(lines) == 9, f"{len(lines)} replies: {lines}"
info, vfl, sa, sb, ef, ct, ws, bad1, bad2 = lines
ctl = {v["vf"]: v for v in json.load(open(stats))["vfs"]}
i = info["/venic/info"]
assert i["pid"] == int(pid) and i["vfs"] == 3 and i["workers"] == 1, i
assert sorted(vfl["/venic/vf/list"]) == sorted(ctl), (vfl, list(ctl))
def same(tel, c):
    for k in ("vf", "tx_pkts", "tx_bytes", "rx_pkts", "rx_bytes", "mdd_resets"):
        assert tel[k] == c[k], (k, tel[k], c[k])
    for group in ("drops", "allowance_exceeded"):
        assert tel[group] == c[group], (group, tel[group], c[group])
    for d in ("tx", "rx"):
        for f in ("pkts", "bytes", "drops"):
            assert tel[f"queues_{d}_{f}"] == [q[f] for q in c["queues"][d]], (d, f)
a = sa["/venic/vf/stats"]; b = sb["/venic/vf/stats"]
same(a, ctl[int(vf_a)]); same(b, ctl[int(vf_b)])
assert a["tx_pkts"] > 1000 and b["rx_pkts"] > 0, (a["tx_pkts"], b["rx_pkts"])
assert a["eni"] == eni_a and a["instance"] == inst_a, (a["eni"], a["instance"])
assert ef["/venic/efa/stats"] == ctl[int(efa)]["efa"], (ef, ctl[int(efa)]["efa"])
c = ct["/venic/conntrack"]
assert c["instance"] == inst_a and c["enis_eni"] == [eni_a] and c["tracked"] >= 1, c
assert ws["/venic/worker/stats"] is not None, ws
assert bad1["/venic/vf/stats"] is None and bad2["/venic/vf/stats"] is None, (bad1, bad2)
print(f"tx {a['tx_pkts']} rx {b['rx_pkts']} tracked {c['tracked']}")
PY
log "every /venic/* command answers; the counters match venicctl stats"

# --no-telemetry: no socket.
kill -TERM "$VENICD_PID"; wait "$VENICD_PID" || true
"$VENICD" --no-telemetry --socket "$SOCK" --state "$STATE" -- --lcores "0@(0,1),1@(0,1)" --no-pci --no-huge -m 128 \
  --no-shconf --file-prefix "$PREFIX" --log-level=lib.eal:warning >"$WORK/venicd2.log" 2>&1 &
VENICD_PID=$!
PIDS+=("$VENICD_PID")
for _ in $(seq 100); do grep -q "serving" "$WORK/venicd2.log" && break; sleep 0.1; done
grep -q "serving" "$WORK/venicd2.log" || die "venicd --no-telemetry did not come up"
ls /var/run/dpdk/"$PREFIX"/dpdk_telemetry.v2* >/dev/null 2>&1 && die "venicd --no-telemetry made a telemetry socket"
log "PASS"
