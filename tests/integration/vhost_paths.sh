#!/usr/bin/env bash
# Where venicd puts vhost-user sockets, and what it removes: a path that
# exists (another service's dead socket, a link, a file) is refused and left
# as it was; the socket is bound in a private directory and renamed into
# place; on delete venicd unlinks only the socket it made; a uid other than
# root names a path only in venicd's socket directory; a restart serves the
# restored VFs' sockets again.
source "$(dirname "$0")/lib.sh"
TENANT=4242
start_venicd --group nogroup --allow-uid "$TENANT"
chmod 0755 "$WORK"
vhost_vf() { ctl vf create --type ena --mac "$1" --ip "$2" --frontend vhost-user --vhost-path "$3"; }
inode() { stat -c %i "$1"; }

# Another service's socket, no longer served.
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()" "$WORK/other.sock"
before=$(inode "$WORK/other.sock")
out=$(vhost_vf 02:00:00:00:00:01 10.0.1.10 "$WORK/other.sock" 2>&1) && die "a VF took over another service's socket"
grep -q "already exists" <<<"$out" || die "refusal does not say the path exists: $out"
[ -S "$WORK/other.sock" ] && [ "$(inode "$WORK/other.sock")" = "$before" ] || die "the other service's socket was replaced"

# A link to somewhere else, and a plain file.
echo keep >"$WORK/victim"
ln -s "$WORK/victim" "$WORK/link.sock"
vhost_vf 02:00:00:00:00:01 10.0.1.10 "$WORK/link.sock" >/dev/null 2>&1 && die "a VF socket was made through a link"
[ -L "$WORK/link.sock" ] && [ "$(cat "$WORK/victim")" = keep ] || die "the link or its target was touched"
ln -s "$WORK/nowhere" "$WORK/dangling.sock"
vhost_vf 02:00:00:00:00:01 10.0.1.10 "$WORK/dangling.sock" >/dev/null 2>&1 && die "a VF socket was made through a dangling link"
[ -e "$WORK/nowhere" ] && die "bind followed a dangling link"

# A socket of its own: in place, no private directory left behind.
vhost_vf 02:00:00:00:00:01 10.0.1.10 "$WORK/vf0.sock" >/dev/null || die "vhost-user VF not created"
[ -S "$WORK/vf0.sock" ] || die "no socket at $WORK/vf0.sock"
[ "$(stat -c %a "$WORK/vf0.sock")" = 660 ] || die "socket mode is $(stat -c %a "$WORK/vf0.sock"), want 660"
ls -d "$WORK"/.venic-* >/dev/null 2>&1 && die "private directories left behind: $(ls -d "$WORK"/.venic-*)"
[ "$(ctl vf show 0 --json | json_get "j['vhost']['path']")" = "$WORK/vf0.sock" ] || die "vf show names another path"

# Replaced under venicd's feet: the replacement is not venicd's to remove.
vhost_vf 02:00:00:00:00:02 10.0.1.11 "$WORK/vf1.sock" >/dev/null || die "second vhost-user VF not created"
mv "$WORK/vf1.sock" "$WORK/vf1.moved"
echo theirs >"$WORK/vf1.sock"
ctl vf delete 1 >/dev/null
[ "$(cat "$WORK/vf1.sock" 2>/dev/null)" = theirs ] || die "vf delete removed a file venicd did not make"
ctl vf delete 0 >/dev/null
[ -e "$WORK/vf0.sock" ] && die "vf delete left its own socket behind"

# A tenant: only in the socket directory.
as_tenant() { setpriv --reuid "$TENANT" --regid 65534 --clear-groups "$VENICCTL" --socket "$SOCK" "$@"; }
out=$(as_tenant vf create --type ena --mac 02:00:00:00:00:03 --ip 10.0.1.12 --frontend vhost-user \
  --vhost-path /run/venic-hostile-test.sock 2>&1) && die "uid $TENANT created a socket outside the socket directory"
grep -q "may name a socket only in" <<<"$out" || die "tenant refusal is not explained: $out"
[ -e /run/venic-hostile-test.sock ] && die "the refused socket exists"
as_tenant vf create --type ena --mac 02:00:00:00:00:03 --ip 10.0.1.12 --frontend vhost-user \
  --vhost-path "$WORK/tenant.sock" >/dev/null || die "uid $TENANT cannot create a socket in the socket directory"
[ -S "$WORK/tenant.sock" ] || die "no tenant socket"

# A restart serves the restored VF's socket again.
stop_venicd
start_venicd --group nogroup --allow-uid "$TENANT"
for _ in $(seq 20); do [ -S "$WORK/tenant.sock" ] && break; sleep 0.1; done
[ -S "$WORK/tenant.sock" ] || die "the restored VF's socket is missing"
[ "$(ctl vf show 0 --json | json_get "j['vhost']['serving']")" = True ] || die "the restored VF is not served"
assert_venicd_alive
log "PASS"
