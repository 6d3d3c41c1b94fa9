#include "etcd_client.h"

#include <httplib.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>

namespace venic::cluster {

namespace {

using nlohmann::json;

std::string b64(const std::string& s) {
  std::string out(4 * ((s.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string unb64(const std::string& s) {
  if (s.size() % 4) throw EtcdError("etcd answered a value that is not base64");
  std::string out(3 * s.size() / 4, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (n < 0) throw EtcdError("etcd answered a value that is not base64");
  size_t pad = 0;
  for (size_t i = s.size(); i > 0 && s[i - 1] == '='; i--) pad++;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

// The gateway writes int64s as strings, and leaves out zeros and false.
int64_t num(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end()) return 0;
  if (it->is_string()) return std::stoll(it->get<std::string>());
  if (it->is_number_integer()) return it->get<int64_t>();
  throw EtcdError(std::string("etcd answered a non-numeric ") + field);
}

KeyValue kv_of(const json& j) {
  KeyValue kv;
  kv.key = unb64(j.value("key", ""));
  kv.value = unb64(j.value("value", ""));
  kv.create_revision = num(j, "create_revision");
  kv.mod_revision = num(j, "mod_revision");
  kv.version = num(j, "version");
  return kv;
}

}  // namespace

std::string prefix_end(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto& c = reinterpret_cast<unsigned char&>(end.back());
    if (c < 0xff) {
      c++;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

struct EtcdClient::Impl {
  std::vector<std::string> endpoints;
  std::chrono::milliseconds timeout;
  size_t current = 0;  // the endpoint that answered last

  std::unique_ptr<httplib::Client> client(size_t i, std::chrono::milliseconds read_timeout) const {
    auto c = std::make_unique<httplib::Client>(endpoints[i]);
    c->set_connection_timeout(timeout);
    c->set_read_timeout(read_timeout);
    c->set_write_timeout(timeout);
    return c;
  }

  // POSTs body to path on the first endpoint that answers; etcd's answer.
  json call(const std::string& path, const json& body) {
    std::string last_error = "no endpoint";
    for (size_t k = 0; k < endpoints.size(); k++) {
      const size_t i = (current + k) % endpoints.size();
      auto res = client(i, timeout)->Post(path.c_str(), body.dump(), "application/json");
      if (!res) {
        last_error = endpoints[i] + ": " + httplib::to_string(res.error());
        continue;
      }
      current = i;
      json j = json::parse(res->body, nullptr, false);
      if (j.is_discarded() || !j.is_object()) throw EtcdError("etcd answered " + path + " with something not JSON");
      if (res->status != 200) throw EtcdError("etcd refused " + path + ": " + j.value("message", res->body));
      return j;
    }
    throw EtcdError("etcd unreachable (" + last_error + ")");
  }
};

EtcdClient::EtcdClient(std::vector<std::string> endpoints, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  if (endpoints.empty()) throw EtcdError("no etcd endpoint");
  impl_->endpoints = std::move(endpoints);
  impl_->timeout = timeout;
}

EtcdClient::~EtcdClient() = default;

int64_t EtcdClient::put(const std::string& key, const std::string& value) {
  const json r = impl_->call("/v3/kv/put", {{"key", b64(key)}, {"value", b64(value)}});
  return num(r.value("header", json::object()), "revision");
}

std::optional<KeyValue> EtcdClient::get(const std::string& key) {
  const json r = impl_->call("/v3/kv/range", {{"key", b64(key)}});
  auto kvs = r.find("kvs");
  if (kvs == r.end() || !kvs->is_array() || kvs->empty()) return std::nullopt;
  return kv_of(kvs->at(0));
}

std::vector<KeyValue> EtcdClient::list(const std::string& prefix, int64_t* revision) {
  const json r = impl_->call("/v3/kv/range", {{"key", b64(prefix)}, {"range_end", b64(prefix_end(prefix))}});
  if (revision) *revision = num(r.value("header", json::object()), "revision");
  std::vector<KeyValue> out;
  if (auto kvs = r.find("kvs"); kvs != r.end() && kvs->is_array())
    for (const json& kv : *kvs) out.push_back(kv_of(kv));
  return out;
}

bool EtcdClient::commit(const std::vector<Compare>& compares, const std::vector<Op>& ops, int64_t* revision) {
  json cmp = json::array(), success = json::array();
  for (const Compare& c : compares) {
    // "mod_revision == 0" is how etcd says "does not exist" too.
    cmp.push_back({{"key", b64(c.key)},
                   {"result", "EQUAL"},
                   {"target", "MOD"},
                   {"mod_revision", std::to_string(c.mod_revision)}});
  }
  for (const Op& o : ops) {
    if (o.kind == Op::Kind::kPut)
      success.push_back({{"request_put", {{"key", b64(o.key)}, {"value", b64(o.value)}}}});
    else
      success.push_back({{"request_delete_range", {{"key", b64(o.key)}}}});
  }
  const json r = impl_->call("/v3/kv/txn", {{"compare", cmp}, {"success", success}});
  if (revision) *revision = num(r.value("header", json::object()), "revision");
  return r.value("succeeded", false);
}

void EtcdClient::watch(const std::string& prefix, int64_t from_revision,
                       const std::function<bool(const WatchEvent&)>& on_event, const std::function<bool()>& stop) {
  int64_t next = from_revision;
  bool done = false;
  while (!done && !stop()) {
    json create = {{"key", b64(prefix)}, {"range_end", b64(prefix_end(prefix))}};
    if (next > 0) create["start_revision"] = std::to_string(next);
    httplib::Request req;
    req.method = "POST";
    req.path = "/v3/watch";
    req.set_header("Content-Type", "application/json");
    req.body = json{{"create_request", create}}.dump();
    std::string pending;
    std::string broken;
    req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
      pending.append(data, len);
      // The gateway streams one JSON object per message.
      for (;;) {
        const size_t nl = pending.find('\n');
        const std::string line = nl == std::string::npos ? pending : pending.substr(0, nl);
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded()) {
          if (nl == std::string::npos) return true;  // more to come
          broken = "etcd's watch stream is not JSON";
          return false;
        }
        pending = nl == std::string::npos ? "" : pending.substr(nl + 1);
        const json& result = j.contains("result") ? j["result"] : j;
        if (result.contains("error") || j.contains("error")) {
          broken = "etcd ended the watch: " + j.dump();
          return false;
        }
        const int64_t rev = num(result.value("header", json::object()), "revision");
        if (next <= 0 && result.value("created", false)) next = rev + 1;
        if (auto evs = result.find("events"); evs != result.end() && evs->is_array()) {
          for (const json& e : *evs) {
            WatchEvent ev;
            ev.kind = e.value("type", "PUT") == "DELETE" ? WatchEvent::Kind::kDelete : WatchEvent::Kind::kPut;
            ev.kv = kv_of(e.value("kv", json::object()));
            next = std::max(next, ev.kv.mod_revision + 1);
            if (!on_event(ev)) {
              done = true;
              return false;
            }
          }
        }
        if (pending.empty() || stop()) return !stop();
      }
    };
    bool answered = false;
    for (size_t k = 0; k < impl_->endpoints.size() && !answered && !done; k++) {
      const size_t i = (impl_->current + k) % impl_->endpoints.size();
      httplib::Response res;
      httplib::Error err = httplib::Error::Success;
      // A short read timeout: an idle stream ends, and the loop checks stop()
      // and watches again from the next revision (nothing is missed).
      impl_->client(i, std::chrono::milliseconds(500))->send(req, res, err);
      if (!broken.empty()) throw EtcdError(broken);
      if (err == httplib::Error::Success || err == httplib::Error::Read || err == httplib::Error::Canceled) {
        impl_->current = i;
        answered = true;
      }
    }
    if (!answered && !done) throw EtcdError("etcd unreachable for the watch");
  }
}

}  // namespace venic::cluster
