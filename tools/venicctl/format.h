// Human-readable text for the objects venicd returns (docs/control-protocol.md).
// Every function tolerates missing or oddly typed fields (printed as "-") so a
// newer or older daemon never makes venicctl throw while printing.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace venic::ctl {

// vf.list's "vfs" array as a table:
// ID TYPE MAC IP/PREFIX MTU QUEUES LINK TRUSTED [BW-IN/OUT PPS] ATTACHED.
// The allowance columns (Mbit/s and packets/s, "-" when unlimited) appear
// when venicd reports allowances.
std::string format_vf_table(const nlohmann::json& vfs);

// One VF object as "key: value" lines (vf.show), the allowances as
// "bw in/out: 1000/unlimited Mbps", "pps: unlimited", "flow: 5000 Mbps" and
// "burst: 10 ms".
std::string format_vf_details(const nlohmann::json& vf);

// One-line confirmations for vf.create, vf.set and vf.delete.
std::string format_vf_created(const nlohmann::json& vf);
std::string format_vf_updated(const nlohmann::json& vf);
std::string format_vf_deleted(const nlohmann::json& result);

// daemon.info as "key: value" lines.
std::string format_daemon_info(const nlohmann::json& info);
// efa.list's contexts, and efa.hooks' settings.
std::string format_efa_contexts(const nlohmann::json& result);
std::string format_efa_hooks(const nlohmann::json& result);

// Packets and bits per second of one VF between two stats samples.
struct PacketRates {
  double tx_pps = 0;
  double rx_pps = 0;
  double tx_bps = 0;
  double rx_bps = 0;
};
using RatesByVf = std::map<long, PacketRates>;

// Rates for the VFs present in both samples; a counter that went backwards
// (reset, or the VF was re-created) counts as 0 rather than a huge number.
RatesByVf compute_packet_rates(const nlohmann::json& previous_vfs, const nlohmann::json& current_vfs,
                               double elapsed_seconds);

// The stats "vfs" array as a table (VF TX-PKTS TX-BYTES RX-PKTS RX-BYTES
// DROPS), followed by the non-zero drop reasons of each VF that dropped and
// the non-zero "allowance_exceeded" counters (ENA's names) of each VF.
// With `rates` the table gains TX-PKT/S, TX-BIT/S, RX-PKT/S and RX-BIT/S
// columns ("-" for a VF absent from the map: one created since the last
// sample).
std::string format_stats_table(const nlohmann::json& vfs, const std::optional<RatesByVf>& rates = std::nullopt);

// A rate with an SI prefix: 0, 950, 12.3k, 1.23M, 9.87G.
std::string si_rate(double per_second);

// stats.reset's {"reset": [N, ...]}.
std::string format_stats_reset(const nlohmann::json& result);

}  // namespace venic::ctl
