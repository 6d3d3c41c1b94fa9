// Work that other threads hand to the control thread, which alone touches
// the VF table and the EC2 model: ControlServer::run runs what is queued
// between requests.  Bounded: a full queue refuses more.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>

namespace venic::control {

class ControlTasks {
 public:
  static constexpr size_t kMaxQueued = 64;

  // False when the queue is full or closed (the daemon is stopping).
  bool post(std::function<void()> task) {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_ || queue_.size() >= kMaxQueued) return false;
    queue_.push_back(std::move(task));
    return true;
  }
  // Control thread: runs the tasks queued now (not those they queue).
  void run_pending() {
    std::deque<std::function<void()>> now;
    {
      std::lock_guard<std::mutex> lock(mu_);
      now.swap(queue_);
    }
    for (auto& t : now) t();
  }
  // Refuses further tasks and drops the queued ones unrun.
  void close() {
    std::deque<std::function<void()>> dropped;
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    dropped.swap(queue_);
  }

 private:
  std::mutex mu_;
  std::deque<std::function<void()>> queue_;
  bool closed_ = false;
};

}  // namespace venic::control
