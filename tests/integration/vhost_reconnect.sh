#!/usr/bin/env bash
# vhost-user client mode and a daemon restart: the "guest" (testpmd over
# virtio-user in server mode, as QEMU with server=on) owns the socket; venicd
# connects to it, and keeps reconnecting.  venicd is restarted under the
# running guest: the restored VF reconnects by itself and traffic resumes,
# without touching the guest.
source "$(dirname "$0")/lib.sh"
hugepages_ready || die "virtio-user needs 128 free 2 MiB hugepages (ci/install-deps --hugepages 512)"
start_venicd
ctl vf create --type ena --mac 02:00:00:00:00:01 --ip 10.0.1.10 >/dev/null
ctl vf create --type ena --mac 02:00:00:00:00:02 --ip 10.0.1.11 --queues 1 \
  --frontend vhost-user --vhost-path "$WORK/guest.sock" --vhost-mode client >/dev/null
[ "$(ctl vf show 1 --json | json_get "j['vhost']['mode']")" = client ] || die "VF1 is not in client mode"

connected() { [ "$(ctl vf show 1 --json | json_get "j['vhost']['connected']")" = True ]; }
wait_connected() {
  for _ in $(seq 100); do connected && return 0; sleep 0.1; done
  die "venicd did not connect to the guest's socket ($1)"
}
echo_check() {
  out=$("$TRAFFIC" --socket "$SOCK" --vf 0 echo --dst-mac 02:00:00:00:00:02 --count 2000 --size 256 --timeout 20) ||
    die "$1: echo failed: $out"
  log "$1: $out"
}

# The guest starts after venicd: venicd's client keeps trying until it is there.
sleep 0.5
dpdk-testpmd --lcores "0@(0,1),1@(0,1)" --no-pci --file-prefix "vt$$-guest" "${EAL_ZERO_COPY[@]}" \
  --vdev "net_virtio_user0,path=$WORK/guest.sock,server=1,mac=02:00:00:00:00:02,queues=1,queue_size=1024" -- \
  --total-num-mbufs=8192 --rxd=1024 --txd=1024 --forward-mode=macswap --stats-period 1 \
  >"$WORK/guest.log" 2>&1 </dev/null &
GUEST=$!
PIDS+=("$GUEST")
wait_connected "first connection"
for _ in $(seq 100); do grep -q "start packet forwarding" "$WORK/guest.log" && break; sleep 0.1; done
echo_check "before the restart"

stop_venicd
kill -0 "$GUEST" 2>/dev/null || die "the guest died with the daemon"
start_venicd
[ "$(ctl vf show 1 --json | json_get "j['frontend']")" = vhost-user ] || die "the restored VF1 lost its front-end"
wait_connected "after the restart"
echo_check "after the restart"
kill -0 "$GUEST" 2>/dev/null || die "the guest died across the restart"
[ "$(ctl vf show 1 --json | json_get "j['vhost']['from_guest_pkts']")" -eq 2000 ] ||
  die "the reconnected bridge did not carry the echoes"
log "PASS"
