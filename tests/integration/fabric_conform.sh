#!/usr/bin/env bash
# libfabric conformance rows for vefa (tests/integration/fabric/vefa_conform.cpp):
# FI_SOURCE infos carry their source address, every mr_mode is matched or
# refused with -FI_ENODATA, unsupported features are refused at fi_getinfo on
# both sides, waitable CQs and counters (sread, sreadfrom, signal, wait fd,
# cntr_wait), poll sets, wait sets and tagged peek/claim/discard.
source "$(dirname "$0")/lib.sh"
start_venicd
fabric_env

vpc=$(new_vpc 10.0.0.0/16)
subnet=$(new_subnet "$vpc" 10.0.1.0/24)
sg=$(efa_group "$vpc")
inst=$(efa_instances "$subnet" "$sg" 1)

VENIC_INSTANCE=$inst timeout 60 "$BUILD/tests/integration/vefa_conform" >"$WORK/conform.log" 2>&1 ||
  die "vefa_conform failed: $(grep -v '^ok' "$WORK/conform.log" | head -12)"
log "$(tail -1 "$WORK/conform.log")"
assert_venicd_alive
log "PASS"
