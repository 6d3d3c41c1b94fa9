#include "format.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <string_view>
#include <vector>

#include "table.h"

namespace venic::ctl {
namespace {

using nlohmann::json;

const json* field(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// Any scalar as display text: booleans as yes/no, absent or null as "-".
std::string text_of(const json* value) {
  if (value == nullptr || value->is_null()) return "-";
  if (value->is_string()) return value->get<std::string>();
  if (value->is_boolean()) return value->get<bool>() ? "yes" : "no";
  return value->dump();
}

std::string text_of(const json& object, const char* key) {
  return text_of(field(object, key));
}

std::uint64_t counter_of(const json* value) {
  if (value == nullptr) return 0;
  if (value->is_number_unsigned()) return value->get<std::uint64_t>();
  if (value->is_number_integer())
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, value->get<std::int64_t>()));
  if (value->is_number_float()) return static_cast<std::uint64_t>(std::max(0.0, value->get<double>()));
  return 0;
}

std::uint64_t counter_of(const json& object, const char* key) {
  return counter_of(field(object, key));
}

std::optional<long> id_of(const json& object, const char* key) {
  const json* value = field(object, key);
  if (value == nullptr || !value->is_number_integer()) return std::nullopt;
  return value->get<long>();
}

const json& array_or_empty(const json& value) {
  static const json kEmpty = json::array();
  return value.is_array() ? value : kEmpty;
}

std::string ip_with_prefix(const json& vf) {
  std::string text = text_of(vf, "ip");
  if (const json* prefix = field(vf, "prefix"); prefix != nullptr && !prefix->is_null()) {
    text += '/';  // not "/" + ...: GCC 12's -Wrestrict false positive at -O3 (bug 105651)
    text += text_of(prefix);
  }
  return text;
}

// "1234" for an attached VF with a known owner, "-" when nobody holds it.
std::string attached_cell(const json& vf) {
  const json* attached = field(vf, "attached");
  if (attached == nullptr || !attached->is_boolean() || !attached->get<bool>()) return "-";
  const json* pid = field(vf, "owner_pid");
  return (pid != nullptr && pid->is_number()) ? pid->dump() : "yes";
}

// The traffic allowances of a VF object; an older venicd sends none of them.
constexpr std::array<const char*, 5> kLimitFields = {"bw_in_mbps", "bw_out_mbps", "pps", "flow_mbps", "burst_ms"};

bool has_limits(const json& vf) {
  return std::any_of(kLimitFields.begin(), kLimitFields.end(),
                     [&](const char* key) { return field(vf, key) != nullptr; });
}

bool is_zero(const json* value) {
  return value != nullptr && value->is_number() && *value == 0;
}

// An allowance: 0 is "unlimited", a number is followed by `unit` (if any).
std::string allowance_text(const json* value, const char* unit = "") {
  if (is_zero(value)) return "unlimited";
  std::string text = text_of(value);
  if (value != nullptr && value->is_number()) text += unit;
  return text;
}

// "1000/unlimited Mbps": the unit only when a direction has a number.
std::string bandwidth_text(const json& vf) {
  const json* in = field(vf, "bw_in_mbps");
  const json* out = field(vf, "bw_out_mbps");
  std::string text = allowance_text(in);
  text += '/';
  text += allowance_text(out);
  const bool limited =
      (in != nullptr && in->is_number() && !is_zero(in)) || (out != nullptr && out->is_number() && !is_zero(out));
  if (limited) text += " Mbps";
  return text;
}

// The table's compact form: "1000/-", "-" when both directions are unlimited.
std::string bandwidth_cell(const json& vf) {
  const json* in = field(vf, "bw_in_mbps");
  const json* out = field(vf, "bw_out_mbps");
  if (is_zero(in) && is_zero(out)) return "-";
  std::string text = is_zero(in) ? "-" : text_of(in);
  text += '/';
  text += is_zero(out) ? "-" : text_of(out);
  return text;
}

std::string pps_cell(const json& vf) {
  const json* pps = field(vf, "pps");
  return is_zero(pps) ? "-" : text_of(pps);
}

// " bw in/out 1000/unlimited Mbps pps unlimited flow 5000 Mbps burst 10 ms",
// or nothing from a venicd without allowances.
std::string limits_summary(const json& vf) {
  if (!has_limits(vf)) return "";
  return " bw in/out " + bandwidth_text(vf) + " pps " + allowance_text(field(vf, "pps")) + " flow " +
         allowance_text(field(vf, "flow_mbps"), " Mbps") + " burst " + allowance_text(field(vf, "burst_ms"), " ms");
}

// Counters of a stats object's "allowance_exceeded", ENA's order first.
constexpr std::array<const char*, 6> kAllowanceCounters = {
    "bw_in_allowance_exceeded",     "bw_out_allowance_exceeded",    "pps_allowance_exceeded",
    "conntrack_allowance_exceeded", "linklocal_allowance_exceeded", "flow_allowance_exceeded"};

// "name count" for each non-zero counter of `counters` (an object), those named
// in `order` first and in that order, then any others; comma-separated.
std::string nonzero_counters(const json& counters, const std::vector<std::string_view>& order) {
  std::string text;
  auto add = [&](std::string_view name, const json& count) {
    if (counter_of(&count) == 0) return;
    if (!text.empty()) text += ", ";
    text += name;
    text += ' ';
    text += std::to_string(counter_of(&count));
  };
  if (!counters.is_object()) return text;
  for (std::string_view name : order)
    if (auto it = counters.find(name); it != counters.end()) add(name, *it);
  for (const auto& [name, count] : counters.items())
    if (std::find(order.begin(), order.end(), name) == order.end()) add(name, count);
  return text;
}

// "key: value" lines with the values lined up.
std::string key_value_lines(const std::vector<std::pair<std::string, std::string>>& lines) {
  std::size_t width = 0;
  for (const auto& [key, value] : lines) width = std::max(width, key.size());
  std::string text;
  for (const auto& [key, value] : lines) text += key + ":" + std::string(width - key.size() + 1, ' ') + value + "\n";
  return text;
}

// Fields of `object` that `known` does not list, so that whatever a newer
// daemon adds still shows up.
void append_unknown_fields(const json& object, const std::vector<std::string_view>& known,
                           std::vector<std::pair<std::string, std::string>>& lines) {
  if (!object.is_object()) return;
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    lines.emplace_back(key, value.is_structured() ? value.dump() : text_of(&value));
  }
}

std::string per_second(double rate) {
  std::array<char, 32> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%.1f", rate);
  return buffer.data();
}

std::uint64_t total_drops(const json& stats) {
  std::uint64_t total = 0;
  if (const json* drops = field(stats, "drops"); drops != nullptr && drops->is_object())
    for (const auto& [reason, count] : drops->items()) total += counter_of(&count);
  return total;
}

std::string uptime_text(const json* seconds_value) {
  if (seconds_value == nullptr || !seconds_value->is_number()) return text_of(seconds_value);
  const std::uint64_t seconds = counter_of(seconds_value);
  std::array<char, 64> buffer{};
  const std::uint64_t days = seconds / 86400;
  const auto hours = static_cast<unsigned>(seconds / 3600 % 24);
  const auto minutes = static_cast<unsigned>(seconds / 60 % 60);
  const auto secs = static_cast<unsigned>(seconds % 60);
  if (days > 0)
    std::snprintf(buffer.data(), buffer.size(), "%llud %02u:%02u:%02u", static_cast<unsigned long long>(days), hours,
                  minutes, secs);
  else
    std::snprintf(buffer.data(), buffer.size(), "%02u:%02u:%02u", hours, minutes, secs);
  return buffer.data();
}

}  // namespace

std::string format_vf_table(const json& vfs) {
  const json& list = array_or_empty(vfs);
  if (list.empty()) return "no VFs\n";
  using Align = Table::Align;
  // The allowance columns only when venicd reports allowances.
  const bool limits = std::any_of(list.begin(), list.end(), has_limits);
  std::vector<Table::Column> columns = {
      {"ID", Align::kRight},     {"TYPE"}, {"MAC"},    {"IP/PREFIX"}, {"MTU", Align::kRight},
      {"QUEUES", Align::kRight}, {"LINK"}, {"TRUSTED"}};
  if (limits) {
    columns.push_back({"BW-IN/OUT", Align::kRight});
    columns.push_back({"PPS", Align::kRight});
  }
  columns.push_back({"ATTACHED"});
  Table table(std::move(columns));
  for (const json& vf : list) {
    std::vector<std::string> row = {text_of(vf, "id"),   text_of(vf, "type"),   text_of(vf, "mac"),
                                    ip_with_prefix(vf),  text_of(vf, "mtu"),    text_of(vf, "queues"),
                                    text_of(vf, "link"), text_of(vf, "trusted")};
    if (limits) {
      row.push_back(bandwidth_cell(vf));
      row.push_back(pps_cell(vf));
    }
    row.push_back(attached_cell(vf));
    table.add_row(std::move(row));
  }
  return table.render();
}

std::string format_vf_details(const json& vf) {
  std::string attached = text_of(vf, "attached");
  if (std::string pid = attached_cell(vf); pid != "-" && pid != "yes") attached += " (pid " + pid + ")";
  std::vector<std::pair<std::string, std::string>> lines = {{"id", text_of(vf, "id")},
                                                            {"type", text_of(vf, "type")},
                                                            {"mac", text_of(vf, "mac")},
                                                            {"ip", text_of(vf, "ip")},
                                                            {"prefix", text_of(vf, "prefix")},
                                                            {"subnet", text_of(vf, "subnet")},
                                                            {"mtu", text_of(vf, "mtu")},
                                                            {"trusted", text_of(vf, "trusted")},
                                                            {"queues", text_of(vf, "queues")},
                                                            {"link", text_of(vf, "link")},
                                                            {"attached", attached},
                                                            {"started", text_of(vf, "started")},
                                                            {"active_queues", text_of(vf, "active_queues")},
                                                            {"dma_regions", text_of(vf, "dma_regions")}};
  if (has_limits(vf)) {
    const auto before_attached =
        std::find_if(lines.begin(), lines.end(), [](const auto& line) { return line.first == "attached"; });
    lines.insert(before_attached, {{"bw in/out", bandwidth_text(vf)},
                                   {"pps", allowance_text(field(vf, "pps"))},
                                   {"flow", allowance_text(field(vf, "flow_mbps"), " Mbps")},
                                   {"burst", allowance_text(field(vf, "burst_ms"), " ms")}});
  }
  if (text_of(vf, "frontend") == "vhost-user") {
    std::string fe = "vhost-user " + text_of(vf, "vhost_mode") + " " + text_of(vf, "vhost_path");
    if (const json* vh = field(vf, "vhost"); vh && vh->is_object()) {
      const json* c = field(*vh, "connected");
      fe += (c && c->is_boolean() && c->get<bool>()) ? " (guest connected, " + text_of(*vh, "queues") + " queue pairs)"
                                                     : " (no guest)";
      lines.push_back({"vhost from/to guest", text_of(*vh, "from_guest_pkts") + " / " + text_of(*vh, "to_guest_pkts") +
                                                  " pkts, " + text_of(*vh, "to_guest_dropped") +
                                                  " dropped (guest rx full)"});
    }
    lines.insert(lines.begin() + 2, {"frontend", fe});
  }
  if (const json* sg = field(vf, "security"); sg && sg->is_object() && text_of(*sg, "enforced") == "yes") {
    auto count = [&](const char* dir) {
      const json* r = field(*sg, dir);
      return std::to_string(r && r->is_array() ? r->size() : 0);
    };
    lines.push_back(
        {"security groups", count("ingress") + " ingress, " + count("egress") + " egress rules (--json lists them)"});
  }
  if (const json* ct = field(vf, "conntrack"); ct && ct->is_object())
    lines.push_back({"conntrack", text_of(*ct, "tracked") + " of " + text_of(*ct, "max") + " flows tracked (" +
                                      text_of(*ct, "group") + ")"});
  std::vector<std::string_view> known = {
      "id",          "type",     "mac",        "ip",         "prefix",    "subnet",    "mtu",
      "trusted",     "queues",   "link",       "attached",   "owner_pid", "started",   "active_queues",
      "dma_regions", "frontend", "vhost_path", "vhost_mode", "vhost",     "conntrack", "security"};
  known.insert(known.end(), kLimitFields.begin(), kLimitFields.end());
  append_unknown_fields(vf, known, lines);
  return key_value_lines(lines);
}

std::string format_vf_created(const json& vf) {
  return "created vf " + text_of(vf, "id") + ": " + text_of(vf, "type") + " " + text_of(vf, "mac") + " " +
         ip_with_prefix(vf) + " mtu " + text_of(vf, "mtu") + " queues " + text_of(vf, "queues") + " trusted " +
         text_of(vf, "trusted") + limits_summary(vf) +
         (text_of(vf, "frontend") == "vhost-user"
              ? " vhost-user " + text_of(vf, "vhost_mode") + " " + text_of(vf, "vhost_path")
              : std::string()) +
         "\n";
}

std::string format_vf_updated(const json& vf) {
  return "updated vf " + text_of(vf, "id") + ": mtu " + text_of(vf, "mtu") + " trusted " + text_of(vf, "trusted") +
         " link " + text_of(vf, "link") + limits_summary(vf) + "\n";
}

std::string format_vf_deleted(const json& result) {
  return "deleted vf " + text_of(result, "deleted") + "\n";
}

std::string format_daemon_info(const json& info) {
  std::string vfs = text_of(info, "vfs");
  if (const json* max_vfs = field(info, "max_vfs"); max_vfs != nullptr && max_vfs->is_number())
    vfs += " of " + max_vfs->dump();
  std::vector<std::pair<std::string, std::string>> lines = {{"version", text_of(info, "version")},
                                                            {"abi", text_of(info, "abi")},
                                                            {"vfs", vfs},
                                                            {"workers", text_of(info, "workers")},
                                                            {"uptime", uptime_text(field(info, "uptime_s"))}};
  // Each worker's load: its busy share, and what a packet costs it.
  if (const json* load = field(info, "worker_load"); load != nullptr && load->is_array()) {
    for (const json& w : *load) {
      if (!w.is_object()) continue;
      char text[128];
      std::snprintf(text, sizeof text, "%.1f%% busy, %.1f ns/packet, %s packets", w.value("busy_pct", 0.0),
                    w.value("ns_per_packet", 0.0), text_of(w, "packets").c_str());
      lines.push_back({"worker " + text_of(w, "worker"), text});
    }
  }
  append_unknown_fields(info, {"version", "abi", "vfs", "max_vfs", "workers", "uptime_s", "worker_load"}, lines);
  return key_value_lines(lines);
}

RatesByVf compute_packet_rates(const json& previous_vfs, const json& current_vfs, double elapsed_seconds) {
  RatesByVf rates;
  if (!(elapsed_seconds > 0)) return rates;
  std::map<long, const json*> previous_by_id;
  for (const json& stats : array_or_empty(previous_vfs))
    if (auto id = id_of(stats, "vf")) previous_by_id[*id] = &stats;
  auto rate = [&](const json& before, const json& now, const char* key) {
    const std::uint64_t earlier = counter_of(before, key);
    const std::uint64_t later = counter_of(now, key);
    return later >= earlier ? static_cast<double>(later - earlier) / elapsed_seconds : 0.0;
  };
  for (const json& stats : array_or_empty(current_vfs)) {
    auto id = id_of(stats, "vf");
    if (!id) continue;
    auto before = previous_by_id.find(*id);
    if (before == previous_by_id.end()) continue;
    rates[*id] = {rate(*before->second, stats, "tx_pkts"), rate(*before->second, stats, "rx_pkts"),
                  8 * rate(*before->second, stats, "tx_bytes"), 8 * rate(*before->second, stats, "rx_bytes")};
  }
  return rates;
}

std::string si_rate(double per_second) {
  static constexpr const char* kPrefixes[] = {"", "k", "M", "G", "T"};
  if (!(per_second >= 1)) return "0";
  size_t i = 0;
  while (per_second >= 1000 && i + 1 < std::size(kPrefixes)) {
    per_second /= 1000;
    i++;
  }
  std::array<char, 32> buffer{};
  std::snprintf(buffer.data(), buffer.size(),
                i == 0            ? "%.0f%s"
                : per_second < 10 ? "%.2f%s"
                                  : "%.1f%s",
                per_second, kPrefixes[i]);
  return buffer.data();
}

std::string format_stats_table(const json& vfs, const std::optional<RatesByVf>& rates) {
  const json& list = array_or_empty(vfs);
  if (list.empty()) return "no VFs\n";
  using Align = Table::Align;
  std::vector<Table::Column> columns = {{"VF", Align::kRight},       {"TX-PKTS", Align::kRight},
                                        {"TX-BYTES", Align::kRight}, {"RX-PKTS", Align::kRight},
                                        {"RX-BYTES", Align::kRight}, {"DROPS", Align::kRight}};
  if (rates) {
    columns.push_back({"TX-PKT/S", Align::kRight});
    columns.push_back({"TX-BIT/S", Align::kRight});
    columns.push_back({"RX-PKT/S", Align::kRight});
    columns.push_back({"RX-BIT/S", Align::kRight});
  }
  Table table(std::move(columns));
  std::string drop_lines, allowance_lines, efa_lines;
  const std::vector<std::string_view> allowance_order(kAllowanceCounters.begin(), kAllowanceCounters.end());
  for (const json& stats : list) {
    const std::uint64_t drops = total_drops(stats);
    std::vector<std::string> row = {text_of(stats, "vf"),
                                    std::to_string(counter_of(stats, "tx_pkts")),
                                    std::to_string(counter_of(stats, "tx_bytes")),
                                    std::to_string(counter_of(stats, "rx_pkts")),
                                    std::to_string(counter_of(stats, "rx_bytes")),
                                    std::to_string(drops)};
    if (rates) {
      auto id = id_of(stats, "vf");
      auto found = id ? rates->find(*id) : rates->end();
      const bool known = found != rates->end();
      row.push_back(known ? per_second(found->second.tx_pps) : "-");
      row.push_back(known ? si_rate(found->second.tx_bps) : "-");
      row.push_back(known ? per_second(found->second.rx_pps) : "-");
      row.push_back(known ? si_rate(found->second.rx_bps) : "-");
    }
    table.add_row(std::move(row));

    // Absent from an older venicd: then simply no line.
    if (const json* exceeded = field(stats, "allowance_exceeded"); exceeded != nullptr) {
      if (std::string counters = nonzero_counters(*exceeded, allowance_order); !counters.empty())
        allowance_lines += "  vf " + text_of(stats, "vf") + ": " + counters + "\n";
    }

    if (const json* efa = field(stats, "efa"); efa != nullptr && efa->is_object()) {
      std::string counters = nonzero_counters(*efa, {"contexts"});
      efa_lines +=
          "  vf " + text_of(stats, "vf") + ": " + (counters.empty() ? "no contexts, no traffic" : counters) + "\n";
    }

    if (drops == 0) continue;
    drop_lines += "  vf " + text_of(stats, "vf") + ": " + nonzero_counters(*field(stats, "drops"), {}) + "\n";
  }
  std::string text = table.render();
  if (!drop_lines.empty()) text += "\ndrops by reason:\n" + drop_lines;
  if (!allowance_lines.empty()) text += "\nallowance exceeded:\n" + allowance_lines;
  if (!efa_lines.empty()) text += "\nEFA (OS bypass):\n" + efa_lines;
  return text;
}

std::string format_efa_contexts(const json& result) {
  const json* list = field(result, "contexts");
  if (list == nullptr || !list->is_array() || list->empty()) return "no open EFA contexts\n";
  using Align = Table::Align;
  Table table({{"CTX", Align::kRight},
               {"VF", Align::kRight},
               {"PID", Align::kRight},
               {"MRS", Align::kRight},
               {"QUEUE PAIRS", Align::kLeft}});
  for (const json& c : *list) {
    std::string qps;
    const json* qv = field(c, "qps");
    for (const json& q : qv ? array_or_empty(*qv) : array_or_empty(json()))
      qps += (qps.empty() ? "" : ", ") + text_of(q, "type") + " qpn " + text_of(q, "qpn");
    table.add_row({text_of(c, "ctx"), text_of(c, "vf"), text_of(c, "pid"), text_of(c, "mrs"), qps.empty() ? "-" : qps});
  }
  return table.render();
}

std::string format_efa_hooks(const json& result) {
  const json* reorder = field(result, "reorder");
  const bool on = reorder != nullptr && reorder->is_boolean() && reorder->get<bool>();
  if (!on) return "SRD reorder hook: off\n";
  return "SRD reorder hook: on (" + text_of(result, "reorder_percent") + "% of SENDs held up to " +
         text_of(result, "delay_us") + " us)\n";
}

std::string format_stats_reset(const json& result) {
  const json* reset = field(result, "reset");
  if (reset == nullptr || !reset->is_array() || reset->empty()) return "no VF counters to reset\n";
  const json& ids = *reset;
  std::string text = "reset counters of vf";
  for (std::size_t i = 0; i < ids.size(); i++) text += (i == 0 ? " " : ", ") + text_of(&ids[i]);
  return text + "\n";
}

}  // namespace venic::ctl
