#include "observer.h"

#include <rte_cycles.h>

#include <cstdio>
#include <cstring>
#include <ctime>

#include "control_methods.h"
#include "ec2_service.h"
#include "venic_telemetry.h"

namespace venic::observe {

namespace {

std::optional<FlowLogWriter::Place> place_of(const model::Ec2Service& ec2, uint16_t vf) {
  const model::Eni* e = ec2.model().eni_by_vf(vf);
  if (!e) return std::nullopt;
  const model::Subnet* s = ec2.model().subnet(e->subnet);
  return FlowLogWriter::Place{{e->id, e->subnet, s ? s->vpc : ""}, e->owner};
}

}  // namespace

Observer::Observer(const ObserverOptions& o, vf::VfTable& table, model::Ec2Service& ec2, efa::EfaEngine& efa,
                   control::ControlMethods& methods, std::function<void(std::function<void()>)> defer)
    : methods_(methods),
      sources_{&table, &ec2, &efa, o.version, o.workers, std::chrono::steady_clock::now(), {}, {}},
      flow_writer_(
          flow_logs_, o.flow_log_dir, o.workers, [&ec2](uint16_t vf) { return place_of(ec2, vf); }, defer,
          {rte_get_tsc_hz(), [] { return rte_rdtsc(); }, [] { return static_cast<int64_t>(std::time(nullptr)); }},
          FlowLogWriter::window_from_env()),
      captures_(table, defer) {
  methods.set_ec2_extension([this, &ec2](const std::string& action, const nlohmann::json& p,
                                         const Caller& c) -> std::optional<nlohmann::json> {
    if (!FlowLogs::handles(action)) return std::nullopt;
    return flow_logs_.call(action, p, c, ec2.model().to_json());
  });
  methods.set_extension([this](const std::string& m, const nlohmann::json& p, const Caller& c, uint64_t session,
                               std::vector<UniqueFd>& fds) { return captures_.call(m, p, c, session, fds); },
                        [this](uint64_t session) { captures_.session_closed(session); });
  set_worker_stats([] { return nlohmann::json::array(); });
  if (o.telemetry)
    if (int rc = register_telemetry(snapshot_); rc != 0)
      std::fprintf(stderr, "venicd: telemetry commands not registered: %s\n", std::strerror(-rc));
  if (!o.metrics.empty()) {
    metrics_.emplace(o.metrics, snapshot_);
    int port = 0;
    split_host_port(o.metrics, metrics_host_, port);
    if (metrics_host_.find(':') != std::string::npos) metrics_host_ = "[" + metrics_host_ + "]";
  }
}

Observer::~Observer() {
  unregister_telemetry();
  methods_.set_ec2_extension(nullptr);
  methods_.set_extension(nullptr, nullptr);
}

void Observer::set_worker_stats(std::function<nlohmann::json()> f) {
  sources_.worker_stats = f;
  methods_.set_worker_stats(std::move(f));
}

void Observer::housekeeping() {
  if (snapshot_->wanted()) snapshot_->publish(build_snapshot(sources_));
  flow_writer_.tick();
  captures_.tick();
}

std::string Observer::metrics_url() const {
  return metrics_ ? "http://" + metrics_host_ + ":" + std::to_string(metrics_->port()) + "/metrics" : "";
}

}  // namespace venic::observe
