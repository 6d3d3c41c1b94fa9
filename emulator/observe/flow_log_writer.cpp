#include "flow_log_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

#include "flow_log_record.h"
#include "owner.h"

namespace venic::observe {

bool FlowLogWriter::FlowId::operator<(const FlowId& o) const {
  if (vf != o.vf) return vf < o.vf;
  if (accepted != o.accepted) return accepted < o.accepted;
  return std::memcmp(&key, &o.key, sizeof(key)) < 0;
}

unsigned FlowLogWriter::window_from_env() {
  const char* v = std::getenv("VENIC_FLOW_LOG_WINDOW_S");
  if (!v) return 0;
  char* end = nullptr;
  long n = std::strtol(v, &end, 10);
  return end != v && *end == 0 && n >= 1 && n <= 600 ? static_cast<unsigned>(n) : 0;
}

FlowLogWriter::FlowLogWriter(const FlowLogs& logs, std::string dir, unsigned workers,
                             std::function<std::optional<Place>(uint16_t vf)> place_of,
                             std::function<void(std::function<void()>)> defer, FlowLogClock clock, unsigned window_s,
                             uint32_t table_slots)
    : logs_(logs),
      dir_(std::move(dir)),
      place_of_(std::move(place_of)),
      defer_(std::move(defer)),
      clock_(std::move(clock)),
      window_s_(window_s),
      anchor_ticks_(clock_.ticks()),
      anchor_unix_(clock_.unix_now()) {
  for (unsigned w = 0; w < std::max(workers, 1u); w++) tables_.push_back(std::make_unique<FlowLogTable>(table_slots));
  next_collect_ = anchor_unix_ + (window_s_ ? window_s_ : 60);
}

int64_t FlowLogWriter::unix_of(uint64_t ticks) const {
  const double dt = (double(ticks) - double(anchor_ticks_)) / double(clock_.ticks_per_second);
  return anchor_unix_ + static_cast<int64_t>(dt);
}

void FlowLogWriter::refresh_places() {
  places_.clear();
  std::vector<bool> logged(256, false);
  if (!logs_.all().empty())
    for (uint16_t vf = 0; vf < 256; vf++) {
      auto p = place_of_(vf);
      if (!p) continue;
      places_[vf] = *p;
      logged[vf] = !logs_.covering(p->where).empty();
    }
  selection_.set(logged);
}

void FlowLogWriter::tick() {
  const int64_t now = clock_.unix_now();
  // What is logged follows flow logs at once and ENI moves within a second.
  if (logs_.generation() != seen_generation_ || now != places_at_) {
    seen_generation_ = logs_.generation();
    places_at_ = now;
    refresh_places();
    // A new flow log's first window starts now (within a housekeeping round
    // of its creation); a deleted one's is dropped.
    for (auto& [id, log] : logs_.all())
      if (!windows_.count(id)) windows_[id].start = now;
    for (auto it = windows_.begin(); it != windows_.end();)
      it = logs_.all().count(it->first) ? std::next(it) : windows_.erase(it);
  }
  if (harvest_pending_ || now < next_collect_) return;
  for (auto& t : tables_) t->flip();
  harvest_pending_ = true;
  next_collect_ = now + (window_s_ ? window_s_ : 60);
  std::weak_ptr<int> alive = alive_;
  defer_([this, alive, now] {
    if (alive.lock()) harvest(now);
  });
}

void FlowLogWriter::harvest(int64_t flipped_at) {
  harvest_pending_ = false;
  // Flow logs deleted while the harvest waited.
  for (auto it = windows_.begin(); it != windows_.end();)
    it = logs_.all().count(it->first) ? std::next(it) : windows_.erase(it);

  auto logs_for = [&](uint16_t vf) {
    auto p = places_.find(vf);
    return p == places_.end() ? std::vector<const FlowLog*>{} : logs_.covering(p->second.where);
  };
  for (auto& t : tables_)
    t->harvest(
        [&](const FlowLogTable::Flow& f) {
          for (const FlowLog* log : logs_for(f.key.vf)) {
            if (!log->wants(f.accepted)) continue;
            Window& w = windows_[log->id];  // (created after the last tick: starts below)
            FlowId id{f.key.vf, f.accepted, f.key};
            auto a = w.flows.find(id);
            if (a == w.flows.end()) {
              if (w.flows.size() >= kMaxFlowsPerWindow) {
                w.skipped[f.key.vf] += f.packets;
                continue;
              }
              a = w.flows.emplace(id, Agg{0, 0, f.first_tsc, f.last_tsc}).first;
            }
            a->second.packets += f.packets;
            a->second.bytes += f.bytes;
            a->second.first = std::min(a->second.first, f.first_tsc);
            a->second.last = std::max(a->second.last, f.last_tsc);
          }
        },
        [&](uint16_t vf, uint64_t n) {
          for (const FlowLog* log : logs_for(vf)) windows_[log->id].skipped[vf] += n;
        });

  for (auto& [id, w] : windows_) {
    const FlowLog& log = logs_.all().at(id);
    if (w.start == 0) w.start = flipped_at;  // created while the harvest waited
    if (flipped_at < w.start + static_cast<int64_t>(interval_of(log))) continue;
    write(log, w, flipped_at);
    w = Window{flipped_at, {}, {}};
  }
}

void FlowLogWriter::write(const FlowLog& log, Window& w, int64_t end) {
  std::string text;
  std::set<uint16_t> had;
  for (auto& [id, a] : w.flows) {
    auto p = places_.find(id.vf);
    if (p == places_.end()) continue;  // the ENI went away
    had.insert(id.vf);
    text += flow_log_line({account_id(p->second.owner), p->second.where.eni, id.key, a.packets, a.bytes,
                           unix_of(a.first), unix_of(a.last), id.accepted}) +
            "\n";
  }
  for (auto& [vf, place] : places_) {
    bool covered = false;
    for (const FlowLog* l : logs_.covering(place.where)) covered = covered || l->id == log.id;
    if (!covered) continue;
    if (auto s = w.skipped.find(vf); s != w.skipped.end())
      text += flow_log_status_line(account_id(place.owner), place.where.eni, w.start, end, "SKIPDATA") + "\n";
    else if (!had.count(vf))
      text += flow_log_status_line(account_id(place.owner), place.where.eni, w.start, end, "NODATA") + "\n";
  }
  if (text.empty()) return;
  // <dir>/<account-id>/<name>, made by us; never through a link.
  const std::string owner_dir = dir_ + "/" + account_id(log.owner);
  ::mkdir(dir_.c_str(), 0755);
  if (::mkdir(owner_dir.c_str(), 0750) == 0) (void)!::chown(owner_dir.c_str(), static_cast<uid_t>(log.owner), -1);
  const std::string path = owner_dir + "/" + log.destination;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0640);
  if (fd < 0) {
    std::fprintf(stderr, "venicd: flow log %s: cannot open %s: %s\n", log.id.c_str(), path.c_str(),
                 std::strerror(errno));
    return;
  }
  // The owner's folder is theirs: append only to a plain file of theirs (or
  // ours, just made) with one name, never through a hard link to another.
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
      (st.st_uid != static_cast<uid_t>(log.owner) && st.st_uid != ::geteuid())) {
    std::fprintf(stderr, "venicd: flow log %s: %s is not a plain file of its owner; not written\n", log.id.c_str(),
                 path.c_str());
    ::close(fd);
    return;
  }
  if (st.st_uid != static_cast<uid_t>(log.owner)) (void)!::fchown(fd, static_cast<uid_t>(log.owner), -1);
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  ::close(fd);
}

}  // namespace venic::observe
