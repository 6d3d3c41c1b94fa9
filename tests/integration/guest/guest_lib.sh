# Helpers for the integration tests that boot QEMU guests on vhost-user VFs
# (sourced after lib.sh).  The image is this folder's (see README.md).
GUEST=${VENIC_GUEST_DIR:-/var/cache/venic/guest}

# guest_image_ready: builds the image if needed; fails (never skips) without it.
guest_image_ready() {
  command -v qemu-system-x86_64 >/dev/null ||
    die "qemu-system-x86_64 is not installed (ci/install-deps installs qemu-system-x86)"
  "$(dirname "${BASH_SOURCE[0]}")/make-guest.sh" --quiet --out "$GUEST" || die "make-guest.sh could not build the guest image"
  [ -s "$GUEST/vmlinux" ] && [ -s "$GUEST/initramfs.cpio.gz" ] ||
    die "the guest image is missing ($GUEST/vmlinux, $GUEST/initramfs.cpio.gz): run tests/integration/guest/make-guest.sh"
}

# vhost_pair: VF0 (02:..:01, 10.0.1.10) and VF1 (02:..:02, 10.0.1.11), one
# queue pair each, served on $WORK/vf0.vhost and $WORK/vf1.vhost.
vhost_pair() {
  ctl vf create --type ena --mac 02:00:00:00:00:01 --ip 10.0.1.10 --queues 1 --frontend vhost-user \
    --vhost-path "$WORK/vf0.vhost" >/dev/null
  ctl vf create --type ena --mac 02:00:00:00:00:02 --ip 10.0.1.11 --queues 1 --frontend vhost-user \
    --vhost-path "$WORK/vf1.vhost" >/dev/null
  [ -S "$WORK/vf0.vhost" ] && [ -S "$WORK/vf1.vhost" ] || die "venicd does not listen on the vhost-user sockets"
}

# A guest-script line: no IPv6, so that every frame a guest sends is the test's.
NO_IPV6='for f in all default eth0; do echo 1 >/proc/sys/net/ipv6/conf/$f/disable_ipv6 2>/dev/null; done'

# guest_scripts SECONDS: starts $WORK/a/venic-test.sh (A: 10.0.1.10, waits at
# most 45 s for B's first reply; the test appends the rest) and writes B's
# (10.0.1.11, answers for SECONDS).
guest_scripts() {
  mkdir -p "$WORK/a" "$WORK/b"
  printf '%s\n' "$NO_IPV6" 'ip addr add 10.0.1.11/24 dev eth0' 'ip link set eth0 up' 'echo VENIC-B-UP' "sleep $1" \
    >"$WORK/b/venic-test.sh"
  # busybox ping sends only -c pings, whatever -w says: it cannot wait for B.
  cat >"$WORK/a/venic-test.sh" <<EOF
$NO_IPV6
ip addr add 10.0.1.10/24 dev eth0
ip link set eth0 up
now() { cut -d. -f1 /proc/uptime; }
end=\$((\$(now) + 45))
until ping -c 1 -W 1 10.0.1.11 >/dev/null 2>&1; do
  [ "\$(now)" -lt "\$end" ] || { echo VENIC-B-SILENT; break; }
  sleep 0.5
done
EOF
}

# pack_guest NAME: $WORK/NAME/venic-test.sh appended to the base initramfs,
# as $WORK/guest-NAME.cpio.gz (Linux unpacks concatenated archives).
pack_guest() {
  (cd "$WORK/$1" && echo venic-test.sh | cpio -o -H newc -R 0:0 --quiet | gzip) >"$WORK/$1/script.cpio.gz"
  cat "$GUEST/initramfs.cpio.gz" "$WORK/$1/script.cpio.gz" >"$WORK/guest-$1.cpio.gz"
}

# boot_guest NAME VF MAC: QEMU (TCG) on VF's vhost-user socket, a client that
# reconnects (every 1 s) when the socket goes away; console in
# $WORK/guest-NAME.log, QEMU's own output in $WORK/qemu-NAME.log; its PID in
# QEMU_NAME_PID and PIDS.
boot_guest() {
  local name=$1 vf=$2 mac=$3
  qemu-system-x86_64 -M pc -accel tcg -cpu max -smp 1 -m 256 \
    -object memory-backend-memfd,id=mem,size=256M,share=on -numa node,memdev=mem \
    -kernel "$GUEST/vmlinux" -initrd "$WORK/guest-$name.cpio.gz" -append "console=ttyS0 quiet panic=-1" \
    -display none -serial "file:$WORK/guest-$name.log" -monitor none -no-reboot -nodefaults \
    -chardev "socket,id=c0,path=$WORK/vf$vf.vhost,reconnect=1" \
    -netdev vhost-user,id=n0,chardev=c0 \
    -device "virtio-net-pci,netdev=n0,mac=$mac,vectors=0" >"$WORK/qemu-$name.log" 2>&1 </dev/null &
  local pid=$!
  PIDS+=("$pid")
  eval "QEMU_${name}_PID=$pid"
}

vhost_of() { ctl vf show "$1" --json | json_get "j['vhost']['$2']"; }
