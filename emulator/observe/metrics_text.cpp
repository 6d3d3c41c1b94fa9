#include "metrics_text.h"

#include <map>
#include <vector>

namespace venic::observe {

namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Families in first-seen order; the format wants a family's samples together.
class Exposition {
 public:
  void add(const std::string& name, const char* type, const std::string& help, const Labels& labels, uint64_t v) {
    auto it = index_.find(name);
    if (it == index_.end()) {
      it = index_.emplace(name, families_.size()).first;
      families_.push_back({name, type, help, {}});
    }
    std::string line = name;
    if (!labels.empty()) {
      line += '{';
      for (size_t i = 0; i < labels.size(); i++)
        line += (i ? "," : "") + labels[i].first + "=\"" + prom_escape(labels[i].second) + '"';
      line += '}';
    }
    line += ' ' + std::to_string(v) + '\n';
    families_[it->second].lines += line;
  }
  std::string text() const {
    std::string out;
    for (auto& f : families_)
      out += "# HELP " + f.name + ' ' + f.help + "\n# TYPE " + f.name + ' ' + f.type + '\n' + f.lines;
    return out;
  }

 private:
  struct Family {
    std::string name;
    const char* type;
    std::string help, lines;
  };
  std::vector<Family> families_;
  std::map<std::string, size_t> index_;
};

uint64_t num(const nlohmann::json& v) {
  if (v.is_boolean()) return v.get<bool>();
  return v.is_number_unsigned()  ? v.get<uint64_t>()
         : v.is_number_integer() ? uint64_t(std::max<int64_t>(0, v.get<int64_t>()))
                                 : 0;
}

uint64_t u64(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) ? num(j[key]) : 0;
}

// Metric names: [a-zA-Z0-9_] only.
std::string metric_name(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
  return s;
}

Labels with(Labels l, std::string k, std::string v) {
  l.emplace_back(std::move(k), std::move(v));
  return l;
}

void vf_metrics(Exposition& e, const nlohmann::json& v) {
  const Labels id = {{"vf", std::to_string(u64(v, "vf"))},
                     {"eni", v.value("eni", "")},
                     {"instance", v.value("instance", "")},
                     {"type", v.value("type", "")}};
  const nlohmann::json& s = v.contains("stats") ? v["stats"] : nlohmann::json::object();
  e.add("venic_vf_attached", "gauge", "1 while a driver holds the VF.", id, u64(v, "attached"));
  e.add("venic_vf_tx_packets_total", "counter", "Packets the VF sent that venicd took.", id, u64(s, "tx_pkts"));
  e.add("venic_vf_tx_bytes_total", "counter", "Bytes the VF sent that venicd took.", id, u64(s, "tx_bytes"));
  e.add("venic_vf_rx_packets_total", "counter", "Packets delivered to the VF.", id, u64(s, "rx_pkts"));
  e.add("venic_vf_rx_bytes_total", "counter", "Bytes delivered to the VF.", id, u64(s, "rx_bytes"));
  e.add("venic_vf_tx_zero_copy_packets_total", "counter", "Sent packets copied straight from the driver's memory.", id,
        u64(s, "tx_zero_copy_pkts"));
  e.add("venic_vf_rx_zero_copy_packets_total", "counter", "Delivered packets copied straight into the driver's memory.",
        id, u64(s, "rx_zero_copy_pkts"));
  e.add("venic_vf_mdd_resets_total", "counter", "Resets for malformed descriptors (malicious driver detection).", id,
        u64(s, "mdd_resets"));
  if (s.contains("drops"))
    for (auto& [reason, n] : s["drops"].items())
      e.add("venic_vf_drops_total", "counter", "Packets dropped, by reason.", with(id, "reason", reason), num(n));
  if (s.contains("allowance_exceeded"))
    for (auto& [name, n] : s["allowance_exceeded"].items())
      e.add("venic_vf_allowance_exceeded_total", "counter",
            "Packets shaped or dropped for exceeding an allowance (ENA's *_allowance_exceeded).",
            with(id, "allowance", name), num(n));
  if (s.contains("queues"))
    for (const char* dir : {"tx", "rx"}) {
      const auto& qs = s["queues"].value(dir, nlohmann::json::array());
      for (size_t q = 0; q < qs.size(); q++) {
        Labels l = with(with(id, "queue", std::to_string(q)), "direction", dir);
        e.add("venic_vf_queue_packets_total", "counter", "Packets per queue (tx: sent, rx: delivered).", l,
              u64(qs[q], "pkts"));
        e.add("venic_vf_queue_bytes_total", "counter", "Bytes per queue.", l, u64(qs[q], "bytes"));
        e.add("venic_vf_queue_drops_total", "counter", "Drops per queue, all reasons.", l, u64(qs[q], "drops"));
      }
    }
  if (v.contains("conntrack")) {
    e.add("venic_vf_conntrack_tracked", "gauge", "Flows connection tracking holds.", id,
          u64(v["conntrack"], "tracked"));
    e.add("venic_vf_conntrack_max", "gauge", "Flows connection tracking may hold.", id, u64(v["conntrack"], "max"));
  }
  if (v.contains("efa") && v["efa"].is_object())
    for (auto& [k, n] : v["efa"].items()) {
      if (!n.is_number()) continue;
      if (k == "contexts")
        e.add("venic_efa_contexts", "gauge", "Open EFA device contexts.", id, u64(v["efa"], "contexts"));
      else
        e.add("venic_efa_" + metric_name(k) + "_total", "counter", "EFA engine counter " + k + ".", id,
              u64(v["efa"], k.c_str()));
    }
}

}  // namespace

std::string prom_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"')
      out += '\\', out += c;
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string prometheus_text(const nlohmann::json& snap) {
  Exposition e;
  if (!snap.is_object()) return "";
  if (snap.contains("info")) {
    const auto& i = snap["info"];
    e.add("venic_info", "gauge", "venicd's version and device ABI (always 1).",
          {{"version", i.value("version", "")}, {"abi", i.value("abi", "")}}, 1);
    e.add("venic_uptime_seconds", "gauge", "Seconds since venicd started.", {}, u64(i, "uptime_s"));
    e.add("venic_workers", "gauge", "Poll-mode worker lcores.", {}, u64(i, "workers"));
    e.add("venic_vfs", "gauge", "VFs in the table.", {}, u64(i, "vfs"));
  }
  if (snap.contains("vfs"))
    for (auto& v : snap["vfs"]) vf_metrics(e, v);
  // Worker load: the raw counters only (busy share and cost per packet are
  // ratios of them, for the query to take over any window).
  if (snap.contains("workers"))
    for (size_t w = 0; w < snap["workers"].size(); w++) {
      const auto& wk = snap["workers"][w];
      if (!wk.is_object()) continue;
      for (const char* k : {"busy_cycles", "idle_cycles", "packets"}) {
        if (!wk.contains(k) || !wk[k].is_number()) continue;
        e.add(std::string("venic_worker_") + k + "_total", "counter",
              std::string("Worker ") + k + " (TSC cycles, packets).", {{"worker", std::to_string(w)}}, u64(wk, k));
      }
    }
  // The uplink to other hosts: frames and bytes each way, what it dropped by reason.
  if (snap.contains("underlay") && snap["underlay"].is_object()) {
    const auto& u = snap["underlay"];
    for (const char* k : {"tx_frames", "tx_bytes", "rx_frames", "rx_bytes", "delivered", "undelivered", "tx_full",
                          "tx_too_big", "rx_not_tunnel", "arp_answers", "srd_frames"})
      if (u.contains(k) && u[k].is_number())
        e.add(std::string("venic_underlay_") + k + "_total", "counter",
              std::string("The uplink to other hosts: ") + k + ".", {}, u64(u, k));
    if (u.contains("drops") && u["drops"].is_object())
      for (auto& [reason, n] : u["drops"].items())
        if (n.is_number())
          e.add("venic_underlay_drops_total", "counter",
                "Tunnelled frames the uplink dropped: spoofed (the outer source is not the inner source's host), "
                "unknown_vni, no_destination, not_carried.",
                {{"reason", reason}}, num(n));
  }
  return e.text();
}

}  // namespace venic::observe
