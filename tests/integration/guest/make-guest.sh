#!/usr/bin/env bash
# Builds the tiny QEMU test guest: Debian's kernel + a busybox initramfs.
#   make-guest.sh [--out DIR] [--force] [--quiet]
#     --out DIR  output directory (default $VENIC_GUEST_DIR or /var/cache/venic/guest)
#     --force    rebuild even if the stamp says the image is up to date
#     --quiet    print nothing on success but one line when it (re)builds
# Writes DIR/vmlinux (the ELF kernel, booted by QEMU's -kernel via PVH),
# DIR/initramfs.cpio.gz and DIR/stamp, then prints VMLINUX=... INITRAMFS=...
# lines.  With an up-to-date stamp it does nothing (no apt, no root needed).
#
# The kernel is the package linux-image-amd64 depends on, fetched with
# `apt-get download` and unpacked with `dpkg-deb -x` into a temp dir (never
# installed).  Debian's vmlinuz is an xz-compressed bzImage; we decompress the
# ELF vmlinux inside it (from the xz magic FD 37 7A 58 5A 00), which boots in
# ~3 s under TCG instead of ~6 s for the bzImage.  Debian builds virtio as
# modules; those virtio-net-pci needs are put in the initramfs with their
# dependencies (resolved from modules.dep, which the .deb does not ship: we
# generate it with `depmod -b`, or read each module's depends= without kmod),
# listed in load order in /lib/modules/venic.load for /init (see ./init).
#
# The image holds no test: a test appends its own script as a SECOND cpio.gz
# containing /venic-test.sh (Linux unpacks concatenated initramfs archives):
#   (cd d && echo venic-test.sh | cpio -o -H newc -R 0:0 --quiet | gzip) >s.cpio.gz
#   cat DIR/initramfs.cpio.gz s.cpio.gz >guest.cpio.gz     # -initrd guest.cpio.gz
# See README.md next to this script for the QEMU command line.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
self="$here/$(basename "${BASH_SOURCE[0]}")"
init_src="$here/init"
out=${VENIC_GUEST_DIR:-/var/cache/venic/guest}
force=0
quiet=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --force) force=1; shift ;;
    -q|--quiet) quiet=1; shift ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "make-guest: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

# Modules virtio-net-pci needs; their dependencies are added in front of them.
target_modules=(virtio_pci virtio_net)

die() { echo "make-guest: $*" >&2; exit 1; }
say() { [ $quiet -eq 1 ] || echo "make-guest: $*"; }
report() {
  [ $quiet -eq 1 ] && return 0
  echo "VMLINUX=$out/vmlinux"
  echo "INITRAMFS=$out/initramfs.cpio.gz"
}

[ -f "$init_src" ] || die "missing $init_src"
# The image depends on this script and on init; a change to either rebuilds it.
inputs=$(cat "$self" "$init_src" | sha256sum | cut -d' ' -f1)
stamp="$out/stamp"
up_to_date() {
  [ -f "$stamp" ] && [ -s "$out/vmlinux" ] && [ -s "$out/initramfs.cpio.gz" ] &&
    grep -qx "inputs=$inputs" "$stamp"
}
if [ $force -eq 0 ] && up_to_date; then
  report
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "building the guest needs root (apt-get download, mknod); run ci/install-deps"
for tool in apt-get apt-cache dpkg-deb xz cpio gzip; do
  command -v "$tool" >/dev/null || die "'$tool' not found (run ci/install-deps)"
done
busybox=/bin/busybox
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' ||
  die "busybox-static is not installed (run ci/install-deps)"

mkdir -p "$out"
# Serialise concurrent builders; the second one finds the stamp written.
if command -v flock >/dev/null; then
  exec 9>"$out/.lock"
  flock 9
  if [ $force -eq 0 ] && up_to_date; then report; exit 0; fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/venic-guest.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- kernel package -------------------------------------------------------------
kernel_pkg() {
  apt-cache depends linux-image-amd64 2>/dev/null |
    awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}
pkg=$(kernel_pkg)
if [ -z "$pkg" ]; then
  apt-get update -qq >/dev/null 2>&1 || true
  pkg=$(kernel_pkg)
fi
[ -n "$pkg" ] || die "cannot resolve the package behind linux-image-amd64 (apt-cache depends)"
kver=${pkg#linux-image-}

mkdir -p "$work/deb"
# Let apt's sandbox user write there (avoids "Download is performed unsandboxed").
chown _apt "$work/deb" 2>/dev/null || true
download() { (cd "$work/deb" && apt-get download -qq "$pkg") >"$work/download.log" 2>&1; }
# One line even with --quiet, since this is the slow path (~20 s, ~70 MB).
echo "make-guest: building the test guest from $pkg into $out"
if ! download; then
  apt-get update -qq >/dev/null 2>&1 || true
  download || { cat "$work/download.log" >&2; die "apt-get download $pkg failed"; }
fi
debs=("$work"/deb/"$pkg"_*.deb)
deb=${debs[0]}
[ -f "$deb" ] || die "apt-get download left no $pkg .deb"
pkg_version=$(dpkg-deb -f "$deb" Version)
root="$work/root"
dpkg-deb -x "$deb" "$root"

# --- vmlinux out of the bzImage ---------------------------------------------------
vmlinuz="$root/boot/vmlinuz-$kver"
[ -f "$vmlinuz" ] || die "no boot/vmlinuz-$kver in $pkg"
is_elf() { [ "$(head -c4 "$1" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; }
mapfile -t offsets < <(LC_ALL=C grep -obUaP '\xFD7zXZ\x00' "$vmlinuz" | cut -d: -f1)
[ ${#offsets[@]} -gt 0 ] || die "no xz stream in $vmlinuz (not an xz-compressed bzImage?)"
found=0
for off in "${offsets[@]}"; do
  # --single-stream ignores the bzImage's trailing data after the xz stream.
  if { tail -c +$((off + 1)) "$vmlinuz" 2>/dev/null || true; } |
       xz -dc --single-stream >"$work/vmlinux" 2>/dev/null && is_elf "$work/vmlinux"; then
    found=1
    break
  fi
done
[ $found -eq 1 ] || die "no xz stream in $vmlinuz decompresses to an ELF vmlinux"

# --- modules, in dependency order -------------------------------------------------
kmods="$root/lib/modules/$kver"
[ -d "$kmods" ] || die "no lib/modules/$kver in $pkg"
[ -f "$kmods/modules.dep" ] || ! command -v depmod >/dev/null || depmod -b "$root" "$kver"
norm() { local n=${1##*/}; n=${n%%.ko*}; echo "${n//-/_}"; }
declare -A mod_path=()   # module name -> path relative to $kmods
while read -r rel; do
  mod_path[$(norm "$rel")]=$rel
done < <(cd "$kmods" && find kernel -name '*.ko' -o -name '*.ko.*')
declare -A builtin=()
if [ -f "$kmods/modules.builtin" ]; then
  while read -r rel; do builtin[$(norm "$rel")]=1; done <"$kmods/modules.builtin"
fi
declare -A dep_line=()   # module name -> its modules.dep dependencies (paths)
if [ -f "$kmods/modules.dep" ]; then
  while IFS=: read -r rel deps; do dep_line[$(norm "$rel")]=$deps; done <"$kmods/modules.dep"
fi

stage="$work/initramfs"
mkdir -p "$stage/lib/modules"
# Uncompressed copy in the initramfs (busybox insmod need not know .xz/.zst).
stage_module() {
  local src="$kmods/${mod_path[$1]}" dst="$stage/lib/modules/$1.ko"
  case "$src" in
    *.ko) cp "$src" "$dst" ;;
    *.ko.xz) xz -dc "$src" >"$dst" ;;
    *.ko.gz) gzip -dc "$src" >"$dst" ;;
    *.ko.zst) command -v zstd >/dev/null || die "$src needs zstd"; zstd -qdc "$src" >"$dst" ;;
    *) die "unknown module format: $src" ;;
  esac
}
deps_of() {
  local d
  if [ -f "$kmods/modules.dep" ]; then
    # modules.dep lists dependencies in reverse load order.
    for d in ${dep_line[$1]:-}; do norm "$d"; done | tac
  else   # no modules.dep and no depmod: the module's own depends= field
    d=$(tr '\0' '\n' <"$stage/lib/modules/$1.ko" | grep -a -m1 '^depends=' || true)
    d=${d#depends=}
    [ -z "$d" ] || tr ',' '\n' <<<"$d"
  fi
}
declare -A seen=()
load_order=()
builtin_seen=()
visit() {
  local m=$1 d
  case "${seen[$m]:-}" in
    finished) return ;;
    active) die "module dependency cycle at $m" ;;
  esac
  if [ -n "${builtin[$m]:-}" ]; then
    seen[$m]=finished; builtin_seen+=("$m"); return
  fi
  [ -n "${mod_path[$m]:-}" ] || die "module $m is neither built in nor shipped in $pkg"
  seen[$m]=active
  stage_module "$m"
  for d in $(deps_of "$m"); do visit "$d"; done
  seen[$m]=finished
  load_order+=("$m")
}
for m in "${target_modules[@]}"; do visit "$m"; done
printf '/lib/modules/%s.ko\n' "${load_order[@]}" >"$stage/lib/modules/venic.load"

# --- initramfs ------------------------------------------------------------------
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc,root}
cp "$busybox" "$stage/bin/busybox"
while read -r applet; do
  [ -e "$stage/$applet" ] || [ -L "$stage/$applet" ] || ln -s /bin/busybox "$stage/$applet"
done < <("$busybox" --list-full)
# The kernel opens /dev/console of the initramfs before running /init.
mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null ||
  say "warning: cannot mknod dev/console (init reopens it on devtmpfs; early kernel output to /init is lost)"
echo 'root:x:0:0:root:/root:/bin/sh' >"$stage/etc/passwd"
echo 'root:x:0:' >"$stage/etc/group"
install -m 755 "$init_src" "$stage/init"
(cd "$stage" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
   cpio --null -o -H newc -R 0:0 --quiet) | gzip -9n >"$work/initramfs.cpio.gz"

# --- publish ----------------------------------------------------------------------
rm -f "$stamp"
mv -f "$work/vmlinux" "$out/vmlinux"
mv -f "$work/initramfs.cpio.gz" "$out/initramfs.cpio.gz"
chmod 644 "$out/vmlinux" "$out/initramfs.cpio.gz"
{
  echo "kernel=$kver"
  echo "package=$pkg $pkg_version"
  echo "modules=${load_order[*]}"
  echo "builtin=${builtin_seen[*]}"
  echo "inputs=$inputs"
} >"$stamp.tmp"
mv -f "$stamp.tmp" "$stamp"
say "built guest for kernel $kver ($pkg $pkg_version); modules: ${load_order[*]}"
report
