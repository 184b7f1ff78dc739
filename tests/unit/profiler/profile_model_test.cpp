// Profiles and stack dumps as values: the JSON wire format both ways, the
// strict reader on hostile input, display names and the top-functions table.
#include <gtest/gtest.h>

#include <random>

#include "sample_profile.h"
#include "sonde/profiler/profile.h"

namespace sonde::profiler {
namespace {

using testdata::code;
using testdata::sample_profile;

void expect_same(const Frame& a, const Frame& b) {
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.function, b.function);
  EXPECT_EQ(a.module, b.module);
  EXPECT_EQ(a.address, b.address);
  EXPECT_EQ(a.rel, b.rel);
  EXPECT_EQ(a.sym_offset, b.sym_offset);
  EXPECT_EQ(a.file, b.file);
  EXPECT_EQ(a.line, b.line);
  EXPECT_EQ(a.inlined, b.inlined);
}

void expect_same(const Profile& a, const Profile& b) {
  EXPECT_EQ(a.pid, b.pid);
  EXPECT_EQ(a.comm, b.comm);
  EXPECT_EQ(a.mode, b.mode);
  EXPECT_EQ(a.sampler, b.sampler);
  EXPECT_EQ(a.sampler_reason, b.sampler_reason);
  EXPECT_EQ(a.hz, b.hz);
  EXPECT_EQ(a.duration_ms, b.duration_ms);
  EXPECT_EQ(a.samples, b.samples);
  EXPECT_EQ(a.lost, b.lost);
  ASSERT_EQ(a.frames.size(), b.frames.size());
  for (size_t i = 0; i < a.frames.size(); ++i) expect_same(a.frames[i], b.frames[i]);
  ASSERT_EQ(a.stacks.size(), b.stacks.size());
  for (size_t i = 0; i < a.stacks.size(); ++i) {
    EXPECT_EQ(a.stacks[i].frames, b.stacks[i].frames);
    EXPECT_EQ(a.stacks[i].count, b.stacks[i].count);
    EXPECT_EQ(a.stacks[i].thread, b.stacks[i].thread);
  }
  ASSERT_EQ(a.threads.size(), b.threads.size());
  for (size_t i = 0; i < a.threads.size(); ++i) {
    EXPECT_EQ(a.threads[i].tid, b.threads[i].tid);
    EXPECT_EQ(a.threads[i].name, b.threads[i].name);
  }
  EXPECT_EQ(a.notes, b.notes);
}

StackDump sample_dump() {
  StackDump d;
  d.pid = 1234;
  d.comm = "stack_tracee";
  ThreadStack t;
  t.tid = 1234;
  t.name = "stack_tracee";
  t.state = 'S';
  t.syscall = "nanosleep";
  t.frames = {code("clock_nanosleep", "/lib/libc.so.6", 0x7f5e2c0e6b7a),
              code("c", "/tmp/stack_tracee", 0x55d0c1a0b1c9, true)};
  t.frames[1].file = "stack_tracee.c";
  t.frames[1].line = 42;
  t.truncated = true;
  ThreadStack gone;
  gone.tid = 1240;
  gone.name = "worker";
  gone.error = "thread exited";
  d.threads = {t, gone};
  d.notes = {"1 thread exited while we looked"};
  return d;
}

TEST(FrameJson, WritesOnlyFieldsThatHoldSomething) {
  Frame bare;
  bare.address = 0x1000;
  json j = to_json(bare);
  EXPECT_EQ(j, (json{{"kind", "code"}, {"address", 0x1000}}));

  Frame full = code("compute", "/usr/bin/app", 0x401300, true);
  full.sym_offset = 0x1c;
  full.file = "src/compute.c";
  full.line = 42;
  j = to_json(full);
  EXPECT_EQ(j["function"], "compute");
  EXPECT_EQ(j["module"], "/usr/bin/app");
  EXPECT_EQ(j["rel"], 0x1300);
  EXPECT_EQ(j["sym_offset"], 0x1c);
  EXPECT_EQ(j["file"], "src/compute.c");
  EXPECT_EQ(j["line"], 42);
  EXPECT_EQ(j["inlined"], true);
}

TEST(FrameJson, RoundTripsEveryKind) {
  for (const auto& f : sample_profile().frames) {
    auto back = frame_from_json(to_json(f));
    ASSERT_TRUE(back) << back.error().describe();
    expect_same(f, *back);
  }
  Frame t;
  t.kind = FrameKind::kTruncated;
  auto back = frame_from_json(to_json(t));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->kind, FrameKind::kTruncated);
}

TEST(FrameJson, MissingOptionalFieldsTakeDefaults) {
  auto f = frame_from_json(json{{"kind", "unknown"}, {"address", 7}});
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, FrameKind::kUnknown);
  EXPECT_EQ(f->address, 7u);
  EXPECT_TRUE(f->function.empty());
  EXPECT_FALSE(f->inlined);
}

TEST(FrameJson, RejectsWrongTypes) {
  const json bad[] = {
      json::array(),
      json("main"),
      json{{"kind", 1}},
      json{{"kind", "jit"}},
      json{{"kind", "code"}, {"address", "0x1000"}},
      json{{"kind", "code"}, {"address", -1}},
      json{{"kind", "code"}, {"address", 1.5}},
      json{{"kind", "code"}, {"function", 3}},
      json{{"kind", "code"}, {"line", uint64_t{1} << 40}},
      json{{"kind", "code"}, {"inlined", 1}},
      json{{"kind", "code"}, {"file", json::array()}},
  };
  for (const auto& j : bad) {
    auto f = frame_from_json(j);
    ASSERT_FALSE(f) << j.dump();
    EXPECT_EQ(f.error().code, errc::kProtocol) << j.dump();
    EXPECT_FALSE(f.error().message.empty());
  }
}

TEST(ProfileJson, RoundTripsThroughTextAndMessagePack) {
  Profile p = sample_profile();
  auto back = profile_from_json(json::parse(to_json(p).dump()));
  ASSERT_TRUE(back) << back.error().describe();
  expect_same(p, *back);
  // The wire is msgpack: small non-negative ints come back unsigned, which
  // the reader must take for signed fields (pid, tid) too.
  auto packed = profile_from_json(json::from_msgpack(json::to_msgpack(to_json(p))));
  ASSERT_TRUE(packed) << packed.error().describe();
  expect_same(p, *packed);
}

TEST(ProfileJson, WireFieldNames) {
  json j = to_json(sample_profile());
  for (const char* k : {"pid", "comm", "mode", "sampler", "sampler_reason", "hz", "duration_ms",
                        "samples", "lost", "frames", "stacks", "threads", "notes"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["stacks"][0], (json{{"frames", {3, 4, 1, 0}}, {"count", 5}, {"thread", 0}}));
  EXPECT_EQ(j["threads"][1], (json{{"tid", 4243}, {"name", "worker"}}));
}

Error profile_error(const json& j) {
  auto p = profile_from_json(j);
  EXPECT_FALSE(p) << j.dump();
  return p ? Error{} : p.error();
}

TEST(ProfileJson, RejectsOutOfRangeIndices) {
  json j = to_json(sample_profile());
  json bad = j;
  bad["stacks"][2]["frames"][1] = 10;  // 10 frames: 0..9
  Error e = profile_error(bad);
  EXPECT_EQ(e.code, errc::kProtocol);
  EXPECT_NE(e.message.find("stacks[2].frames[1]"), std::string::npos) << e.message;

  bad = j;
  bad["stacks"][0]["frames"][0] = -1;
  EXPECT_EQ(profile_error(bad).code, errc::kProtocol);

  bad = j;
  bad["stacks"][0]["frames"][0] = "3";
  EXPECT_EQ(profile_error(bad).code, errc::kProtocol);

  bad = j;
  bad["stacks"][1]["thread"] = 2;  // 2 threads
  e = profile_error(bad);
  EXPECT_NE(e.message.find("stacks[1].thread"), std::string::npos) << e.message;

  // Without a thread table only thread 0 makes sense.
  bad = j;
  bad["threads"] = json::array();
  EXPECT_EQ(profile_error(bad).code, errc::kProtocol);
  for (auto& s : bad["stacks"]) s["thread"] = 0;
  EXPECT_TRUE(profile_from_json(bad));
}

TEST(ProfileJson, RejectsWrongTypes) {
  json j = to_json(sample_profile());
  auto with = [&](auto mutate) {
    json b = j;
    mutate(b);
    return b;
  };
  const json bad[] = {
      json::array(),
      with([](json& b) { b["pid"] = "4242"; }),
      with([](json& b) { b["pid"] = uint64_t{1} << 40; }),
      with([](json& b) { b["hz"] = -100; }),
      with([](json& b) { b["samples"] = 1.5; }),
      with([](json& b) { b["frames"] = json::object(); }),
      with([](json& b) { b["frames"][3]["kind"] = "inline"; }),
      with([](json& b) { b["stacks"][0] = json::array(); }),
      with([](json& b) { b["stacks"][0]["count"] = "5"; }),
      with([](json& b) { b["stacks"][0]["frames"] = 3; }),
      with([](json& b) { b["threads"][0]["tid"] = json::object(); }),
      with([](json& b) { b["threads"][1] = "worker"; }),
      with([](json& b) {
        b["notes"] = {"ok", 3};
      }),
      with([](json& b) { b["comm"] = false; }),
  };
  for (const auto& b : bad) EXPECT_EQ(profile_error(b).code, errc::kProtocol);
  // The message says where: frames[3].kind
  Error e = profile_error(bad[6]);
  EXPECT_NE(e.message.find("frames[3].kind"), std::string::npos) << e.message;
}

TEST(ProfileJson, MissingFieldsAreEmpty) {
  auto p = profile_from_json(json::object());
  ASSERT_TRUE(p) << p.error().describe();
  EXPECT_TRUE(p->frames.empty());
  EXPECT_TRUE(p->stacks.empty());
  EXPECT_EQ(p->mode, "cpu");
}

// Random damage to a valid document: every outcome is a value or a
// kProtocol error, never a crash or an exception.
TEST(ProfileJson, SurvivesRandomDamage) {
  const json base = to_json(sample_profile());
  const json junk[] = {json(nullptr), json(-7),        json(1.25),          json("x"),
                       json(true),    json::array(),   json::object(),      json(uint64_t(1) << 63),
                       json(99),      json({1, 2, 3}), json{{"kind", "?"}}, json(0)};
  std::mt19937 rng(12345);
  for (int round = 0; round < 3000; ++round) {
    json j = base;
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      // Walk down a random path and replace what is there.
      json* at = &j;
      while ((at->is_object() || at->is_array()) && !at->empty() && rng() % 3 != 0) {
        size_t k = rng() % at->size();
        at = at->is_array() ? &(*at)[k] : &std::next(at->begin(), static_cast<long>(k)).value();
      }
      *at = junk[rng() % std::size(junk)];
    }
    Result<Profile> p = Error{};
    ASSERT_NO_THROW(p = profile_from_json(j)) << j.dump();
    if (!p)
      EXPECT_EQ(p.error().code, errc::kProtocol) << j.dump();
    else
      top_functions(*p);  // whatever passed the reader is safe to use
  }
}

TEST(StackDumpJson, RoundTrips) {
  StackDump d = sample_dump();
  json j = to_json(d);
  EXPECT_EQ(j["threads"][0]["state"], "S");
  EXPECT_EQ(j["threads"][0]["syscall"], "nanosleep");
  EXPECT_EQ(j["threads"][0]["truncated"], true);
  EXPECT_FALSE(j["threads"][0].contains("error"));
  EXPECT_EQ(j["threads"][1]["error"], "thread exited");
  EXPECT_FALSE(j["threads"][1].contains("syscall"));

  auto back = stack_dump_from_json(json::from_msgpack(json::to_msgpack(j)));
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(back->pid, 1234);
  EXPECT_EQ(back->comm, "stack_tracee");
  ASSERT_EQ(back->threads.size(), 2u);
  EXPECT_EQ(back->threads[0].state, 'S');
  EXPECT_EQ(back->threads[0].syscall, "nanosleep");
  EXPECT_TRUE(back->threads[0].truncated);
  ASSERT_EQ(back->threads[0].frames.size(), 2u);
  expect_same(back->threads[0].frames[1], d.threads[0].frames[1]);
  EXPECT_EQ(back->threads[1].error, "thread exited");
  EXPECT_EQ(back->notes, d.notes);
}

TEST(StackDumpJson, RejectsWrongTypes) {
  json j = to_json(sample_dump());
  auto reject = [](json b, const char* where) {
    auto d = stack_dump_from_json(b);
    ASSERT_FALSE(d) << b.dump();
    EXPECT_EQ(d.error().code, errc::kProtocol);
    EXPECT_NE(d.error().message.find(where), std::string::npos) << d.error().message;
  };
  json b = j;
  b["threads"][0]["state"] = "SS";
  reject(b, "threads[0].state");
  b = j;
  b["threads"][0]["state"] = 83;
  reject(b, "threads[0].state");
  b = j;
  b["threads"][0]["frames"][1]["line"] = "42";
  reject(b, "threads[0].frames[1].line");
  b = j;
  b["threads"][1]["truncated"] = "no";
  reject(b, "threads[1].truncated");
  b = j;
  b["threads"] = json::object();
  reject(b, "threads");
}

TEST(DisplayName, Cases) {
  Profile p = sample_profile();
  EXPECT_EQ(display_name(p.frames[0]), "main");
  EXPECT_EQ(display_name(p.frames[5]), "[syscall read]");
  EXPECT_EQ(display_name(p.frames[7]), "[unknown 0x7f12deadbeef]");
  EXPECT_EQ(display_name(p.frames[8]), "libfoo.so+0x1234");
  Frame t;
  t.kind = FrameKind::kTruncated;
  EXPECT_EQ(display_name(t), "[truncated]");
  // A JIT frame named by a perf map still shows its name.
  Frame jit = p.frames[7];
  jit.function = "Interpreter";
  EXPECT_EQ(display_name(jit), "Interpreter");
  // Code outside any module and without a symbol.
  Frame anon;
  anon.address = 0x1234;
  EXPECT_EQ(display_name(anon), "[unknown 0x1234]");
}

TEST(ModuleBasename, Cases) {
  Profile p = sample_profile();
  EXPECT_EQ(module_basename(p.frames[6]), "libc.so.6");
  EXPECT_EQ(module_basename(p.frames[5]), "");
  Frame vdso;
  vdso.module = "[vdso]";
  EXPECT_EQ(module_basename(vdso), "[vdso]");
}

TEST(TopFunctions, SelfAndTotalWithRecursionAndInlining) {
  auto stats = top_functions(sample_profile());
  struct Want {
    const char* name;
    uint64_t self, total;
  };
  // helper is inlined into compute but is its own function; recurse is on
  // its stack three times but its total counts that stack once.
  const Want want[] = {{"helper", 5, 5},
                       {"compute", 4, 9},
                       {"recurse", 3, 3},
                       {"[syscall read]", 2, 2},
                       {"[unknown 0x7f12deadbeef]", 1, 1},
                       {"main", 0, 15},
                       {"work", 0, 14},
                       {"read", 0, 2},
                       {"libfoo.so+0x1234", 0, 1}};
  ASSERT_EQ(stats.size(), std::size(want));
  for (size_t i = 0; i < stats.size(); ++i) {
    EXPECT_EQ(stats[i].name, want[i].name) << i;
    EXPECT_EQ(stats[i].self, want[i].self) << want[i].name;
    EXPECT_EQ(stats[i].total, want[i].total) << want[i].name;
  }
  EXPECT_EQ(stats[0].module, "/usr/bin/app");
  EXPECT_EQ(stats[7].module, "/lib/x86_64-linux-gnu/libc.so.6");
}

TEST(TopFunctions, EmptyProfile) {
  EXPECT_TRUE(top_functions(Profile{}).empty());
}

}  // namespace
}  // namespace sonde::profiler
