#!/usr/bin/env bash
# venicctl against a real venicd: tables, JSON, and one-line errors with a
# non-zero exit for bad input and for an absent daemon.
source "$(dirname "$0")/lib.sh"

expect_error() { # EXIT-CODE PATTERN ARGS...
  local want=$1 pattern=$2
  shift 2
  local out rc=0
  out=$("$VENICCTL" "$@" 2>&1) || rc=$?
  [ "$rc" -eq "$want" ] || die "venicctl $* exited $rc, want $want ($out)"
  [ "$(wc -l <<<"$out")" -eq 1 ] || die "venicctl $* printed more than one line: $out"
  grep -q -- "$pattern" <<<"$out" || die "venicctl $* said '$out', want /$pattern/"
}

expect_error 1 "is venicd running" --socket "$WORK/absent.sock" vf list
expect_error 2 "unknown command 'frobnicate'" --socket "$WORK/absent.sock" frobnicate
expect_error 2 "no command given" --socket "$WORK/absent.sock"
[ "$("$VENICCTL" --version)" = "$(sed -n 's/^project(venic VERSION \([0-9.]*\).*/\1/p' "$(dirname "$0")/../../CMakeLists.txt")" ] ||
  die "venicctl --version: $("$VENICCTL" --version 2>&1)"
start_venicd
expect_error 2 "invalid MAC" --socket "$SOCK" vf create --type ena --mac 02:00:00:00:00 --ip 10.0.0.1
expect_error 2 "multicast" --socket "$SOCK" vf create --type ena --mac 03:00:00:00:00:01 --ip 10.0.0.1
expect_error 2 "IPv4" --socket "$SOCK" vf create --type ena --mac 02:00:00:00:00:01 --ip 10.0.0.300
expect_error 2 "MTU" --socket "$SOCK" vf create --type ena --mac 02:00:00:00:00:01 --ip 10.0.0.1 --mtu 9711
expect_error 2 "VF id" --socket "$SOCK" vf show 256
expect_error 2 "VF id" --socket "$SOCK" vf delete abc
expect_error 1 "no VF 5" --socket "$SOCK" vf show 5

ctl vf create --type ena --mac 02:00:00:00:00:01 --ip 10.0.1.10 >/dev/null
expect_error 1 "already used by VF 0" --socket "$SOCK" vf create --type ena --mac 02:00:00:00:00:01 --ip 10.0.1.11
ctl vf create --type ena --mac 02:00:00:00:00:02 --ip 10.0.1.11 --mtu 9001 >/dev/null

table=$(ctl vf list)
grep -Eq '^ *1 +ena +02:00:00:00:00:02 +10.0.1.11/24 +9001' <<<"$table" || die "vf list table is wrong: $table"
[ "$(ctl vf list --json | json_get "len(j['vfs'])")" -eq 2 ] || die "vf list --json is wrong"
ctl vf show 1 | grep -q "mtu: *9001" || die "vf show is wrong"
ctl vf set 1 --mtu 1500 >/dev/null
[ "$(ctl vf show 1 --json | json_get "j['mtu']")" -eq 1500 ] || die "vf set --mtu did not apply"

"$TRAFFIC" --socket "$SOCK" --vf 0 send --dst-mac 02:00:00:00:00:99 --count 42 >/dev/null
ctl stats 0 | grep -q "no_route 42" || die "stats table does not show the drop reason: $(ctl stats 0)"
[ "$(ctl stats 0 --json | json_get "j['vfs'][0]['tx_pkts']")" -eq 42 ] || die "stats --json is wrong"
ctl stats --reset >/dev/null
[ "$(ctl stats 0 --json | json_get "j['vfs'][0]['drops']['no_route']")" -eq 0 ] || die "stats --reset did not reset"
timeout -s INT 2.5 "$VENICCTL" --socket "$SOCK" stats --watch 1 >"$WORK/watch.out" || true
[ "$(grep -c "TX-PKTS" "$WORK/watch.out")" -ge 2 ] || die "stats --watch did not repeat"
ctl vf delete 1 >/dev/null
expect_error 1 "no VF 1" --socket "$SOCK" vf show 1
log "PASS"
