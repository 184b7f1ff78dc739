// One symbolizer for the agent's lifetime, shared by `stack` and `profile`:
// modules stay parsed (keyed by build-id) from one request to the next.
#pragma once

#include <mutex>

#include "sonde/profiler/symbolizer.h"

namespace sonde::agent {

class SharedSymbolizer {
 public:
  // Holds the lock while in scope: symbolization is single-threaded.
  class Use {
   public:
    explicit Use(SharedSymbolizer& s) : lock_(s.mu_), sym_(s.sym_) {}
    profiler::Symbolizer& operator*() { return sym_; }

   private:
    std::lock_guard<std::mutex> lock_;
    profiler::Symbolizer& sym_;
  };
  static SharedSymbolizer& instance() {
    static SharedSymbolizer s;
    return s;
  }

  // For code that takes the lock itself, only around symbolization.
  profiler::Symbolizer& unlocked() { return sym_; }
  std::mutex& mutex() { return mu_; }

 private:
  std::mutex mu_;
  profiler::Symbolizer sym_{profiler::default_debug_cache_dir()};
};

}  // namespace sonde::agent
