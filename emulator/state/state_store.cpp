#include "state_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "json_depth.h"
#include "phase_clock.h"
#include "unique_fd.h"

namespace venic::state {

namespace {

constexpr int kFormatVersion = 1;

[[noreturn]] void corrupt(const std::string& path, const std::string& why) {
  throw StateError("state file " + path + " is corrupt: " + why +
                   " (left untouched; move it away to start with no VFs)");
}

void write_all(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw StateError("cannot write " + path + ": " + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
}

}  // namespace

std::vector<vf::VfConfig> StateStore::load(nlohmann::json* ec2) const {
  std::ifstream in(path_);
  if (!in) {
    if (errno == ENOENT) return {};
    throw StateError("cannot read state file " + path_ + ": " + std::strerror(errno));
  }
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  if (control::json_nests_deeper_than(text, control::kMaxJsonDepth))
    corrupt(path_, "nests deeper than " + std::to_string(control::kMaxJsonDepth) + " levels");
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) corrupt(path_, "not valid JSON (truncated?)");
  if (!j.is_object() || !j.contains("version") || !j.contains("vfs")) corrupt(path_, "missing version or vfs");
  if (j["version"] != kFormatVersion) corrupt(path_, "unsupported version " + j["version"].dump());
  if (!j["vfs"].is_array()) corrupt(path_, "vfs is not a list");
  if (j.contains("ec2") && !j["ec2"].is_object() && !j["ec2"].is_null()) corrupt(path_, "ec2 is not an object");
  if (ec2) *ec2 = j.contains("ec2") ? j["ec2"] : nlohmann::json();
  std::vector<vf::VfConfig> out;
  std::set<uint16_t> ids;
  std::set<vf::MacAddr> macs;
  for (const auto& e : j["vfs"]) {
    try {
      vf::VfConfig c = vf::config_from_json(e, /*require_id=*/true);
      // The ranges that depend on other fields (the personality's MTU and queues).
      if (std::string bad = vf::validate(c); !bad.empty()) throw vf::ConfigError(bad);
      if (!ids.insert(c.id).second) corrupt(path_, "VF " + std::to_string(c.id) + " appears twice");
      if (!macs.insert(c.mac).second) corrupt(path_, "MAC " + vf::format_mac(c.mac) + " appears twice");
      out.push_back(c);
    } catch (const vf::ConfigError& err) {
      corrupt(path_, std::string("VF entry: ") + err.what());
    } catch (const nlohmann::json::exception& err) {
      corrupt(path_, std::string("VF entry: ") + err.what());
    }
  }
  return out;
}

void StateStore::save(const std::vector<vf::VfConfig>& vfs) const {
  control::PhaseTimer timed(control::Phase::kStateSave);
  nlohmann::json list = nlohmann::json::array();
  for (const auto& c : vfs) list.push_back(vf::to_json(c));
  nlohmann::json j = {{"version", kFormatVersion}, {"vfs", list}};
  if (!ec2_.is_null()) j["ec2"] = ec2_;
  std::filesystem::path p(path_);
  std::filesystem::path dir = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
  std::string tmp = path_ + ".tmp";
  try {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd.valid()) throw StateError("cannot write " + tmp + ": " + std::strerror(errno));
    write_all(fd.get(), j.dump(2) + "\n", tmp);
    if (::fsync(fd.get()) < 0) throw StateError("fsync " + tmp + ": " + std::strerror(errno));
    fd.reset();
    if (::rename(tmp.c_str(), path_.c_str()) < 0)
      throw StateError("rename " + tmp + " to " + path_ + ": " + std::strerror(errno));
  } catch (const StateError&) {
    ::unlink(tmp.c_str());  // no half-written file left behind
    throw;
  }
  UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.valid()) ::fsync(d.get());
}

}  // namespace venic::state
