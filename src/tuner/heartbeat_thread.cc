#include "tuner/heartbeat_thread.h"

#include <exception>
#include <utility>
#include <vector>

namespace knob::detail {

HeartbeatThread::HeartbeatThread(std::shared_ptr<Storage> storage, double interval_seconds)
    : storage_(std::move(storage)), interval_(interval_seconds) {}

HeartbeatThread::~HeartbeatThread() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HeartbeatThread::add(int64_t trial_id) {
  beat(trial_id);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    trial_ids_.insert(trial_id);
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  }
  wake_.notify_all();
}

void HeartbeatThread::remove(int64_t trial_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  trial_ids_.erase(trial_id);
}

void HeartbeatThread::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (trial_ids_.empty()) {
      wake_.wait(lock, [&] { return stopping_ || !trial_ids_.empty(); });
      continue;
    }
    if (wake_.wait_for(lock, interval_, [&] { return stopping_; })) break;
    std::vector<int64_t> beating(trial_ids_.begin(), trial_ids_.end());
    lock.unlock();
    for (int64_t trial_id : beating) beat(trial_id);
    lock.lock();
  }
}

void HeartbeatThread::beat(int64_t trial_id) {
  try {
    storage_->record_heartbeat(trial_id);
  } catch (const std::exception&) {
    // A missed beat is what heartbeats are for: if the storage stays unreachable for the grace
    // period, other workers fail the trial, as they would if this process had died.
  }
}

}  // namespace knob::detail
