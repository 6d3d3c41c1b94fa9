// venicd: the venic daemon.  Parses its options, restores the VF table, starts
// the poll-mode workers and serves the control socket until SIGTERM/SIGINT.
#include <arpa/inet.h>
#include <grp.h>
#include <unistd.h>
#include <rte_eal.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <signal.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control_methods.h"
#include "control_server.h"
#include "dataplane.h"
#include "ec2_service.h"
#include "gateway_directory.h"
#include "gateway_service.h"
#include "internet_uplink.h"
#include "uplink_port.h"
#include "model_store.h"
#include "model_watch.h"
#include "efa_engine.h"
#include "http_endpoint.h"
#include "observer.h"
#include "protocol.h"
#include "service_port.h"
#include "snapshot.h"
#include "state_store.h"
#include "vf_table.h"
#include "vhost_frontend.h"

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) {
  g_stop.store(true);
}

constexpr const char* kVersion = "0.1.0";

struct Options {
  std::string socket{venic::control::kDefaultSocket};
  std::string state = "/var/lib/venic/state.json";
  unsigned workers = 1;
  unsigned idle_sleep_us = 100;
  std::vector<unsigned> allow_uids;
  std::string group;
  unsigned max_connections_per_uid = venic::control::ServerOptions::kDefaultMaxConnectionsPerUid;
  unsigned max_vfs_per_uid = venic::control::ControlMethods::kDefaultMaxVfsPerUid;
  std::string ec2_api;          // HOST:PORT of the EC2 Query API; empty: off
  std::string ec2_access_keys;  // its access keys (ec2api/access_keys.h)
  bool no_telemetry = false;
  std::string metrics;  // HOST:PORT of the Prometheus endpoint; empty: none
  std::string flow_log_dir = "/var/log/venic/flow-logs";
  std::string internet_uplink;  // tun:NAME: the internet gateways' uplink; empty: none
  // Several hosts, one model (docs/multi-host.md).
  std::string etcd;                    // URL[,URL]: the shared EC2 model; empty: a single host
  std::string venic_host;              // this host's name; empty: the machine's hostname
  std::string underlay_ip;             // this host's tunnel endpoint
  std::string uplink;                  // an interface for the DPDK net_af_packet port to them; empty: none
  std::string uplink_encap = "vxlan";  // or geneve
};

std::string machine_hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || !name[0]) return "localhost";
  return name;
}

// EAL's runtime directory (the telemetry socket's) is /var/run/dpdk/<prefix>
// (root) or $XDG_RUNTIME_DIR/dpdk/<prefix>; several venicds on one prefix get
// dpdk_telemetry.v2, dpdk_telemetry.v2:1, ... (dpdk-telemetry.py -i N).
constexpr const char* kFilePrefix = "venicd";

bool has_eal_option(const std::vector<std::string>& args, const std::string& opt) {
  for (auto& a : args)
    if (a == opt || a.rfind(opt + "=", 0) == 0) return true;
  return false;
}

// Every connection, region and registered memory object is an fd: take all
// the kernel lets us (systemd's default soft limit is 1024).
void raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == lim.rlim_max) return;
  rlimit want = lim;
  want.rlim_cur = lim.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &want) != 0)
    std::fprintf(stderr, "venicd: cannot raise the open-file limit from %llu to %llu: %s\n",
                 static_cast<unsigned long long>(lim.rlim_cur), static_cast<unsigned long long>(lim.rlim_max),
                 std::strerror(errno));
}

// The fast path's exception port is the instance services' queue.
struct ServiceExceptions final : venic::fastpath::ExceptionPort {
  explicit ServiceExceptions(venic::services::ServicePort& p) : port(p) {}
  bool offer(uint16_t vf, const uint8_t* frame, uint32_t len) override { return port.offer(vf, frame, len); }
  venic::services::ServicePort& port;
};

int fail(const std::string& msg) {
  std::fprintf(stderr, "venicd: %s\n", msg.c_str());
  return 1;
}

// daemon.info's worker_load: each worker's busy share and cost per packet.
nlohmann::json worker_load_json(const venic::fastpath::Dataplane& dp) {
  nlohmann::json out = nlohmann::json::array();
  const double hz = static_cast<double>(rte_get_tsc_hz());
  unsigned i = 0;
  for (const auto& w : dp.worker_stats()) {
    const double total = static_cast<double>(w.busy_cycles + w.idle_cycles);
    out.push_back({{"worker", i++},
                   {"busy_pct", total > 0 ? 100.0 * static_cast<double>(w.busy_cycles) / total : 0.0},
                   {"packets", w.packets},
                   {"busy_cycles", w.busy_cycles},
                   {"idle_cycles", w.idle_cycles},
                   {"ns_per_packet", w.packets ? 1e9 * static_cast<double>(w.busy_cycles) / hz / w.packets : 0.0}});
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  // Everything after "--" belongs to DPDK's EAL.
  int split = argc;
  for (int i = 1; i < argc; i++)
    if (std::strcmp(argv[i], "--") == 0) {
      split = i;
      break;
    }

  Options o;
  CLI::App app{"venicd - the venic virtual NIC daemon: serves up to 256 VFs over shared memory"};
  app.add_option("--socket", o.socket, "control socket path")->capture_default_str();
  app.add_option("--state", o.state, "state file (the VF table, restored at start)")->capture_default_str();
  app.add_option("--workers", o.workers, "poll-mode worker lcores")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--idle-sleep-us", o.idle_sleep_us,
                 "a worker idle for a few ms naps this long between polls (0: busy-poll always)")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  app.add_option("--allow-uid", o.allow_uids, "also serve this uid (root and our own uid always are)");
  app.add_option("--group", o.group, "group that owns the control socket (mode 0660)");
  app.add_option("--max-connections-per-uid", o.max_connections_per_uid,
                 "control connections a uid may hold open (root and venicd's uid: no cap)")
      ->check(CLI::Range(1u, 1000000u))
      ->capture_default_str();
  app.add_option("--max-vfs-per-uid", o.max_vfs_per_uid,
                 "VFs a uid other than root and venicd's may create with vf.create")
      ->check(CLI::Range(0u, 256u))
      ->capture_default_str();
  app.add_option("--ec2-api", o.ec2_api,
                 "serve the EC2 Query API (aws CLI, boto3) over HTTP on HOST:PORT, e.g. 127.0.0.1:8773 "
                 "(off unless given; needs --ec2-access-keys)");
  app.add_option("--ec2-access-keys", o.ec2_access_keys,
                 "the EC2 API's access keys: lines 'ACCESS_KEY_ID SECRET UID' or JSON, mode 0600");
  app.add_flag("--no-telemetry", o.no_telemetry,
               "no rte_telemetry socket (dpdk-telemetry.py -f venicd reads /venic/* commands by default)");
  app.add_option("--metrics", o.metrics,
                 "serve Prometheus metrics at http://HOST:PORT/metrics (e.g. 127.0.0.1:9464; off unless given)");
  app.add_option("--flow-log-dir", o.flow_log_dir, "VPC Flow Logs' files: <dir>/<account-id>/<LogDestination>")
      ->capture_default_str();
  app.add_option("--internet-uplink", o.internet_uplink,
                 "the internet behind the internet and NAT gateways: tun:NAME makes a TUN device NAME to move into "
                 "a network namespace (README, 'Internet gateways'); off unless given");
  // ---- several hosts, one EC2 model in etcd (docs/multi-host.md) ----
  app.add_option("--etcd", o.etcd,
                 "keep the EC2 model in etcd (URL[,URL], e.g. http://10.0.0.1:2379) shared with other venicds; "
                 "then --state holds no model and the VFs are those of the ENIs placed on this host");
  app.add_option("--venic-host", o.venic_host, "this host's name in the cluster (default: the machine's hostname)");
  app.add_option("--underlay-ip", o.underlay_ip,
                 "this host's tunnel endpoint address (IPv4) on --uplink; venicd answers ARP for it there");
  app.add_option("--uplink", o.uplink,
                 "the underlay to the other hosts: an interface (a veth, a NIC) for a DPDK net_af_packet port; "
                 "frames for ENIs on other hosts leave here encapsulated");
  app.add_option("--underlay", o.uplink_encap, "the encapsulation: vxlan (UDP 4789) or geneve (UDP 6081)")
      ->check(CLI::IsMember({"vxlan", "geneve"}))
      ->capture_default_str();
  app.set_version_flag("--version", kVersion);
  app.footer(
      "EAL arguments follow '--'; without them venicd uses\n"
      "  -l 0-<workers> --no-pci --no-huge -m 128 --no-shconf --file-prefix venicd --log-level=lib.eal:notice\n"
      "(--file-prefix venicd is added when the EAL arguments name no prefix; --no-telemetry is passed on)\n\n"
      "Examples:\n"
      "  venicd --socket /run/venic/venicd.sock --state /var/lib/venic/state.json\n"
      "  venicd --workers 2 -- -l 0-2 --no-pci --no-huge -m 128 --no-shconf\n");
  try {
    app.parse(split, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(e.what() + std::string(" (see --help)"));
  }

  raise_fd_limit();

  // The EC2 API's settings and keys are checked before anything starts.
  std::optional<venic::ec2api::EndpointOptions> ec2_api;
  venic::ec2api::AccessKeys ec2_keys;
  if (!o.ec2_api.empty()) {
    try {
      ec2_api = venic::ec2api::parse_listen_address(o.ec2_api);
    } catch (const std::invalid_argument& e) {
      return fail("--ec2-api " + o.ec2_api + ": " + e.what());
    }
    if (o.ec2_access_keys.empty()) return fail("--ec2-api needs --ec2-access-keys FILE (see docs/ec2-api.md)");
    try {
      ec2_keys = venic::ec2api::AccessKeys::load(o.ec2_access_keys);
    } catch (const std::runtime_error& e) {
      return fail(e.what());
    }
  }

  std::optional<gid_t> gid;
  if (!o.group.empty()) {
    group* g = ::getgrnam(o.group.c_str());
    if (!g) return fail("no such group '" + o.group + "'");
    gid = g->gr_gid;
  }

  // With --etcd the shared model is the state: its VFs are rebuilt from it.
  const bool cluster = !o.etcd.empty();
  if (o.venic_host.empty()) o.venic_host = machine_hostname();
  venic::vf::UnderlayHost self{o.venic_host, 0, {}};
  // Its MAC is the uplink port's (zeros without one: nothing tunnels here).
  if (cluster) {
    auto ip = venic::vf::parse_ipv4(o.underlay_ip);
    if (!ip || !*ip) return fail("--etcd needs --underlay-ip A.B.C.D (this host's tunnel endpoint)");
    self.ip = *ip;
  } else if (!o.underlay_ip.empty() && o.uplink.empty()) {
    return fail("--underlay-ip needs --etcd (or --uplink)");
  }
  // A corrupt state file stops us before anything is touched.
  venic::state::StateStore store(o.state);
  std::vector<venic::vf::VfConfig> saved;
  nlohmann::json saved_ec2;
  try {
    if (!cluster) saved = store.load(&saved_ec2);
  } catch (const venic::state::StateError& e) {
    return fail(e.what());
  }
  if (!saved_ec2.is_null()) {
    try {
      venic::model::Ec2Model check;
      check.load(saved_ec2);  // a corrupt model stops us here too, before EAL
    } catch (const venic::model::Ec2Error& e) {
      return fail(o.state + ": " + e.what());
    }
  }

  // The state's directory must exist for the first save.
  if (auto dir = std::filesystem::path(o.state).parent_path(); !dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail("cannot create " + dir.string() + ": " + ec.message());
  }

  std::vector<std::string> eal_args{argv[0]};
  if (split < argc) {
    for (int i = split + 1; i < argc; i++) eal_args.push_back(argv[i]);
  } else {
    for (const char* a : {"--no-pci", "--no-huge", "-m", "128", "--no-shconf", "--log-level=lib.eal:notice"})
      eal_args.push_back(a);
    eal_args.push_back("-l");
    eal_args.push_back("0-" + std::to_string(o.workers));
  }
  if (!has_eal_option(eal_args, "--file-prefix") && !has_eal_option(eal_args, "--in-memory")) {
    eal_args.push_back("--file-prefix");
    eal_args.push_back(kFilePrefix);
  }
  if (o.no_telemetry && !has_eal_option(eal_args, "--no-telemetry")) eal_args.push_back("--no-telemetry");
  venic::underlay::UplinkOptions uplink_opts;
  if (!o.uplink.empty()) {
    in_addr a{};
    if (o.underlay_ip.empty() || inet_pton(AF_INET, o.underlay_ip.c_str(), &a) != 1)
      return fail("--uplink needs --underlay-ip, this host's IPv4 address on the underlay");
    uplink_opts = {o.uplink, ntohl(a.s_addr),
                   o.uplink_encap == "geneve" ? venic::underlay::Encap::kGeneve : venic::underlay::Encap::kVxlan,
                   o.workers};
    eal_args.push_back("--vdev");
    eal_args.push_back(venic::underlay::UplinkPort::eal_vdev(uplink_opts));
  }
  std::vector<char*> eal_argv;
  for (auto& a : eal_args) eal_argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0)
    return fail(std::string("EAL init failed: ") + rte_strerror(rte_errno));

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  int rc = 0;
  try {
    venic::fastpath::Dataplane dp(o.workers, o.idle_sleep_us);
    std::string sock_dir = std::filesystem::absolute(o.socket).parent_path().string();
    venic::frontend::VhostFrontend vhost(dp, sock_dir);
    venic::vf::VfTable table(dp, cluster ? nullptr : &store, &vhost);
    table.restore(saved);
    // The uplink to the other hosts: every worker sends through it, the first polls it.
    std::unique_ptr<venic::underlay::UplinkPort> underlay;
    if (!o.uplink.empty()) {
      underlay = std::make_unique<venic::underlay::UplinkPort>(uplink_opts);
      dp.set_underlay_port(underlay.get());
      self.mac = underlay->mac();
      std::printf("venicd: uplink on %s (%s, MTU %u: inner MTU %u)\n", o.uplink.c_str(), o.uplink_encap.c_str(),
                  underlay->mtu(), underlay->inner_mtu());
    }
    venic::model::Ec2Service ec2(table, cluster ? nullptr : &store);
    if (underlay) ec2.set_mtu_cap(static_cast<uint16_t>(std::min<uint32_t>(underlay->inner_mtu(), 0xffff)));
    std::unique_ptr<venic::cluster::ModelStore> model_store;
    if (cluster) {
      model_store = std::make_unique<venic::cluster::ModelStore>(venic::cluster::parse_endpoints(o.etcd));
      ec2.set_cluster(model_store.get(), o.venic_host);
    } else {
      ec2.set_host(o.venic_host);
    }
    // The instance's own services (IMDS, Amazon DNS, Time Sync): they learn
    // every change of the model; the fast path offers them its frames.
    std::array<uint8_t, 6> router_mac;
    std::copy(std::begin(venic::fastpath::kRouterMac), std::end(venic::fastpath::kRouterMac), router_mac.begin());
    venic::services::ServicePort services({router_mac, 512});
    // The internet and NAT gateways (emulator/gateways): with an uplink only.
    std::unique_ptr<venic::gateways::InternetUplink> uplink;
    if (!o.internet_uplink.empty()) uplink = std::make_unique<venic::gateways::InternetUplink>(o.internet_uplink);
    venic::gateways::GatewayService gateways({{router_mac, {}}, 1024},
                                             [&dp](uint16_t vf, const uint8_t* frame, uint32_t len) {
                                               return dp.inject(vf, frame, len, venic::fastpath::InjectFrom::kInternet);
                                             });
    ec2.set_on_change([&services, &gateways](const venic::model::Ec2Model& m) {
      services.publish(venic::services::build_directory(m));
      gateways.publish(venic::gateways::build_gateway_directory(m));
    });
    if (cluster) {
      ec2.join(self);  // registers this host, loads the model, makes the VFs of the ENIs placed here
      std::printf("venicd: host %s (underlay %s) in the cluster of %s, model revision %lld, %zu host(s)\n",
                  o.venic_host.c_str(), o.underlay_ip.c_str(), o.etcd.c_str(), static_cast<long long>(ec2.revision()),
                  ec2.model().hosts().size());
    } else {
      ec2.restore(saved_ec2);
    }
    services.set_inject([&dp](uint16_t vf, const uint8_t* frame, uint32_t len) { return dp.inject(vf, frame, len); });
    ServiceExceptions exceptions(services);
    if (std::string why = services.start(); !why.empty())
      std::fprintf(stderr, "venicd: %s; the instance services are off\n", why.c_str());
    else
      dp.set_exception_port(&exceptions);
    if (uplink) {
      gateways.start(uplink->fd());
      dp.set_gateway_port(&gateways);
      std::printf("venicd: internet uplink on TUN %s\n", uplink->name().c_str());
    }
    // The EFA devices' data mover runs on the first worker.
    venic::efa::EfaEngine efa([&dp] { dp.synchronize(); }, [&dp](std::function<void()> f) { dp.defer(std::move(f)); });
    efa.set_instance_resolver([&ec2](const std::string& instance) -> std::optional<uint16_t> {
      for (auto& [id, e] : ec2.model().enis())
        if (e.efa && e.instance == instance && ec2.model().local(e)) return e.vf;
      return std::nullopt;
    });
    efa.on_table(table);
    if (underlay) {
      // EFA's SRD frames to other hosts ride the uplink, both ways on the
      // first worker (efa_link.h): one frame per SEND where the underlay
      // carries 8 KiB and the header.
      venic::efa::srd::SrdConfig srd;
      const uint32_t inner = std::min<uint32_t>(underlay->inner_mtu(), 9001);
      srd.frame_payload = std::clamp<uint32_t>(inner > 64 ? inner - 64 : 0, 1024, 8192);
      efa.set_link(underlay.get(), srd);
      underlay->set_srd_receiver([&efa](const uint8_t* f, uint32_t len) { efa.receive(f, len); });
    }
    dp.set_device(&efa);
    // However this block ends, the workers stop polling the EFA engine before
    // it is destroyed.
    struct DeviceGuard {
      venic::fastpath::Dataplane& dp;
      ~DeviceGuard() {
        dp.stop();
        dp.set_device(nullptr);
      }
    } device_guard{dp};
    venic::control::DaemonInfo info{kVersion, o.workers, std::chrono::steady_clock::now(), {}};
    info.worker_load = [&dp] { return worker_load_json(dp); };
    if (uplink) info.gateways = [&gateways] { return gateways.stats_json(); };
    if (underlay) info.underlay = [&underlay] { return underlay->stats_json(); };
    venic::control::ControlMethods methods(table, info, &ec2, &efa);
    methods.set_max_vfs_per_uid(o.max_vfs_per_uid);
    methods.set_tenant_socket_dir(sock_dir);
    venic::control::ServerOptions so{o.socket, {o.allow_uids.begin(), o.allow_uids.end()}, gid};
    so.max_connections_per_uid = o.max_connections_per_uid;
    // Telemetry, metrics, flow logs and capture (emulator/observe/).  The
    // fast path's hooks: observer.flow_log_writer() and observer.captures();
    // its per-worker load: observer.set_worker_stats.
    venic::observe::Observer observer({kVersion, o.workers, !o.no_telemetry, o.metrics, o.flow_log_dir}, table, ec2,
                                      efa, methods, [&dp](std::function<void()> f) { dp.defer(std::move(f)); });
    observer.set_worker_stats([&dp] { return worker_load_json(dp); });
    if (underlay) observer.set_underlay_stats([&underlay] { return underlay->stats_json(); });
    dp.set_observe(
        &observer.flow_log_writer().selection(),
        [&observer](unsigned w) { return &observer.flow_log_writer().table(w); }, &observer.captures().tap(0));
    so.housekeeping = [&observer] { observer.housekeeping(); };
    if (std::string url = observer.metrics_url(); !url.empty()) std::printf("venicd: metrics on %s\n", url.c_str());
    venic::control::ControlServer server(so, methods, table);
    // The EC2 API's threads hand each action to this (the control) thread.
    venic::control::ControlTasks ec2_tasks;
    server.set_tasks(&ec2_tasks);
    venic::ec2api::QueryApi ec2_query(ec2_keys, venic::ec2api::control_thread_call(ec2_tasks, ec2));
    std::unique_ptr<venic::ec2api::HttpEndpoint> ec2_endpoint;
    if (ec2_api) ec2_endpoint = std::make_unique<venic::ec2api::HttpEndpoint>(*ec2_api, ec2_query);
    // Requests still waiting for this thread are answered before it goes.
    struct Ec2ApiGuard {
      venic::control::ControlTasks& tasks;
      std::unique_ptr<venic::ec2api::HttpEndpoint>& endpoint;
      ~Ec2ApiGuard() {
        tasks.close();
        if (endpoint) endpoint->stop();
      }
    } ec2_api_guard{ec2_tasks, ec2_endpoint};
    // Another host's change reaches this one through the watch: one reload
    // at a time queued for the control thread.
    std::atomic<bool> reload_queued{false};
    std::unique_ptr<venic::cluster::ModelWatch> model_watch;
    if (cluster)
      model_watch = std::make_unique<venic::cluster::ModelWatch>(model_store->endpoints(), ec2.revision(),
                                                                 [&ec2_tasks, &ec2, &reload_queued](int64_t) {
                                                                   if (reload_queued.exchange(true)) return;
                                                                   if (!ec2_tasks.post([&ec2, &reload_queued] {
                                                                         reload_queued = false;
                                                                         ec2.refresh();
                                                                       }))
                                                                     reload_queued = false;
                                                                 });
    if (ec2_endpoint)
      std::printf("venicd: EC2 API on http://%s:%d/ (%zu access key(s))\n", ec2_api->host.c_str(), ec2_endpoint->port(),
                  ec2_keys.size());
    dp.start();
    std::printf("venicd: serving %zu VF(s) on %s with %u worker(s)\n", saved.size(), o.socket.c_str(), o.workers);
    std::fflush(stdout);
    server.run(g_stop);
    dp.stop();
    std::printf("venicd: stopped\n");
  } catch (const std::exception& e) {
    rc = fail(e.what());
  }
  rte_eal_cleanup();
  return rc;
}
