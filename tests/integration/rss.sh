#!/usr/bin/env bash
# Receive-side scaling: 64 UDP flows into a 4-queue dpdk-testpmd spread over
# all 4 queues, every flow always lands on the same queue, and the RSS hash
# reaches the mbuf, with the IPv4 and UDP checksum verdicts.
source "$(dirname "$0")/lib.sh"
start_venicd
ctl vf create --type ena --mac 02:00:00:00:00:01 --ip 10.0.1.10 >/dev/null
ctl vf create --type ena --mac 02:00:00:00:00:02 --ip 10.0.1.11 >/dev/null

(
  sleep 3
  echo "set verbose 1"
  echo "start"
  sleep 1
  "$TRAFFIC" --socket "$SOCK" --vf 0 send --dst-mac 02:00:00:00:00:02 --count 1024 --udp-flows 64 --pps 20000 \
    >"$WORK/send.out" 2>&1
  sleep 1
  echo "stop"
  echo "show port xstats 0"
  sleep 1
  echo "quit"
) | timeout 60 dpdk-testpmd --lcores "0@(0,1),1@(0,1)" --no-pci "${EAL_COPY[@]}" --file-prefix "vt$$-rss" \
  -d "$PMD" --vdev "net_vena0,socket=$SOCK,vf=1" -- --total-num-mbufs=16384 --rxq=4 --txq=4 --rss-udp \
  --enable-rx-cksum --forward-mode=rxonly -i >"$WORK/rss.log" 2>&1 || true
grep -q '"sent": 1024' "$WORK/send.out" || die "the sender failed: $(cat "$WORK/send.out")"

total=0
for q in 0 1 2 3; do
  n=$(grep -Eo "^ *rx_q${q}_cnt: [0-9]+" "$WORK/rss.log" | grep -Eo '[0-9]+$' || echo 0)
  log "queue $q: $n frames"
  [ "$n" -gt 0 ] || die "RSS left queue $q empty"
  total=$((total + n))
done
[ "$total" -eq 1024 ] || die "received $total of 1024 frames"
# An ENA port shows ENA's allowance counters (an ixgbevf one does not: ixgbevf_personality.sh).
grep -q "bw_in_allowance_exceeded: " "$WORK/rss.log" || die "an ENA port lacks ENA's allowance xstats"
# Per frame, testpmd prints the hash and the queue it came on.
grep -Eo "RSS hash=0x[0-9a-f]+ - RSS queue=0x[0-9a-f]+" "$WORK/rss.log" | sort -u >"$WORK/pairs"
hashes=$(cut -d' ' -f2 "$WORK/pairs" | sort -u | wc -l)
pairs=$(wc -l <"$WORK/pairs")
log "$hashes distinct hashes, $pairs hash/queue pairs"
[ "$hashes" -eq 64 ] || die "64 flows gave $hashes distinct RSS hashes"
[ "$pairs" -eq "$hashes" ] || die "a flow landed on more than one queue"
# venicd checked the IPv4 header checksum, and says so in the mbuf.
grep -q "RTE_MBUF_F_RX_IP_CKSUM_GOOD" "$WORK/rss.log" || die "no IPv4 checksum-good flag reached the mbuf"
grep -q "RTE_MBUF_F_RX_IP_CKSUM_BAD" "$WORK/rss.log" && die "a valid IPv4 header was flagged bad"
# testpmd asked for TCP/UDP checksum verification (--enable-rx-cksum).
grep -q "RTE_MBUF_F_RX_L4_CKSUM_GOOD" "$WORK/rss.log" || die "no UDP checksum-good flag reached the mbuf"
grep -q "RTE_MBUF_F_RX_L4_CKSUM_BAD" "$WORK/rss.log" && die "a valid UDP checksum was flagged bad"
log "PASS"
