#!/usr/bin/env bash
# venicd's life: the socket's mode and who may use it, state persisted and
# restored across a restart, clean exit on SIGTERM, a corrupt or truncated
# state file refused with a clear error and left untouched, bad options.
source "$(dirname "$0")/lib.sh"

out=$("$VENICD" --workers 0 2>&1) && die "--workers 0 was accepted"
grep -q "venicd:" <<<"$out" || die "bad option gave no clear error: $out"
"$VENICD" --help | grep -q -- "--socket" || die "--help does not document --socket"

start_venicd
mode=$(stat -c %a "$SOCK")
[ "$mode" = 660 ] || die "control socket mode is $mode, want 660"
# Another uid is turned away (SO_PEERCRED).
if command -v setpriv >/dev/null; then
  chmod 0755 "$WORK" && chmod 0666 "$SOCK" # let the socket be reached, so the peer check is what refuses
  out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$VENICCTL" --socket "$SOCK" vf list 2>&1) &&
    die "uid 65534 was served: $out"
  grep -q "may not use venicd" <<<"$out" || die "refusal is not explained: $out"
  chmod 0660 "$SOCK"
fi

ctl vf create --type ena --mac 02:00:00:00:00:0a --ip 10.0.1.10 --mtu 9001 --queues 2 >/dev/null
ctl vf create --type ena --mac 02:00:00:00:00:0b --ip 10.0.1.11 --trusted --id 7 >/dev/null
ctl vf create --type ena --mac 02:00:00:00:00:0c --ip 10.0.1.12 >/dev/null
ctl vf delete 0 >/dev/null
ctl vf set 7 --link down >/dev/null
before=$(ctl vf list --json | json_get "[(v['id'], v['mac'], v['ip'], v['mtu'], v['trusted'], v['queues'], v['link']) for v in j['vfs']]")

stop_venicd
[ -e "$SOCK" ] && die "socket left behind after SIGTERM"
grep -q "venicd: stopped" "$WORK/venicd.log" || die "no clean shutdown message"

start_venicd
after=$(ctl vf list --json | json_get "[(v['id'], v['mac'], v['ip'], v['mtu'], v['trusted'], v['queues'], v['link']) for v in j['vfs']]")
[ "$before" = "$after" ] || die "state not restored: before $before, after $after"
grep -q "serving 2 VF" "$WORK/venicd.log" || die "restart did not report the restored VFs"
stop_venicd

# A truncated state file: refused, named, untouched.
good=$(cat "$STATE")
head -c 40 <<<"$good" >"$STATE"
sum=$(md5sum <"$STATE")
out=$("$VENICD" --socket "$SOCK" --state "$STATE" 2>&1) && die "venicd started on a truncated state file"
grep -q "is corrupt" <<<"$out" && grep -q "$STATE" <<<"$out" || die "unclear error for a truncated state file: $out"
[ "$(md5sum <"$STATE")" = "$sum" ] || die "the corrupt state file was modified"
# Valid JSON, wrong content.
echo '{"version": 1, "vfs": [{"id": 1, "type": "ena", "mac": "zz", "ip": "10.0.0.1"}]}' >"$STATE"
out=$("$VENICD" --socket "$SOCK" --state "$STATE" 2>&1) && die "venicd accepted a bad MAC in its state"
grep -q "is corrupt: VF entry: mac" <<<"$out" || die "unclear error for a bad entry: $out"
[ ! -e "$SOCK" ] || die "a refused start left a socket"
log "PASS"
