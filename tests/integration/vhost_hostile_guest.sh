#!/usr/bin/env bash
# A vhost-user "guest" that hands venicd memory and then truncates the file
# behind it: rte_vhost reads the rings in that memory while handling
# SET_VRING_KICK, on its own thread.  venicd must survive (the fault is
# patched over) and keep serving its other VFs.  The guest is a bare
# vhost-user client written here, so no hugepages or QEMU are needed.
source "$(dirname "$0")/lib.sh"
start_venicd
ctl vf create --type ena --mac 02:00:00:00:00:01 --ip 10.0.1.10 --queues 1 \
  --frontend vhost-user --vhost-path "$WORK/vf0.sock" >/dev/null
ctl vf create --type ena --mac 02:00:00:00:00:02 --ip 10.0.1.11 >/dev/null

python3 - "$WORK/vf0.sock" <<'PY' || die "the hostile guest could not talk vhost-user"
import os, socket, struct, sys
GET_FEATURES, SET_FEATURES, SET_OWNER, SET_MEM_TABLE = 1, 2, 3, 5
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, SET_VRING_KICK = 8, 9, 10, 12
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
def send(req, payload=b"", fds=()):
    msg = struct.pack("<III", req, 0x1, len(payload)) + payload
    socket.send_fds(s, [msg], list(fds)) if fds else s.sendall(msg)
send(GET_FEATURES)
hdr = s.recv(12)
features = struct.unpack("<Q", s.recv(8))[0]
send(SET_OWNER)
send(SET_FEATURES, struct.pack("<Q", features & (1 << 32)))  # VIRTIO_F_VERSION_1
size, qva = 1 << 20, 0x7F0000000000
mem = os.memfd_create("guest-memory")
os.ftruncate(mem, size)
send(SET_MEM_TABLE, struct.pack("<II", 1, 0) + struct.pack("<QQQQ", 0, size, qva, 0), [mem])
os.ftruncate(mem, 0)  # the memory venicd just mapped is gone
send(SET_VRING_NUM, struct.pack("<II", 0, 256))
send(SET_VRING_BASE, struct.pack("<II", 0, 0))
send(SET_VRING_ADDR, struct.pack("<IIQQQQ", 0, 0, qva, qva + 0x2000, qva + 0x1000, 0))
kick = os.eventfd(0)
send(SET_VRING_KICK, struct.pack("<Q", 0), [kick])  # rte_vhost reads the used ring now
import time
time.sleep(1)
s.close()
PY
sleep 0.5
assert_venicd_alive
ctl info >/dev/null || die "venicd does not answer after the hostile guest"
[ "$(ctl vf show 1 --json | json_get "j['attached']")" = False ] || die "VF1 changed"
ctl vf show 0 --json | json_get "j['vhost']['serving']" | grep -q True || die "VF0's socket is no longer served"
assert_venicd_alive
log "PASS"
