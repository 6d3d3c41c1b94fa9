#!/usr/bin/env bash
# Limits a hostile tenant meets on the control socket: a uid venicd does not
# serve is closed at accept (it holds no fd of venicd's); an allowed uid holds
# at most --max-connections-per-uid connections, the rest are refused with
# "limit"; root is answered within 2 s meanwhile.  Out of file descriptors,
# venicd backs off instead of spinning on accept, says so once, and serves
# again when fds come back.
source "$(dirname "$0")/lib.sh"
command -v setpriv >/dev/null || { log "SKIP: no setpriv"; exit 0; }

TENANT=4242 STRANGER=4343 CAP=8
start_venicd --group nogroup --allow-uid "$TENANT" --max-connections-per-uid "$CAP"
chmod 0755 "$WORK"

# hold UID GID COUNT NAME [WAIT]: as UID, opens COUNT connections, sends
# daemon.info on each (unless IDLE=1), and writes what came back within WAIT (5) seconds
# ({"served": n, "limit": n, "timeout": n, ...}) to $WORK/NAME.json; keeps
# them open until killed.
hold() {
  local uid=$1 gid=$2 count=$3 name=$4 wait=${5:-5}
  setpriv --reuid "$uid" --regid "$gid" --clear-groups /usr/bin/python3 - "$SOCK" "$count" "$wait" "${IDLE:-0}" >"$WORK/$name.json" <<'PY' &
import json, select, socket, sys, time
path, count, wait, idle = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "1"
tally, socks = {}, []
def seen(what): tally[what] = tally.get(what, 0) + 1
for _ in range(count):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.setblocking(False)  # a full backlog refuses at once (EAGAIN)
    try:
        s.connect(path)
    except OSError:
        seen("not_connected"); s.close(); continue
    socks.append(s)
for s in [] if idle else socks:
    try:
        s.send(b'{"id": 1, "method": "daemon.info"}')
    except OSError:
        pass
pending, deadline = set(socks), time.monotonic() + wait
while pending and time.monotonic() < deadline:
    ready, _, _ = select.select(list(pending), [], [], max(0, deadline - time.monotonic()))
    for s in ready:
        try:
            m = s.recv(65536)
        except ConnectionResetError:  # reported before an answer queued ahead of it
            continue
        except BlockingIOError:
            continue
        pending.discard(s)
        if not m: seen("closed")
        else:
            r = json.loads(m)
            seen("served" if "result" in r else r["error"]["code"])
for s in pending: seen("timeout")
print(json.dumps(tally), flush=True)
time.sleep(60)
PY
  HOLD_PID=$!
  PIDS+=("$HOLD_PID")
  for _ in $(seq 200); do grep -q '}' "$WORK/$name.json" 2>/dev/null && return 0; sleep 0.05; done
  die "$name: the connections did not finish"
}
unhold() { kill "$HOLD_PID" 2>/dev/null; wait "$HOLD_PID" 2>/dev/null || true; }
tally() { json_get "j.get('$2', 0)" <"$WORK/$1.json"; }
venicd_fds() { ls "/proc/$VENICD_PID/fd" | wc -l; }

# root_answers_quickly WHEN: venicctl info as root within 2 s.
root_answers_quickly() {
  local t0 t1
  t0=$(date +%s%N)
  timeout 5 "$VENICCTL" --socket "$SOCK" info >/dev/null || die "$1: root's venicctl info failed"
  t1=$(date +%s%N)
  [ $(((t1 - t0) / 1000000)) -lt 2000 ] || die "$1: root's venicctl info took $(((t1 - t0) / 1000000)) ms"
  log "$1: root answered in $(((t1 - t0) / 1000000)) ms"
}

base=$(venicd_fds)

# ---- a uid that venicd does not serve, but that can reach the socket: its
# idle connections are answered and closed without its asking.
IDLE=1 hold "$STRANGER" 65534 300 stranger
log "uid $STRANGER, 300 connections: $(cat "$WORK/stranger.json")"
[ "$(tally stranger served)" -eq 0 ] || die "uid $STRANGER was served"
[ "$(tally stranger timeout)" -eq 0 ] || die "uid $STRANGER's connections were left hanging, not closed"
[ "$(tally stranger permission_denied)" -gt 0 ] || die "uid $STRANGER was never told why"
now=$(venicd_fds)
[ "$now" -le $((base + 4)) ] || die "uid $STRANGER's closed connections still hold venicd fds ($base -> $now)"
root_answers_quickly "with uid $STRANGER holding its sockets"
unhold

# ---- an allowed uid over its connection cap.
hold "$TENANT" 65534 $((CAP + 5)) tenant
log "uid $TENANT, $((CAP + 5)) connections (cap $CAP): $(cat "$WORK/tenant.json")"
[ "$(tally tenant served)" -eq "$CAP" ] || die "uid $TENANT: $(tally tenant served) connections served, want $CAP"
[ "$(tally tenant limit)" -eq 5 ] || die "uid $TENANT: the 5 over the cap were not refused with 'limit'"
now=$(venicd_fds)
[ "$now" -le $((base + CAP + 4)) ] || die "uid $TENANT holds more fds than its cap ($base -> $now)"
root_answers_quickly "with uid $TENANT at its cap"
unhold
# Its connections closed, the tenant is served again.
for _ in $(seq 50); do [ "$(venicd_fds)" -le $((base + 2)) ] && break; sleep 0.1; done
setpriv --reuid "$TENANT" --regid 65534 --clear-groups "$VENICCTL" --socket "$SOCK" info >/dev/null ||
  die "uid $TENANT is not served once its connections closed"

# ---- out of file descriptors: root (no cap) opens more than venicd may hold.
limit=$((base + 30))
prlimit --pid "$VENICD_PID" --nofile="$limit:$limit"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$VENICD_PID/task/$VENICD_PID/stat"; }
hold 0 0 120 flood 1
log "root, 120 connections at $limit fds: $(cat "$WORK/flood.json")"
[ "$(tally flood served)" -gt 0 ] || die "nothing was served below the fd limit"
c0=$(cpu_ticks)
sleep 1
c1=$(cpu_ticks)
log "control thread CPU while out of fds: $((c1 - c0)) ticks in 1 s"
[ $((c1 - c0)) -lt 25 ] || die "venicd's control thread spins while out of fds ($((c1 - c0)) ticks in 1 s)"
said=$(grep -c "out of file descriptors" "$WORK/venicd.log" || true)
[ "$said" -ge 1 ] || die "venicd did not say it is out of file descriptors"
[ "$said" -le 3 ] || die "venicd logged fd exhaustion $said times for one spell"
unhold
sleep 0.3
root_answers_quickly "once the fds came back"
assert_venicd_alive
log "PASS"
