// A small hand-built profile shared by the model, exporter and renderer
// tests: recursion, an inlined function, a syscall leaf, an unknown address
// and a module without symbols.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "sonde/profiler/profile.h"

namespace sonde::profiler::testdata {

// A symbolized frame of code at addr in module.
inline Frame code(std::string fn, std::string module, uint64_t addr, bool inlined = false) {
  Frame f;
  f.function = std::move(fn);
  f.module = std::move(module);
  f.address = addr;
  f.rel = addr & 0xffff;
  f.inlined = inlined;
  return f;
}

// Frame indices:
//   0 main  1 work  2 recurse  3 helper (inlined into compute)  4 compute
//   5 [syscall read]  6 read (libc)  7 unknown JIT address  8 libfoo.so, no symbol
//   9 recurse at another address (same function)
inline Profile sample_profile() {
  Profile p;
  p.pid = 4242;
  p.comm = "app";
  p.mode = "cpu";
  p.sampler = "perf_event";
  p.sampler_reason = "perf_event_paranoid=1";
  p.hz = 100;
  p.duration_ms = 2000;
  p.frames = {
      code("main", "/usr/bin/app", 0x401000),
      code("work", "/usr/bin/app", 0x401100),
      code("recurse", "/usr/bin/app", 0x401200),
      code("helper", "/usr/bin/app", 0x401300, true),
      code("compute", "/usr/bin/app", 0x401300),
      Frame{FrameKind::kSyscall, "read", "", 0, 0, 0, "", 0, false},
      code("read", "/lib/x86_64-linux-gnu/libc.so.6", 0x7f0000001000),
      Frame{FrameKind::kUnknown, "", "", 0x7f12deadbeef, 0, 0, "", 0, false},
      Frame{FrameKind::kCode, "", "/opt/lib/libfoo.so", 0x7f0000201234, 0x1234, 0, "", 0, false},
      code("recurse", "/usr/bin/app", 0x401210)};
  p.frames[4].file = "src/compute.c";
  p.frames[4].line = 42;
  p.frames[4].sym_offset = 0x1c;
  p.threads = {{4242, "app"}, {4243, "worker"}};
  p.stacks = {{{3, 4, 1, 0}, 5, 0},
              {{2, 9, 2, 1, 0}, 3, 1},
              {{5, 6, 1, 0}, 2, 1},
              {{4, 1, 0}, 4, 0},
              {{7, 8, 0}, 1, 0}};
  p.samples = 15;
  p.lost = 1;
  p.notes = {"a note"};
  return p;
}

}  // namespace sonde::profiler::testdata
