#!/usr/bin/env bash
# libfabric conformance rows for vefa (tests/integration/fabric/vefa_conform.cpp):
# FI_SOURCE infos carry their source address, every mr_mode is matched or
# refused with -FI_ENODATA, unsupported features are refused at fi_getinfo on
# both sides, waitable CQs and counters (sread, sreadfrom, signal, wait fd,
# cntr_wait), poll sets, wait sets and tagged peek/claim/discard.
# Then the same rows with VENIC_FI_NAME=efa, where vefa registers as "efa"
# with EFA's names (fabric "efa", domains "<dev>-rdm"/"<dev>-dgrm",
# FI_PROTO_EFA) and FI_PROVIDER=efa fi_pingpong runs unmodified.
source "$(dirname "$0")/lib.sh"
start_venicd
fabric_env

vpc=$(new_vpc 10.0.0.0/16)
subnet=$(new_subnet "$vpc" 10.0.1.0/24)
sg=$(efa_group "$vpc")
IFS=, read -r inst inst_b < <(efa_instances "$subnet" "$sg" 2)

VENIC_INSTANCE=$inst timeout 60 "$BUILD/tests/integration/vefa_conform" >"$WORK/conform.log" 2>&1 ||
  die "vefa_conform failed: $(grep -v '^ok' "$WORK/conform.log" | head -12)"
log "$(tail -1 "$WORK/conform.log")"

export VENIC_FI_NAME=efa
VENIC_INSTANCE=$inst fi_info -p efa >"$WORK/fi_info_efa.out" 2>&1 || die "fi_info -p efa failed: $(cat "$WORK/fi_info_efa.out")"
for want in "fabric: efa" "domain: venic_efa[0-9]*-rdm" "domain: venic_efa[0-9]*-dgrm" "protocol: FI_PROTO_EFA"; do
  grep -q "$want" "$WORK/fi_info_efa.out" || die "fi_info -p efa does not show '$want'"
done
if VENIC_INSTANCE=$inst fi_info -p vefa >/dev/null 2>&1; then die "named efa, vefa is still listed"; fi
VENIC_INSTANCE=$inst VEFA_PROV=efa timeout 60 "$BUILD/tests/integration/vefa_conform" >"$WORK/conform_efa.log" 2>&1 ||
  die "vefa_conform as efa failed: $(grep -v '^ok' "$WORK/conform_efa.log" | head -12)"
log "as efa: $(tail -1 "$WORK/conform_efa.log")"
pp_port=$(free_port)
VENIC_INSTANCE=$inst FI_PROVIDER=efa timeout 60 fi_pingpong -e rdm -B "$pp_port" -S all -I 5 -c >"$WORK/pp_server.log" 2>&1 &
server=$!
PIDS+=("$server")
sleep 0.3
VENIC_INSTANCE=$inst_b FI_PROVIDER=efa timeout 60 fi_pingpong -e rdm -P "$pp_port" -S all -I 5 -c localhost >"$WORK/pp_client.log" 2>&1 ||
  die "FI_PROVIDER=efa fi_pingpong failed: $(tail -3 "$WORK/pp_client.log")"
wait "$server" || die "FI_PROVIDER=efa fi_pingpong server failed: $(tail -3 "$WORK/pp_server.log")"
log "FI_PROVIDER=efa fi_pingpong: $(tail -1 "$WORK/pp_client.log")"
assert_venicd_alive
log "PASS"
