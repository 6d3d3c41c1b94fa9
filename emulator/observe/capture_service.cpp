#include "capture_service.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "protocol.h"
#include "vf_table.h"

namespace venic::observe {

namespace {

using nlohmann::json;
using vf::TableError;

[[noreturn]] void bad(const std::string& msg) {
  throw TableError(std::string(control::err::kInvalidParams), msg);
}

uint64_t uint_param(const json& p, const char* name, uint64_t max, uint64_t def) {
  if (!p.contains(name)) return def;
  if (!p[name].is_number_unsigned() || p[name].get<uint64_t>() > max)
    bad(std::string(name) + ": must be an integer 0-" + std::to_string(max));
  return p[name].get<uint64_t>();
}

}  // namespace

CaptureService::~CaptureService() {
  for (auto& [id, c] : captures_) finish(c);
}

json CaptureService::status(uint64_t id, const Capture& c) const {
  return {{"capture", id},
          {"vf", c.vf},
          {"written", c.writer ? c.writer->written() : 0},
          {"lost", taps_[c.vf].lost()},
          {"done", c.done}};
}

void CaptureService::finish(Capture& c) {
  if (c.done) return;
  // What is still in the ring goes to the file first.
  taps_[c.vf].drain([&](const CaptureTap::Frame& f) {
    if (c.count == 0 || c.writer->written() < c.count) c.writer->write(f);
  });
  taps_[c.vf].stop(defer_);
  c.writer.reset();  // closes the file
  c.done = true;
}

CaptureService::Capture& CaptureService::owned(const json& p, uint64_t session) {
  const uint64_t id = uint_param(p, "capture", UINT32_MAX, 0);
  auto it = captures_.find(id);
  // Another connection's capture reads as one that does not exist.
  if (it == captures_.end() || it->second.session != session)
    throw TableError(std::string(control::err::kNotFound), "no capture " + std::to_string(id) + " on this connection");
  return it->second;
}

std::optional<json> CaptureService::call(const std::string& method, const json& p, const Caller& caller,
                                         uint64_t session, std::vector<UniqueFd>& fds_in) {
  if (method == "capture.start") {
    for (auto& [k, v] : p.items())
      if (k != "vf" && k != "direction" && k != "count") bad("unknown parameter '" + k + "'");
    const uint64_t vf = uint_param(p, "vf", 255, 256);
    if (vf > 255) bad("vf: missing");
    // A VF the caller may not see reads as one that does not exist.
    auto v = table_.all().find(static_cast<uint16_t>(vf));
    if (v == table_.all().end() ||
        !(caller.may_manage(v->second->cfg.owner_uid) || v->second->cfg.attacher() == caller.uid))
      throw TableError(std::string(control::err::kNotFound), "no VF " + std::to_string(vf));
    const std::string dir = p.contains("direction") && p["direction"].is_string() ? p["direction"].get<std::string>()
                            : p.contains("direction")                             ? "?"
                                                                                  : "both";
    uint8_t dirs = dir == "in" ? uint8_t(CaptureDirection::kIn) : dir == "out" ? uint8_t(CaptureDirection::kOut) : 3;
    if (dir != "in" && dir != "out" && dir != "both") bad("direction: must be \"in\", \"out\" or \"both\"");
    const uint64_t count = uint_param(p, "count", kMaxCount, 0);
    if (fds_in.size() != 1) bad("capture.start takes one file descriptor (the file to write)");
    struct stat st {};
    const int fl = ::fcntl(fds_in[0].get(), F_GETFL);
    if (::fstat(fds_in[0].get(), &st) != 0 || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode)) || fl < 0 ||
        (fl & O_ACCMODE) == O_RDONLY)
      bad("the descriptor must be a file or pipe open for writing");
    unsigned mine = 0;
    for (auto& [id, c] : captures_) mine += c.session == session && !c.done;
    if (mine >= kMaxPerSession)
      throw TableError(std::string(control::err::kLimit),
                       "a connection runs at most " + std::to_string(kMaxPerSession) + " captures");
    if (taps_[vf].active())
      throw TableError(std::string(control::err::kBusy), "VF " + std::to_string(vf) + " is already being captured");
    auto writer = std::make_unique<PcapngWriter>(fds_in[0].release(), "vf" + std::to_string(vf));
    taps_[vf].start(dirs);
    const uint64_t id = next_id_++;
    captures_[id] = Capture{static_cast<uint16_t>(vf), session, count, std::move(writer)};
    return json{{"capture", id}, {"vf", vf}, {"direction", dir}, {"count", count}};
  }
  if (method == "capture.status" || method == "capture.stop") {
    for (auto& [k, v] : p.items())
      if (k != "capture") bad("unknown parameter '" + k + "'");
    Capture& c = owned(p, session);
    const uint64_t id = p["capture"].get<uint64_t>();
    if (method == "capture.stop") {
      finish(c);
      json s = status(id, c);
      captures_.erase(id);
      return s;
    }
    return status(id, c);
  }
  return std::nullopt;
}

void CaptureService::session_closed(uint64_t session) {
  for (auto it = captures_.begin(); it != captures_.end();) {
    if (it->second.session == session) {
      finish(it->second);
      it = captures_.erase(it);
    } else {
      ++it;
    }
  }
}

void CaptureService::tick() {
  for (auto& [id, c] : captures_) {
    if (c.done) continue;
    taps_[c.vf].drain([&](const CaptureTap::Frame& f) {
      if (c.count == 0 || c.writer->written() < c.count) c.writer->write(f);
    });
    if (c.count != 0 && c.writer->written() >= c.count) finish(c);
  }
}

}  // namespace venic::observe
