#include "cli.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "args.h"
#include "cluster_command.h"
#include "commands.h"
#include "control_client.h"
#include "ec2_commands.h"
#include "format.h"
#include "protocol.h"
#include "requests.h"

namespace venic::ctl {
namespace {

using nlohmann::json;

constexpr const char* kExamples = R"(Examples:
  venicctl vf create --type ena --mac 02:00:00:00:00:01 --ip 10.0.1.10
  venicctl vf create --type ena --mac 02:00:00:00:00:02 --ip 10.0.1.11 --prefix 24 \
                     --mtu 9001 --queues 2 --trusted --id 7
  venicctl vf list
  venicctl vf show 0
  venicctl vf set 0 --mtu 9001 --trusted on --link down
  venicctl vf set 1 --src-dst-check off --secondary-ip 10.0.1.20 --secondary-ip 10.0.1.21
  venicctl vf set 1 --bw-mbps 1000 --pps 100000 --flow-mbps 10000
  venicctl vf set 1 --bw-in-mbps unlimited --bw-out-mbps 500 --burst-ms 100
  venicctl vf delete 7
  venicctl stats                 # counters of every VF
  venicctl stats 0 --watch 2     # VF 0 every 2 s with packet and bit rates; Ctrl-C stops
  venicctl top                   # Mpps/Gbps per VF and queue, drops, allowances, workers
  venicctl capture 0 --count 100 -w vf0.pcapng   # pcapng with each packet's verdict
  venicctl stats --reset
  venicctl info --json
  VENIC_SOCKET=/tmp/venicd.sock venicctl vf list
  venicctl create-vpc --cidr-block 10.0.0.0/16
  venicctl run-instances --instance-type c5n.18xlarge --subnet-id subnet-0123456789abcdef0 --count 2
  venicctl describe-network-interfaces

EC2 commands drive venicd's EC2 model as the AWS CLI drives EC2 (same flags, same JSON).

Global options (--socket, --json) may also follow the command.
Exit status: 0 success, 1 venicd error or unreachable, 2 bad command line.)";

constexpr const char* kCreateExamples = R"(Examples:
  venicctl vf create --type ena --mac 02:00:00:00:00:01 --ip 10.0.1.10
  venicctl vf create --type ena --mac 02:00:00:00:00:02 --ip 10.0.2.10 --prefix 16 --mtu 9001 --trusted
  venicctl vf create --type ena --mac 02:00:00:00:00:03 --ip 10.0.1.12 --bw-mbps 5000 --pps 500000
  venicctl vf create --type ena --mac 02:00:00:00:00:04 --ip 10.0.1.13 --frontend vhost-user \
                     --vhost-path /run/venic/guest0.sock      # a QEMU guest attaches here
  venicctl vf create --type ena --mac 02:00:00:00:00:05 --ip 10.0.1.14 --frontend vhost-user \
                     --vhost-path /run/qemu/guest1.sock --vhost-mode client   # QEMU listens (server=on))";

constexpr const char* kSetExamples = R"(Examples:
  venicctl vf set 0 --mtu 9001
  venicctl vf set 0 --trusted off --link down
  venicctl vf set 1 --bw-mbps 1000 --pps 100000 --flow-mbps 10000
  venicctl vf set 1 --bw-out-mbps 200        # outbound only; inbound unchanged
  venicctl vf set 1 --bw-mbps unlimited --pps unlimited)";

// Follows the examples of vf create and vf set.
constexpr const char* kAllowanceNote = R"(
Allowances: 0 or "unlimited" lifts a limit; --bw-mbps sets both directions (not
with --bw-in-mbps/--bw-out-mbps); each rate is a token bucket --burst-ms deep.)";

constexpr const char* kStatsExamples = R"(Examples:
  venicctl stats
  venicctl stats 0 --watch       # every second until Ctrl-C
  venicctl stats --watch 0.5
  venicctl stats 3 --reset)";

// The allowance options of vf create/set: what CLI11 saw, as text.
struct LimitFlags {
  CLI::Option* bw = nullptr;
  CLI::Option* bw_in = nullptr;
  CLI::Option* bw_out = nullptr;
  CLI::Option* pps = nullptr;
  CLI::Option* flow = nullptr;
  CLI::Option* burst_ms = nullptr;
  std::string bw_text, bw_in_text, bw_out_text, pps_text, flow_text, burst_ms_text;
};

// Storage CLI11 writes into; all values stay text until requests.h checks them.
struct CommandLine {
  std::string socket_path = std::string(control::kDefaultSocket);
  bool json = false;

  VfCreateOptions create;
  CLI::Option* create_prefix = nullptr;
  CLI::Option* create_mtu = nullptr;
  CLI::Option* create_queues = nullptr;
  CLI::Option* create_id = nullptr;
  CLI::Option* create_frontend = nullptr;
  CLI::Option* create_vhost_path = nullptr;
  CLI::Option* create_vhost_mode = nullptr;
  CLI::Option* create_owner_uid = nullptr;
  std::string create_prefix_text, create_mtu_text, create_queues_text, create_id_text;
  std::string create_frontend_text, create_vhost_path_text, create_vhost_mode_text, create_owner_uid_text;
  LimitFlags create_limits;

  std::string vf_text;  // the VF positional of show/set/delete

  VfSetOptions set;
  CLI::Option* set_mtu = nullptr;
  CLI::Option* set_trusted = nullptr;
  CLI::Option* set_link = nullptr;
  CLI::Option* set_src_dst_check = nullptr;
  CLI::Option* set_secondary_ips = nullptr;
  CLI::Option* create_src_dst_check = nullptr;
  std::string set_mtu_text, set_trusted_text, set_link_text, set_src_dst_check_text, create_src_dst_check_text;
  std::vector<std::string> set_secondary_ips_list, set_ipv6_list;
  CLI::Option* set_ipv6 = nullptr;
  LimitFlags set_limits;

  StatsOptions stats;
  CLI::Option* stats_vf = nullptr;
  CLI::Option* stats_watch = nullptr;
  std::string stats_vf_text, stats_watch_text;

  CLI::App* vf_create = nullptr;
  CLI::App* vf_list = nullptr;
  CLI::App* vf_show = nullptr;
  CLI::App* vf_set = nullptr;
  CLI::App* vf_delete = nullptr;
  CLI::App* stats_command = nullptr;
  CLI::App* info = nullptr;
  CLI::App* top = nullptr;
  CLI::App* capture = nullptr;
  CaptureOptions capture_opts;
  std::string top_interval_text;
  unsigned top_count = 0;
  CLI::App* efa_list = nullptr;
  CLI::App* efa_hooks = nullptr;
  std::string hooks_reorder_text;
  CLI::Option* hooks_percent = nullptr;
  CLI::Option* hooks_delay = nullptr;
  uint32_t hooks_percent_value = 0, hooks_delay_value = 0;

  std::unique_ptr<Ec2Commands> ec2;
  std::unique_ptr<ClusterCommand> cluster;
};

std::optional<std::string> given(const CLI::Option* option, const std::string& text) {
  if (option == nullptr || option->count() == 0) return std::nullopt;
  return text;
}

LimitOptions limits_given(const LimitFlags& flags) {
  return {given(flags.bw, flags.bw_text),         given(flags.bw_in, flags.bw_in_text),
          given(flags.bw_out, flags.bw_out_text), given(flags.pps, flags.pps_text),
          given(flags.flow, flags.flow_text),     given(flags.burst_ms, flags.burst_ms_text)};
}

// --bw-mbps and friends; for vf create the help also gives venicd's defaults.
void add_limit_options(CLI::App& command, LimitFlags& flags, bool create) {
  auto help = [create](std::string text, const char* default_value) {
    return create ? text + " (default " + default_value + ")" : text;
  };
  flags.bw = command
                 .add_option("--bw-mbps", flags.bw_text,
                             help("in and out bandwidth allowance, Mbit/s 0-400000 or unlimited", "unlimited"))
                 ->type_name("MBPS");
  flags.bw_in = command
                    .add_option("--bw-in-mbps", flags.bw_in_text,
                                help("inbound bandwidth allowance, Mbit/s 0-400000 or unlimited", "unlimited"))
                    ->type_name("MBPS");
  flags.bw_out = command
                     .add_option("--bw-out-mbps", flags.bw_out_text,
                                 help("outbound bandwidth allowance, Mbit/s 0-400000 or unlimited", "unlimited"))
                     ->type_name("MBPS");
  flags.pps = command
                  .add_option("--pps", flags.pps_text,
                              help("packets/s allowance, in and out together, 0-1000000000 or unlimited", "unlimited"))
                  ->type_name("N");
  flags.flow = command
                   .add_option("--flow-mbps", flags.flow_text,
                               help("per-flow (5-tuple) cap, Mbit/s 0-400000 or unlimited", "5000"))
                   ->type_name("MBPS");
  flags.burst_ms =
      command
          .add_option("--burst-ms", flags.burst_ms_text, help("token-bucket depth, ms of the rate, 1-3600000", "10"))
          ->type_name("MS");
}

void define_commands(CLI::App& app, CommandLine& cl) {
  // Set before adding subcommands, which inherit it: lets the global options
  // come after the command too ("venicctl vf list --json").
  app.fallthrough();
  app.require_subcommand(1);
  app.set_version_flag("--version", VENIC_VERSION);
  app.add_option("--socket", cl.socket_path, "venicd's control socket")
      ->type_name("PATH")
      ->envname("VENIC_SOCKET")
      ->capture_default_str();
  app.add_flag("--json", cl.json, "print venicd's JSON result (pretty) instead of a table");

  CLI::App* vf = app.add_subcommand("vf", "create, list, show, change or delete virtual functions");
  vf->require_subcommand(1);

  cl.vf_create = vf->add_subcommand("create", "create a VF");
  cl.vf_create->add_option("--type", cl.create.type, "VF personality: ena, efa or ixgbevf (the Intel 82599 VF)")
      ->type_name("TYPE")
      ->required();
  cl.vf_create->add_option("--mac", cl.create.mac, "unicast MAC, xx:xx:xx:xx:xx:xx")->type_name("MAC")->required();
  cl.vf_create->add_option("--ip", cl.create.ip, "IPv4 address, a.b.c.d")->type_name("IPV4")->required();
  cl.create_prefix =
      cl.vf_create->add_option("--prefix", cl.create_prefix_text, "subnet prefix length, 1-32 (default 24)")
          ->type_name("LEN");
  cl.create_mtu =
      cl.vf_create
          ->add_option("--mtu", cl.create_mtu_text, "MTU, 68-9001 (ixgbevf outside a VPC: 68-9710; default 1500)")
          ->type_name("BYTES");
  cl.vf_create->add_flag("--trusted", cl.create.trusted, "mark the VF trusted");
  cl.create_queues =
      cl.vf_create->add_option("--queues", cl.create_queues_text, "queue pairs, 1-8 (default 4)")->type_name("N");
  cl.create_id =
      cl.vf_create->add_option("--id", cl.create_id_text, "VF id, 0-255 (default: lowest free)")->type_name("N");
  cl.create_src_dst_check = cl.vf_create
                                ->add_option("--src-dst-check", cl.create_src_dst_check_text,
                                             "source/destination check, on (default) or off (a NAT or router)")
                                ->type_name("on|off");
  cl.vf_create
      ->add_option("--secondary-ip", cl.create.secondary_ips, "secondary private IPv4 in the subnet (repeatable)")
      ->type_name("IPV4");
  cl.vf_create->add_option("--ipv6", cl.create.ipv6, "IPv6 address of the VF (repeatable)")->type_name("IPV6");
  add_limit_options(*cl.vf_create, cl.create_limits, true);
  cl.create_frontend = cl.vf_create
                           ->add_option("--frontend", cl.create_frontend_text,
                                        "how the driver attaches: shm (default: net_vena, drivers/ena) or vhost-user "
                                        "(a QEMU guest or virtio-user port sees virtio-net)")
                           ->type_name("shm|vhost-user");
  cl.create_vhost_path = cl.vf_create
                             ->add_option("--vhost-path", cl.create_vhost_path_text,
                                          "vhost-user socket (default: vf<ID>.vhost beside venicd's control socket)")
                             ->type_name("PATH");
  cl.create_vhost_mode =
      cl.vf_create
          ->add_option("--vhost-mode", cl.create_vhost_mode_text,
                       "server (default: venicd listens, QEMU connects with reconnect=) or client (venicd connects and "
                       "keeps reconnecting to QEMU's server=on socket)")
          ->type_name("server|client");
  cl.create_owner_uid = cl.vf_create
                            ->add_option("--owner-uid", cl.create_owner_uid_text,
                                         "its owner, who may attach and change it (default: you; only root names "
                                         "another; docs/ownership.md)")
                            ->type_name("UID");
  cl.vf_create->footer(std::string(kCreateExamples) + "\n" + kAllowanceNote);

  cl.vf_list = vf->add_subcommand("list", "list VFs");

  cl.vf_show = vf->add_subcommand("show", "show one VF");
  cl.vf_show->add_option("VF", cl.vf_text, "VF id, 0-255")->type_name("")->required();

  cl.vf_set = vf->add_subcommand("set", "change a VF (at least one option)");
  cl.vf_set->add_option("VF", cl.vf_text, "VF id, 0-255")->type_name("")->required();
  cl.set_mtu = cl.vf_set->add_option("--mtu", cl.set_mtu_text, "MTU, 68-9001 (ixgbevf outside a VPC: 68-9710)")
                   ->type_name("BYTES");
  cl.set_trusted = cl.vf_set->add_option("--trusted", cl.set_trusted_text, "on or off")->type_name("on|off");
  cl.set_link = cl.vf_set->add_option("--link", cl.set_link_text, "up or down")->type_name("up|down");
  cl.set_src_dst_check =
      cl.vf_set->add_option("--src-dst-check", cl.set_src_dst_check_text, "on or off")->type_name("on|off");
  cl.set_secondary_ips =
      cl.vf_set
          ->add_option("--secondary-ip", cl.set_secondary_ips_list,
                       "the VF's secondary IPv4s, replacing the list (repeatable; \"none\" clears it)")
          ->type_name("IPV4");
  cl.set_ipv6 = cl.vf_set
                    ->add_option("--ipv6", cl.set_ipv6_list,
                                 "the VF's IPv6 addresses, replacing the list (repeatable; \"none\" clears it)")
                    ->type_name("IPV6");
  add_limit_options(*cl.vf_set, cl.set_limits, false);
  cl.vf_set->footer(std::string(kSetExamples) + "\n" + kAllowanceNote);

  cl.vf_delete = vf->add_subcommand("delete", "delete a VF");
  cl.vf_delete->add_option("VF", cl.vf_text, "VF id, 0-255")->type_name("")->required();

  cl.stats_command = app.add_subcommand("stats", "show or reset traffic counters");
  cl.stats_vf = cl.stats_command->add_option("VF", cl.stats_vf_text, "only this VF (0-255)")->type_name("");
  // expected(0, 1): "--watch" alone is valid and CLI11 then records "true".
  cl.stats_watch = cl.stats_command
                       ->add_option("--watch", cl.stats_watch_text,
                                    "repeat every SECONDS (default 1) with packet rates, until Ctrl-C")
                       ->type_name("[SECONDS]")
                       ->expected(0, 1);
  cl.stats_command->add_flag("--reset", cl.stats.reset, "zero the counters instead of showing them")
      ->excludes(cl.stats_watch);
  cl.stats_command->footer(kStatsExamples);

  cl.info = app.add_subcommand("info", "show venicd's version, VF count and uptime");

  cl.capture =
      app.add_subcommand("capture", "capture a VF's packets to a pcapng file (each packet's verdict as its comment)");
  cl.capture->add_option("VF", cl.capture_opts.vf, "VF id, 0-255")->type_name("")->required();
  cl.capture->add_option("--direction", cl.capture_opts.direction, "in (delivered to the VF), out (sent by it) or both")
      ->check(CLI::IsMember({"in", "out", "both"}))
      ->capture_default_str();
  cl.capture->add_option("--count", cl.capture_opts.count, "stop after this many packets (default: until Ctrl-C)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{10000000}));
  cl.capture->add_option("-w", cl.capture_opts.path, "the pcapng file to write (- for stdout)")->required();
  cl.capture->footer(
      "Examples:\n  venicctl capture 0 -w vf0.pcapng\n  venicctl capture 1 --direction in --count 100 -w in.pcapng\n"
      "  tshark -r vf0.pcapng -T fields -e frame.comment\n");

  cl.top = app.add_subcommand("top", "live view: Mpps and Gbps per VF and queue, drops, allowances, worker load");
  cl.top->add_option("--interval", cl.top_interval_text, "seconds between screens (default 1)")->type_name("SECONDS");
  cl.top->add_option("--count", cl.top_count, "stop after this many screens (default: until Ctrl-C)")
      ->check(CLI::Range(1u, 1000000u));
  cl.top->footer(
      "Examples:\n  venicctl top\n  venicctl top --interval 0.5 --count 10 > top.log   # plain blocks, no redraw\n");

  CLI::App* efa = app.add_subcommand("efa", "EFA devices: the processes' open contexts, and test hooks");
  efa->require_subcommand(1);
  cl.efa_list = efa->add_subcommand("list", "list the open EFA contexts (process, VF, queue pairs)");
  cl.efa_hooks = efa->add_subcommand(
      "hooks", "show or set the daemon's SRD test hooks (reorder and delay deliveries), off by default");
  cl.efa_hooks->add_option("--reorder", cl.hooks_reorder_text, "hold back and reorder SRD deliveries: on or off")
      ->type_name("on|off");
  cl.hooks_percent = cl.efa_hooks
                         ->add_option("--reorder-percent", cl.hooks_percent_value,
                                      "share of SRD SENDs held back while reordering (0-100, default 50)")
                         ->check(CLI::Range(0, 100));
  cl.hooks_delay = cl.efa_hooks
                       ->add_option("--delay-us", cl.hooks_delay_value,
                                    "a held delivery waits up to this long (microseconds, default 100)")
                       ->check(CLI::Range(0, 1000000));
  cl.efa_hooks->footer(
      "Examples:\n  venicctl efa hooks --reorder on --delay-us 50\n  venicctl efa hooks --reorder off\n");

  cl.ec2 = std::make_unique<Ec2Commands>(app);
  cl.cluster = std::make_unique<ClusterCommand>(app);

  app.footer(kExamples);
}

// result["vfs"] when it is there; the formatters cope with anything else.
json vfs_member(const json& result) {
  if (!result.is_object() || !result.contains("vfs")) return json::array();
  return result.at("vfs");
}

double watch_interval(const std::string& text) {
  if (text.empty() || text == "true") return 1.0;
  double seconds = 0;
  if (std::string error = parse_watch_interval(text, seconds); !error.empty()) throw UsageError(error);
  return seconds;
}

// The deepest command the parser got to, for a "see --help" hint.
std::string command_path(CLI::App& app) {
  std::string path = "venicctl";
  CLI::App* current = &app;
  while (!current->get_subcommands().empty()) {
    current = current->get_subcommands().front();
    path += " " + current->get_name();
  }
  return path;
}

// The first word of the command line that should have been a command and is
// none ("" when the command line has one): CLI11 alone would say "A
// subcommand is required".
std::string unknown_command(CLI::App& app, int argc, const char* const* argv) {
  if (!app.get_subcommands().empty()) return "";
  for (int i = 1; i < argc; i++) {
    const std::string word = argv[i];
    if (word == "--socket") {
      i++;  // its value
      continue;
    }
    if (word.empty() || word[0] == '-') continue;
    try {
      app.get_subcommand(word);
      return "";
    } catch (const CLI::OptionNotFound&) {
      return word;
    }
  }
  return "";
}

// Validates the parsed command line into a request and runs it.
void execute(const CommandLine& cl, std::ostream& out) {
  const OutputOptions output{cl.json};
  if (std::optional<Request> request = cl.ec2->request()) {
    run_aws_request(cl.socket_path, *request, out);
  } else if (std::optional<Request> cluster = cl.cluster->request()) {
    run_request(cl.socket_path, *cluster, output, format_cluster_status, out);
  } else if (cl.vf_create->parsed()) {
    VfCreateOptions create = cl.create;
    create.prefix = given(cl.create_prefix, cl.create_prefix_text);
    create.mtu = given(cl.create_mtu, cl.create_mtu_text);
    create.queues = given(cl.create_queues, cl.create_queues_text);
    create.id = given(cl.create_id, cl.create_id_text);
    create.src_dst_check = given(cl.create_src_dst_check, cl.create_src_dst_check_text);
    create.limits = limits_given(cl.create_limits);
    create.frontend = given(cl.create_frontend, cl.create_frontend_text);
    create.vhost_path = given(cl.create_vhost_path, cl.create_vhost_path_text);
    create.vhost_mode = given(cl.create_vhost_mode, cl.create_vhost_mode_text);
    create.owner_uid = given(cl.create_owner_uid, cl.create_owner_uid_text);
    run_request(cl.socket_path, build_vf_create(create), output, format_vf_created, out);
  } else if (cl.vf_list->parsed()) {
    run_request(
        cl.socket_path, build_vf_list(), output, [](const json& result) { return format_vf_table(vfs_member(result)); },
        out);
  } else if (cl.vf_show->parsed()) {
    run_request(cl.socket_path, build_vf_show(cl.vf_text), output, format_vf_details, out);
  } else if (cl.vf_set->parsed()) {
    VfSetOptions set{cl.vf_text,
                     given(cl.set_mtu, cl.set_mtu_text),
                     given(cl.set_trusted, cl.set_trusted_text),
                     given(cl.set_link, cl.set_link_text),
                     given(cl.set_src_dst_check, cl.set_src_dst_check_text),
                     std::nullopt,
                     std::nullopt,
                     limits_given(cl.set_limits)};
    if (cl.set_secondary_ips->count() > 0) {
      set.secondary_ips = cl.set_secondary_ips_list;
      if (set.secondary_ips->size() == 1 && set.secondary_ips->front() == "none") set.secondary_ips->clear();
    }
    if (cl.set_ipv6->count() > 0) {
      set.ipv6 = cl.set_ipv6_list;
      if (set.ipv6->size() == 1 && set.ipv6->front() == "none") set.ipv6->clear();
    }
    run_request(cl.socket_path, build_vf_set(set), output, format_vf_updated, out);
  } else if (cl.vf_delete->parsed()) {
    run_request(cl.socket_path, build_vf_delete(cl.vf_text), output, format_vf_deleted, out);
  } else if (cl.stats_command->parsed()) {
    StatsOptions stats{given(cl.stats_vf, cl.stats_vf_text), cl.stats.reset};
    const Request request = build_stats(stats);
    if (cl.stats_watch->count() > 0) {
      const WatchOptions watch{watch_interval(cl.stats_watch_text), &out == &std::cout && ::isatty(STDOUT_FILENO)};
      watch_stats(cl.socket_path, request, output, watch, out);
    } else if (stats.reset) {
      run_request(cl.socket_path, request, output, format_stats_reset, out);
    } else {
      run_request(
          cl.socket_path, request, output, [](const json& result) { return format_stats_table(vfs_member(result)); },
          out);
    }
  } else if (cl.capture->parsed()) {
    run_capture(cl.socket_path, cl.capture_opts, std::cerr);
  } else if (cl.top->parsed()) {
    const WatchOptions watch{watch_interval(cl.top_interval_text), &out == &std::cout && ::isatty(STDOUT_FILENO)};
    watch_top(cl.socket_path, watch, cl.top_count, out);
  } else if (cl.info->parsed()) {
    run_request(cl.socket_path, build_daemon_info(), output, format_daemon_info, out);
  } else if (cl.efa_list->parsed()) {
    run_request(cl.socket_path, Request{"efa.list"}, output, format_efa_contexts, out);
  } else if (cl.efa_hooks->parsed()) {
    Request r{"efa.hooks"};
    if (!cl.hooks_reorder_text.empty()) {
      bool on = false;
      if (std::string e = parse_on_off("--reorder", cl.hooks_reorder_text, on); !e.empty()) throw UsageError(e);
      r.params["reorder"] = on;
    }
    if (cl.hooks_percent->count()) r.params["reorder_percent"] = cl.hooks_percent_value;
    if (cl.hooks_delay->count()) r.params["delay_us"] = cl.hooks_delay_value;
    run_request(cl.socket_path, r, output, format_efa_hooks, out);
  } else {
    throw UsageError("no command given (see 'venicctl --help')");  // require_subcommand should prevent this
  }
}

}  // namespace

int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  try {
    CLI::App app("Manage the virtual functions served by venicd.", "venicctl");
    CommandLine cl;
    define_commands(app, cl);
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      // --help and friends are "errors" with exit code 0.
      if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e, out, err);
      if (std::string unknown = unknown_command(app, argc, argv); !unknown.empty()) {
        err << "venicctl: unknown command '" << unknown
            << "' (see 'venicctl --help' for the commands; EC2 ones are named as in the AWS CLI)\n";
        return kExitUsage;
      }
      if (app.get_subcommands().empty() && dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
        err << "venicctl: no command given (see 'venicctl --help')\n";
        return kExitUsage;
      }
      err << "venicctl: " << e.what() << " (see '" << command_path(app) << " --help')\n";
      return kExitUsage;
    }
    execute(cl, out);
    return kExitOk;
  } catch (const UsageError& e) {
    err << "venicctl: " << e.what() << "\n";
    return kExitUsage;
  } catch (const DaemonError& e) {
    err << format_daemon_error(e) << "\n";
    return kExitDaemonError;
  } catch (const control::ControlError& e) {
    err << "venicctl: " << e.what() << "\n";
    return kExitDaemonError;
  } catch (const std::exception& e) {
    err << "venicctl: " << e.what() << "\n";
    return kExitDaemonError;
  } catch (...) {
    err << "venicctl: unexpected error\n";
    return kExitDaemonError;
  }
}

}  // namespace venic::ctl
