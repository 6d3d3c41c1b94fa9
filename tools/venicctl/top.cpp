#include "top.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <map>
#include <vector>

#include "format.h"
#include "table.h"

namespace venic::ctl {
namespace {

using nlohmann::json;

uint64_t counter(const json& o, const char* key) {
  if (!o.is_object() || !o.contains(key)) return 0;
  const json& v = o[key];
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) return static_cast<uint64_t>(std::max<int64_t>(0, v.get<int64_t>()));
  return 0;
}

// What rose between two samples (a counter that went back: reset, 0).
uint64_t rise(const json& before, const json& now, const char* key) {
  uint64_t a = counter(before, key), b = counter(now, key);
  return b >= a ? b - a : 0;
}

const json& list(const json& result, const char* key) {
  static const json kEmpty = json::array();
  return result.is_object() && result.contains(key) && result[key].is_array() ? result[key] : kEmpty;
}

std::map<long, const json*> by_vf(const json& vfs, const char* key) {
  std::map<long, const json*> m;
  for (const json& v : vfs)
    if (v.is_object() && v.contains(key) && v[key].is_number_integer()) m[v[key].get<long>()] = &v;
  return m;
}

std::string fixed(double x, const char* fmt = "%.3f") {
  std::array<char, 32> b{};
  std::snprintf(b.data(), b.size(), fmt, x);
  return b.data();
}

// Mpps and Gbps each way between two {pkts, bytes} (or *_pkts, *_bytes) objects.
std::vector<std::string> rate_cells(const json& a, const json& b, const char* tx_p, const char* tx_b, const char* rx_p,
                                    const char* rx_b, double dt) {
  return {fixed(double(rise(a, b, tx_p)) / dt / 1e6), fixed(8.0 * double(rise(a, b, tx_b)) / dt / 1e9),
          fixed(double(rise(a, b, rx_p)) / dt / 1e6), fixed(8.0 * double(rise(a, b, rx_b)) / dt / 1e9)};
}

// "reason 1.2k/s, other 5/s" for the members of two objects that rose.
std::string risen(const json& a, const json& b, double dt, bool as_rate) {
  std::string out;
  if (!b.is_object()) return out;
  for (auto& [k, v] : b.items()) {
    (void)v;
    uint64_t d = rise(a, b, k.c_str());
    if (d == 0) continue;
    out += (out.empty() ? "" : ", ") + k + " " +
           (as_rate ? si_rate(double(d) / dt) + "/s"
                    : "+" + std::to_string(d) + " (" + std::to_string(counter(b, k.c_str())) + ")");
  }
  return out;
}

const json& member(const json& o, const char* key) {
  static const json kNull;
  return o.is_object() && o.contains(key) ? o[key] : kNull;
}

}  // namespace

std::string format_top(const TopSample& before, const TopSample& now, double dt) {
  if (!(dt > 0)) dt = 1;
  using Align = Table::Align;
  Table table({{"VF"},
               {"ENI"},
               {"Q"},
               {"TX-MPPS", Align::kRight},
               {"TX-GBPS", Align::kRight},
               {"RX-MPPS", Align::kRight},
               {"RX-GBPS", Align::kRight},
               {"DROP/S", Align::kRight}});
  const auto prev = by_vf(list(before.stats, "vfs"), "vf");
  const auto names = by_vf(list(now.vfs, "vfs"), "id");
  std::string drops, allowances;
  for (const json& s : list(now.stats, "vfs")) {
    if (!s.is_object() || !s.contains("vf") || !s["vf"].is_number_integer()) continue;
    const long id = s["vf"].get<long>();
    auto p = prev.find(id);
    const json& a = p == prev.end() ? s : *p->second;  // new since the last sample: no rate yet
    auto n = names.find(id);
    std::string eni = n == names.end()                           ? ""
                      : member(*n->second, "eni_id").is_string() ? member(*n->second, "eni_id").get<std::string>()
                                                                 : "";
    uint64_t dropped = 0;
    if (s.contains("drops") && s["drops"].is_object())
      for (auto& [k, v] : s["drops"].items()) {
        (void)v;
        dropped += rise(member(a, "drops"), s["drops"], k.c_str());
      }
    std::vector<std::string> row = {std::to_string(id), eni.empty() ? "-" : eni, "all"};
    for (auto& c : rate_cells(a, s, "tx_pkts", "tx_bytes", "rx_pkts", "rx_bytes", dt)) row.push_back(c);
    row.push_back(si_rate(double(dropped) / dt));
    table.add_row(std::move(row));

    // Queues, when more than one carried traffic.
    const json& qa = member(member(a, "queues"), "tx");
    const json& qs = member(member(s, "queues"), "tx");
    const json& ra = member(member(a, "queues"), "rx");
    const json& rs = member(member(s, "queues"), "rx");
    std::vector<size_t> busy;
    for (size_t q = 0; qs.is_array() && rs.is_array() && q < qs.size() && q < rs.size(); q++) {
      const json& ta = qa.is_array() && q < qa.size() ? qa[q] : qs[q];
      const json& rb = ra.is_array() && q < ra.size() ? ra[q] : rs[q];
      if (rise(ta, qs[q], "pkts") + rise(rb, rs[q], "pkts") > 0) busy.push_back(q);
    }
    if (busy.size() > 1)
      for (size_t q : busy) {
        const json& ta = qa.is_array() && q < qa.size() ? qa[q] : qs[q];
        const json& rb = ra.is_array() && q < ra.size() ? ra[q] : rs[q];
        std::vector<std::string> qrow = {"", "", std::to_string(q)};
        auto t = rate_cells(ta, qs[q], "pkts", "bytes", "-", "-", dt);
        auto r = rate_cells(rb, rs[q], "-", "-", "pkts", "bytes", dt);
        qrow.insert(qrow.end(), {t[0], t[1], r[2], r[3],
                                 si_rate(double(rise(ta, qs[q], "drops") + rise(rb, rs[q], "drops")) / dt)});
        table.add_row(std::move(qrow));
      }
    if (auto d = risen(member(a, "drops"), member(s, "drops"), dt, true); !d.empty())
      drops += "  vf " + std::to_string(id) + ": " + d + "\n";
    if (auto r = risen(member(a, "allowance_exceeded"), member(s, "allowance_exceeded"), dt, false); !r.empty())
      allowances += "  vf " + std::to_string(id) + ": " + r + "\n";
  }
  std::string text = table.render();
  text += "\ndrops/s by reason:\n" + (drops.empty() ? std::string("  none\n") : drops);
  text += "\nallowance exceeded (rise, total):\n" + (allowances.empty() ? std::string("  none\n") : allowances);

  const json& wa = list(before.stats, "workers");
  const json& ws = list(now.stats, "workers");
  text += "\nworkers:\n";
  if (ws.empty()) text += "  none reported (only root and venicd's uid see worker load)\n";
  for (size_t w = 0; w < ws.size(); w++) {
    const json& a = w < wa.size() ? wa[w] : ws[w];
    const uint64_t busy = rise(a, ws[w], "busy_cycles"), idle = rise(a, ws[w], "idle_cycles");
    const uint64_t pkts = rise(a, ws[w], "packets");
    text += "  " + std::to_string(w) + ": busy " +
            (busy + idle ? fixed(100.0 * double(busy) / double(busy + idle), "%.1f") : "-") + " %, " +
            fixed(double(pkts) / dt / 1e6) + " Mpps, " + (pkts ? fixed(double(busy) / double(pkts), "%.0f") : "-") +
            " cycles/packet\n";
  }
  return text;
}

}  // namespace venic::ctl
