#!/usr/bin/env bash
# venicctl top and stats --watch while dpdk-testpmd sends: in a tmux pane
# (a real terminal, redrawn in place) top shows the sender's rate, and
# stats --watch's first table already has rates (no "-") with bits/s.
source "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null || die "tmux missing"
start_venicd
ctl vf create --type ena --mac 02:00:00:00:00:01 --ip 10.0.1.10 >/dev/null
ctl vf create --type ena --mac 02:00:00:00:00:02 --ip 10.0.1.11 >/dev/null
testpmd_start rx 1 "${EAL_COPY[@]}" -- --forward-mode=rxonly
testpmd_start tx 0 "${EAL_COPY[@]}" -- --forward-mode=txonly --eth-peer=0,02:00:00:00:00:02 --tx-ip=10.0.1.10,10.0.1.11

# A private tmux server (its own socket in $WORK), killed at exit.
TMUX_SOCK=$WORK/tmux.sock
trap 'tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true; cleanup' EXIT
tmux -S "$TMUX_SOCK" new-session -d -x 160 -y 50 "$VENICCTL --socket $SOCK top --interval 0.5"
pane=""
for _ in $(seq 40); do
  sleep 0.25
  pane=$(tmux -S "$TMUX_SOCK" capture-pane -p)
  # VF 0's row: "0  -  all  TX-MPPS ..." with a TX rate above zero.
  echo "$pane" | awk '$1 == "0" && $3 == "all" && $4 + 0 > 0 { found = 1 } END { exit !found }' && break
done
echo "$pane" >"$WORK/top.pane"
echo "$pane" | awk '$1 == "0" && $3 == "all" && $4 + 0 > 0 { found = 1 } END { exit !found }' ||
  die "top under tmux shows no TX rate for VF 0: $(cat "$WORK/top.pane")"
echo "$pane" | grep -q '^VF  *ENI  *Q  *TX-MPPS  *TX-GBPS  *RX-MPPS  *RX-GBPS  *DROP/S' || die "top has no header"
[ "$(echo "$pane" | grep -c '^VF ')" -eq 1 ] || die "top appended instead of redrawing in place"
log "top under tmux:"; sed "s/^/    /" "$WORK/top.pane" | grep -v "^ *$"

# Not a terminal: plain blocks, --count ends it.
ctl top --interval 0.3 --count 2 >"$WORK/top.txt"
[ "$(grep -c '^VF ' "$WORK/top.txt")" -eq 2 ] || die "top --count 2 printed $(grep -c '^VF ' "$WORK/top.txt") screens"
grep -q $'\033' "$WORK/top.txt" && die "top wrote terminal escapes into a file"

# stats --watch: the first table has rates already, with bits/s.
timeout -s INT 2 "$VENICCTL" --socket "$SOCK" stats --watch 0.5 >"$WORK/watch.txt" || true
head -n 3 "$WORK/watch.txt" | grep -q 'TX-BIT/S' || die "stats --watch shows no bits/s: $(head -n 4 "$WORK/watch.txt")"
first_row=$(sed -n 3p "$WORK/watch.txt")
[[ "$first_row" != *" -"* ]] || die "stats --watch's first sample has '-': $first_row"
awk 'NR == 3 && $7 + 0 > 0 { ok = 1 } END { exit !ok }' "$WORK/watch.txt" || die "no TX rate in the first sample: $first_row"
testpmd_stop tx
testpmd_stop rx
log "PASS"
