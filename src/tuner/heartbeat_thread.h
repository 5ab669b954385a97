// HeartbeatThread (internal to the tuner): one background thread per Study object that
// records, every `interval`, the heartbeat of each trial that object is running, so that other
// workers (knob or Optuna) can tell a live trial from one whose process died. Thread-safe;
// destroying it wakes and joins the thread at once (it never sleeps out an interval).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "knob/storage/storage.h"

namespace knob::detail {

class HeartbeatThread {
 public:
  HeartbeatThread(std::shared_ptr<Storage> storage, double interval_seconds);
  ~HeartbeatThread();
  HeartbeatThread(const HeartbeatThread&) = delete;
  HeartbeatThread& operator=(const HeartbeatThread&) = delete;

  // Records the trial's heartbeat now, in the caller's thread (the row exists on return unless
  // the storage failed), and then every interval until `remove`. Never throws: a failed
  // record is a missed beat.
  void add(int64_t trial_id);
  // Stops beating for the trial; returns without waiting for the thread.
  void remove(int64_t trial_id);

 private:
  void run();
  void beat(int64_t trial_id);

  std::shared_ptr<Storage> storage_;
  std::chrono::duration<double> interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::set<int64_t> trial_ids_;
  bool stopping_ = false;
  std::thread thread_;  // started by the first add
};

// Beats for one trial while in scope (optimize()'s trials).
class HeartbeatScope {
 public:
  HeartbeatScope(HeartbeatThread* heartbeat, int64_t trial_id)
      : heartbeat_(heartbeat), trial_id_(trial_id) {
    if (heartbeat_) heartbeat_->add(trial_id_);
  }
  ~HeartbeatScope() { stop(); }
  HeartbeatScope(const HeartbeatScope&) = delete;
  HeartbeatScope& operator=(const HeartbeatScope&) = delete;
  void stop() {
    if (heartbeat_) heartbeat_->remove(trial_id_);
    heartbeat_ = nullptr;
  }

 private:
  HeartbeatThread* heartbeat_;
  int64_t trial_id_;
};

}  // namespace knob::detail
