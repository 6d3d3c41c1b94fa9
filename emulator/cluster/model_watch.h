// Tells a venicd that the shared model changed (another host committed):
// a thread of its own watches the model's key in etcd and calls
// on_change(revision) for each new revision; the callback only hands work
// to the control thread (control_tasks.h).  Survives etcd going away: it
// watches again, from the revision it saw, once etcd answers.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace venic::cluster {

class ModelWatch {
 public:
  ModelWatch(std::vector<std::string> endpoints, int64_t from_revision, std::function<void(int64_t)> on_change);
  ~ModelWatch();  // stops the thread (within about a second)
  ModelWatch(const ModelWatch&) = delete;
  ModelWatch& operator=(const ModelWatch&) = delete;

 private:
  void run(std::vector<std::string> endpoints, int64_t from_revision);

  std::function<void(int64_t)> on_change_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace venic::cluster
