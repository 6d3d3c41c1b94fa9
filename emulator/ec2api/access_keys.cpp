#include "access_keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace venic::ec2api {

namespace {

constexpr size_t kMaxFileSize = 1 << 20;
constexpr size_t kMaxKeys = 4096;

bool valid_key_id(const std::string& id) {
  return id.size() >= 4 && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
         });
}
bool valid_secret(const std::string& s) {
  return !s.empty() && s.size() <= 256 && std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c < 127; });
}

int64_t parse_uid(const std::string& s, const std::string& where) {
  if (s.empty() || s.size() > 10 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    throw std::runtime_error(where + ": the uid must be a number");
  int64_t uid = std::stoll(s);
  if (uid > 4294967294LL) throw std::runtime_error(where + ": the uid is out of range");
  return uid;
}

}  // namespace

void AccessKeys::add(const std::string& id, AccessKey key) {
  if (!valid_key_id(id))
    throw std::runtime_error("access key id '" + id.substr(0, 32) + "' is not 4-128 letters and digits");
  if (!valid_secret(key.secret))
    throw std::runtime_error("the secret of " + id + " is empty, too long or not printable");
  if (keys_.size() >= kMaxKeys) throw std::runtime_error("more than " + std::to_string(kMaxKeys) + " keys");
  if (!keys_.emplace(id, std::move(key)).second) throw std::runtime_error("access key id " + id + " is listed twice");
}

const AccessKey* AccessKeys::find(const std::string& id) const {
  auto it = keys_.find(id);
  return it == keys_.end() ? nullptr : &it->second;
}

AccessKeys AccessKeys::parse(const std::string& text) {
  AccessKeys keys;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (text[first] == '[' || text[first] == '{')) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) throw std::runtime_error("not valid JSON");
    if (j.is_object() && j.contains("AccessKeys")) j = j["AccessKeys"];
    if (!j.is_array()) throw std::runtime_error("expected a list of {AccessKeyId, SecretAccessKey, Uid}");
    for (const auto& k : j) {
      if (!k.is_object() || !k.contains("AccessKeyId") || !k["AccessKeyId"].is_string() ||
          !k.contains("SecretAccessKey") || !k["SecretAccessKey"].is_string() || !k.contains("Uid") ||
          !k["Uid"].is_number_unsigned())
        throw std::runtime_error("every key needs AccessKeyId and SecretAccessKey (strings) and Uid (a number)");
      const int64_t uid = k["Uid"].get<int64_t>();
      if (uid > 4294967294LL) throw std::runtime_error("a uid is out of range");
      keys.add(k["AccessKeyId"].get<std::string>(), {k["SecretAccessKey"].get<std::string>(), uid});
    }
    return keys;
  }
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); n++) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream fields(line);
    std::string id, secret, uid, extra;
    if (!(fields >> id)) continue;
    const std::string where = "line " + std::to_string(n);
    if (!(fields >> secret >> uid) || (fields >> extra))
      throw std::runtime_error(where + ": expected ACCESS_KEY_ID SECRET_ACCESS_KEY UID");
    try {
      keys.add(id, {secret, parse_uid(uid, where)});
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(where + ": " + e.what());
    }
  }
  return keys;
}

AccessKeys AccessKeys::load(const std::string& path) {
  auto fail = [&](const std::string& why) { return std::runtime_error("--ec2-access-keys " + path + ": " + why); };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) throw fail(std::strerror(errno));
  struct stat st {};
  std::string text;
  bool ok = ::fstat(fd, &st) == 0;
  if (ok && S_ISREG(st.st_mode) && static_cast<size_t>(st.st_size) <= kMaxFileSize) {
    text.resize(static_cast<size_t>(st.st_size));
    ssize_t n = ::read(fd, text.data(), text.size());
    ok = n == st.st_size;
  }
  ::close(fd);
  if (!ok) throw fail("cannot read it");
  if (!S_ISREG(st.st_mode)) throw fail("not a regular file");
  if (static_cast<size_t>(st.st_size) > kMaxFileSize) throw fail("larger than 1 MiB");
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) throw fail("must be owned by root or venicd's uid");
  if (st.st_mode & 077) throw fail("holds secrets: group and others must have no access (chmod 600)");
  try {
    return parse(text);
  } catch (const std::runtime_error& e) {
    throw fail(e.what());
  }
}

}  // namespace venic::ec2api
