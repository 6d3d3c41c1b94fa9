#include "model_watch.h"

#include <chrono>

#include "etcd_client.h"
#include "model_store.h"

namespace venic::cluster {

ModelWatch::ModelWatch(std::vector<std::string> endpoints, int64_t from_revision,
                       std::function<void(int64_t)> on_change)
    : on_change_(std::move(on_change)) {
  thread_ = std::thread(
      [this, endpoints = std::move(endpoints), from_revision]() mutable { run(std::move(endpoints), from_revision); });
}

ModelWatch::~ModelWatch() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void ModelWatch::run(std::vector<std::string> endpoints, int64_t from_revision) {
  EtcdClient client(std::move(endpoints), std::chrono::milliseconds(1000));
  int64_t next = from_revision > 0 ? from_revision + 1 : 0;
  auto stop = [this] { return stop_.load(); };
  while (!stop()) {
    try {
      client.watch(
          kModelKey, next,
          [&](const WatchEvent& ev) {
            next = ev.kv.mod_revision + 1;
            on_change_(ev.kv.mod_revision);
            return true;
          },
          stop);
    } catch (const EtcdError& e) {
      // etcd away: watch again in a while, from `next`, so nothing is missed
      // (and the control thread is not sent to an etcd that does not answer).
      // A compacted revision ends the watch too: then watch from now, and
      // have the control thread read the document once.
      for (int i = 0; i < 10 && !stop(); i++) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (std::string(e.what()).find("compacted") != std::string::npos && !stop()) {
        next = 0;
        on_change_(0);
      }
    }
  }
}

}  // namespace venic::cluster
