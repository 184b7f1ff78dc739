// Every exporter read back by the tool that people feed its output to (or a
// reader that is as strict): xmllint for the SVG, gzip + protoc --decode_raw
// for pprof, Python's json for speedscope. A missing reader skips the test.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>

#include "sample_profile.h"
#include "sonde/common/subprocess.h"
#include "sonde/profiler/export.h"
#include "sonde/profiler/fleet_profile.h"

namespace sonde::profiler {
namespace {

namespace fs = std::filesystem;

using testdata::code;

// The shared profile, without the lost count and symbol offset (the files
// checked here were written for that input).
Profile sample_profile() {
  Profile p = testdata::sample_profile();
  p.lost = 0;
  p.frames[4].sym_offset = 0;
  return p;
}

bool have(const std::string& tool) {
  auto r = run_capture({"sh", "-c", "command -v " + tool + " >/dev/null"});
  return r && r->exit_code == 0;
}

#define REQUIRE_TOOL(tool) \
  if (!have(tool)) GTEST_SKIP() << tool << " is not installed (scripts/setup.sh installs it)"

class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/sonde-export-XXXXXX";
    if (!mkdtemp(tmpl.data())) ADD_FAILURE() << "mkdtemp failed";
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& data) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << data;
    return p;
  }

 private:
  std::string path_;
};

RunResult run(const std::vector<std::string>& argv) {
  auto r = run_capture(argv, 60000);
  if (!r) {
    ADD_FAILURE() << argv[0] << ": " << r.error().describe();
    return {};
  }
  return *r;
}

// xmllint --xpath ends its answer with a newline in some versions only.
std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

size_t count_of(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

TEST(ExportFormat, FromFlagOrFileName) {
  auto fmt_of = [](const std::string& path, const std::string& flag) {
    auto f = export_format_for(path, flag);
    EXPECT_TRUE(f) << path << " " << flag;
    return f ? *f : ExportFormat::kJson;
  };
  EXPECT_EQ(fmt_of("out.folded", ""), ExportFormat::kFolded);
  EXPECT_EQ(fmt_of("out.collapsed", ""), ExportFormat::kFolded);
  EXPECT_EQ(fmt_of("out.txt", ""), ExportFormat::kFolded);
  EXPECT_EQ(fmt_of("/tmp/Flame.SVG", ""), ExportFormat::kSvg);
  EXPECT_EQ(fmt_of("cpu.pb.gz", ""), ExportFormat::kPprof);
  EXPECT_EQ(fmt_of("cpu.pprof", ""), ExportFormat::kPprof);
  EXPECT_EQ(fmt_of("cpu.pb", ""), ExportFormat::kPprof);
  EXPECT_EQ(fmt_of("p.speedscope.json", ""), ExportFormat::kSpeedscope);
  EXPECT_EQ(fmt_of("p.json", ""), ExportFormat::kJson);
  // The flag wins over the name.
  EXPECT_EQ(fmt_of("p.json", "svg"), ExportFormat::kSvg);
  EXPECT_EQ(fmt_of("", "pprof"), ExportFormat::kPprof);

  for (auto [path, flag] : {std::pair{"out.png", ""}, {"", ""}, {"p.svg", "flamegraph"}}) {
    auto f = export_format_for(path, flag);
    ASSERT_FALSE(f) << path << " " << flag;
    EXPECT_EQ(f.error().code, errc::kBadArgs);
    EXPECT_NE((f.error().message + f.error().hint).find("speedscope"), std::string::npos);
  }
  EXPECT_STREQ(export_format_name(ExportFormat::kSpeedscope), "speedscope");
}

TEST(ExportProfile, DispatchesOnFormat) {
  Profile p = sample_profile();
  auto folded = export_profile(p, ExportFormat::kFolded);
  ASSERT_TRUE(folded);
  EXPECT_EQ(*folded, export_folded(p));
  auto js = export_profile(p, ExportFormat::kJson);
  ASSERT_TRUE(js);
  EXPECT_EQ(json::parse(*js), to_json(p));
}

TEST(Folded, ExactLines) {
  // Sorted like `sort` would, thread first, root to leaf.
  EXPECT_EQ(export_folded(sample_profile()),
            "app-4242;main;libfoo.so+0x1234;[unknown 0x7f12deadbeef] 1\n"
            "app-4242;main;work;compute 4\n"
            "app-4242;main;work;compute;helper 5\n"
            "worker-4243;main;work;read;[syscall read] 2\n"
            "worker-4243;main;work;recurse;recurse;recurse 3\n");
}

TEST(Folded, MergesAndKeepsSeparatorsOutOfNames) {
  Profile p;
  p.frames = {code("main", "/bin/x", 0x10), code("a;b\nc", "/bin/x", 0x20),
              code("a;b\nc", "/bin/x", 0x24)};
  // Two addresses in the same function fold into one line.
  p.stacks = {{{1, 0}, 2, 0}, {{2, 0}, 3, 0}, {{0}, 0, 0}};
  // No thread table: no thread frame.
  EXPECT_EQ(export_folded(p), "main;a:b c 5\n");
}

TEST(Svg, XmllintAcceptsItAndTitlesCarryTheNumbers) {
  REQUIRE_TOOL("xmllint");
  TempDir dir;
  std::string svg = export_svg(sample_profile(), {"cpu of app", 1200});
  std::string path = dir.write("flame.svg", svg);
  EXPECT_EQ(run({"xmllint", "--noout", path}).exit_code, 0);

  for (const char* title : {"all (15 samples, 100.00%)", "app-4242 (10 samples, 66.67%)",
                            "worker-4243 (5 samples, 33.33%)", "compute (9 samples, 60.00%)",
                            "helper (5 samples, 33.33%)", "[syscall read] (2 samples, 13.33%)",
                            "[unknown 0x7f12deadbeef] (1 sample, 6.67%)"})
    EXPECT_NE(svg.find(std::string("<title>") + title + "</title>"), std::string::npos) << title;
  // recurse on its own stack three times: three nested boxes.
  EXPECT_EQ(count_of(svg, "<title>recurse (3 samples, 20.00%)</title>"), 3u);
  EXPECT_NE(svg.find("<script"), std::string::npos);
  EXPECT_NE(svg.find("<style"), std::string::npos);
  EXPECT_NE(svg.find("cpu of app"), std::string::npos);
  // Self-contained: nothing fetched from elsewhere.
  EXPECT_EQ(svg.find("href"), std::string::npos);

  // The reader sees one box per tree node: all, 2 threads, 7 under app,
  // 7 under worker.
  auto boxes = run({"xmllint", "--xpath", "count(//*[local-name()='g'][@data-s])", path});
  EXPECT_EQ(trimmed(boxes.out), "16");
}

TEST(Svg, HostileNamesStayValidXml) {
  REQUIRE_TOOL("xmllint");
  Profile p;
  p.comm = "a<b>&\"c'";
  p.frames = {code("main", "/bin/x", 0x10),
              code("operator<<(std::ostream&, \"q\" 'a')", "/bin/x", 0x20),
              code("bad\xff\xfe utf8 \xc3", "/bin/x", 0x30),
              code("ctl\x01\x1b[31m", "/bin/x", 0x40),
              code("]]></script><script>alert(1)</script>", "/bin/x", 0x50),
              code("caf\xc3\xa9 \xe6\x97\xa5", "/bin/x", 0x60)};
  p.threads = {{1, "t<1>"}};
  p.stacks = {{{1, 0}, 1, 0}, {{2, 0}, 1, 0}, {{3, 0}, 1, 0}, {{4, 0}, 1, 0}, {{5, 0}, 1, 0}};
  TempDir dir;
  std::string svg = export_svg(p, {"<title & more>", 800});
  std::string path = dir.write("hostile.svg", svg);
  EXPECT_EQ(run({"xmllint", "--noout", path}).exit_code, 0);
  EXPECT_NE(svg.find("operator&lt;&lt;(std::ostream&amp;, &quot;q&quot; &apos;a&apos;)"),
            std::string::npos);
  EXPECT_NE(svg.find("caf\xc3\xa9 \xe6\x97\xa5"), std::string::npos);  // valid UTF-8 kept
  EXPECT_NE(svg.find("bad?? utf8 ?"), std::string::npos);
  EXPECT_EQ(svg.find("alert(1)</script>"), std::string::npos);
  // The names read back through a real parser are the escaped ones.
  auto titles =
      run({"xmllint", "--xpath", "string(//*[local-name()='title'][starts-with(.,'op')])", path});
  EXPECT_EQ(trimmed(titles.out), "operator<<(std::ostream&, \"q\" 'a') (1 sample, 20.00%)");
}

TEST(Svg, EmptyProfileIsStillAValidGraph) {
  REQUIRE_TOOL("xmllint");
  TempDir dir;
  std::string svg = export_svg(Profile{});
  EXPECT_EQ(run({"xmllint", "--noout", dir.write("empty.svg", svg)}).exit_code, 0);
  EXPECT_NE(svg.find("no samples"), std::string::npos);
}

// 10k distinct stacks: the file stays a size a browser opens, boxes under
// 0.1 px are left out, and their samples still count in their parents.
TEST(Svg, TenThousandStacks) {
  REQUIRE_TOOL("xmllint");
  Profile p;
  std::mt19937 rng(7);
  for (int i = 0; i < 3000; ++i)
    p.frames.push_back(code("fn_" + std::to_string(i), "/bin/big", 0x1000 + 16 * i));
  p.threads = {{1, "big"}};
  std::set<std::vector<uint32_t>> seen;
  uint64_t total = 0;
  while (p.stacks.size() < 10000) {
    std::vector<uint32_t> st;
    size_t depth = 5 + rng() % 40;
    for (size_t d = 0; d < depth; ++d)
      st.push_back(d < 3 ? static_cast<uint32_t>(d) : static_cast<uint32_t>(rng() % 3000));
    std::reverse(st.begin(), st.end());
    if (!seen.insert(st).second) continue;
    uint64_t count = 1 + rng() % 20;
    p.stacks.push_back({st, count, 0});
    total += count;
  }
  // One huge stack so that most others fall below 0.1 px.
  p.stacks.push_back({{0}, 10'000'000, 0});
  total += 10'000'000;

  std::string svg = export_svg(p);
  EXPECT_LT(svg.size(), 20u << 20);
  EXPECT_LT(count_of(svg, "<g data-s"), 10000u);
  std::string all = "<title>all (" + std::to_string(total) + " samples";
  // grouped with commas in the title
  std::string digits = std::to_string(total), grouped;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  EXPECT_NE(svg.find("<title>all (" + grouped + " samples, 100.00%)"), std::string::npos);
  TempDir dir;
  EXPECT_EQ(run({"xmllint", "--noout", "--huge", dir.write("big.svg", svg)}).exit_code, 0);
}

// The tree protoc --decode_raw prints: "N: value" leaves and "N { ... }"
// nested messages. Strings keep protoc's C escapes until unescaped.
struct Pb {
  std::multimap<int, std::string> values;
  std::multimap<int, std::shared_ptr<Pb>> children;

  std::vector<std::string> all(int f) const {
    std::vector<std::string> out;
    for (auto [it, end] = values.equal_range(f); it != end; ++it) out.push_back(it->second);
    return out;
  }
  std::vector<const Pb*> msgs(int f) const {
    std::vector<const Pb*> out;
    for (auto [it, end] = children.equal_range(f); it != end; ++it) out.push_back(it->second.get());
    return out;
  }
  uint64_t num(int f) const {
    auto v = all(f);
    return v.empty() ? 0 : std::stoull(v[0]);
  }
};

Pb parse_decode_raw(const std::string& text) {
  auto root = std::make_shared<Pb>();
  std::vector<Pb*> at{root.get()};
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    line.erase(0, line.find_first_not_of(' '));
    if (line.empty()) continue;
    if (line == "}") {
      at.pop_back();
      continue;
    }
    int field = std::stoi(line);
    if (line.back() == '{') {
      auto child = std::make_shared<Pb>();
      Pb* raw = child.get();
      at.back()->children.emplace(field, std::move(child));
      at.push_back(raw);
    } else {
      at.back()->values.emplace(field, line.substr(line.find(": ") + 2));
    }
  }
  return std::move(*root);
}

// "\"ab\\001\"" -> the bytes protoc escaped.
std::string unquote(const std::string& q) {
  std::string out;
  EXPECT_TRUE(q.size() >= 2 && q.front() == '"' && q.back() == '"') << q;
  for (size_t i = 1; i + 1 < q.size(); ++i) {
    if (q[i] != '\\') {
      out += q[i];
      continue;
    }
    char c = q[++i];
    if (c >= '0' && c <= '7') {
      int v = 0;
      for (int k = 0; k < 3 && q[i] >= '0' && q[i] <= '7'; ++k, ++i) v = v * 8 + (q[i] - '0');
      --i;
      out += static_cast<char>(v);
    } else if (c == 'x') {
      out += static_cast<char>(std::stoi(q.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c;
    }
  }
  return out;
}

std::vector<uint64_t> varints(const std::string& bytes) {
  std::vector<uint64_t> out;
  uint64_t v = 0;
  int shift = 0;
  for (char ch : bytes) {
    auto b = static_cast<unsigned char>(ch);
    v |= uint64_t{b & 0x7fu} << shift;
    shift += 7;
    if (!(b & 0x80)) {
      out.push_back(v);
      v = 0;
      shift = 0;
    }
  }
  return out;
}

TEST(Pprof, ProtocDecodesItAndTheFieldsHoldTheProfile) {
  REQUIRE_TOOL("gzip");
  REQUIRE_TOOL("protoc");
  Profile p = sample_profile();
  auto data = export_pprof(p);
  ASSERT_TRUE(data) << data.error().describe();
  ASSERT_GT(data->size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>((*data)[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>((*data)[1]), 0x8b);

  TempDir dir;
  std::string path = dir.write("cpu.pb.gz", *data);
  auto decoded = run({"sh", "-c", "gzip -dc " + path + " | protoc --decode_raw"});
  ASSERT_EQ(decoded.exit_code, 0);
  Pb prof = parse_decode_raw(decoded.out);

  std::vector<std::string> strings;
  for (const auto& s : prof.all(6)) strings.push_back(unquote(s));
  ASSERT_FALSE(strings.empty());
  EXPECT_EQ(strings[0], "");
  for (const char* want :
       {"samples", "count", "cpu", "nanoseconds", "main", "work", "compute", "helper", "recurse",
        "read", "[syscall read]", "libfoo.so+0x1234", "[unknown 0x7f12deadbeef]", "/usr/bin/app",
        "src/compute.c", "thread", "app-4242", "worker-4243"})
    EXPECT_NE(std::find(strings.begin(), strings.end(), want), strings.end()) << want;
  auto str = [&](uint64_t i) { return i < strings.size() ? strings[i] : "<bad index>"; };

  auto types = prof.msgs(1);
  ASSERT_EQ(types.size(), 2u);
  EXPECT_EQ(str(types[0]->num(1)) + "/" + str(types[0]->num(2)), "samples/count");
  EXPECT_EQ(str(types[1]->num(1)) + "/" + str(types[1]->num(2)), "cpu/nanoseconds");
  ASSERT_EQ(prof.msgs(11).size(), 1u);
  EXPECT_EQ(str(prof.msgs(11)[0]->num(1)), "cpu");
  EXPECT_EQ(prof.num(12), 10'000'000u);  // 100 Hz
  EXPECT_EQ(prof.num(10), 2'000'000'000u);

  std::map<uint64_t, std::string> function_name;
  for (const Pb* f : prof.msgs(5)) function_name[f->num(1)] = str(f->num(2));
  // Locations: id -> the function names of its lines, innermost first.
  std::map<uint64_t, std::vector<std::string>> lines_of;
  std::map<uint64_t, std::vector<uint64_t>> line_numbers;
  for (const Pb* l : prof.msgs(4)) {
    for (const Pb* line : l->msgs(4)) {
      lines_of[l->num(1)].push_back(function_name[line->num(1)]);
      line_numbers[l->num(1)].push_back(line->num(2));
    }
  }
  // helper was inlined into compute: one location, two lines.
  size_t inline_locations = 0;
  for (const auto& [id, names] : lines_of) {
    if (names.size() == 1) continue;
    ++inline_locations;
    EXPECT_EQ(names, (std::vector<std::string>{"helper", "compute"}));
    EXPECT_EQ(line_numbers[id], (std::vector<uint64_t>{0, 42}));
  }
  EXPECT_EQ(inline_locations, 1u);

  // Samples: names leaf first, [count, count * period] and the thread label.
  std::map<std::string, std::vector<uint64_t>> values_of;
  std::map<std::string, std::string> thread_of;
  for (const Pb* s : prof.msgs(2)) {
    ASSERT_EQ(s->all(1).size(), 1u) << "location ids not packed bytes";
    std::string stack;
    for (uint64_t loc : varints(unquote(s->all(1)[0])))
      for (const auto& n : lines_of[loc]) stack += (stack.empty() ? "" : ";") + n;
    values_of[stack] = varints(unquote(s->all(2)[0]));
    for (const Pb* label : s->msgs(3))
      if (str(label->num(1)) == "thread") thread_of[stack] = str(label->num(2));
  }
  const std::map<std::string, std::vector<uint64_t>> want = {
      {"helper;compute;work;main", {5, 50'000'000}},
      {"recurse;recurse;recurse;work;main", {3, 30'000'000}},
      {"[syscall read];read;work;main", {2, 20'000'000}},
      {"compute;work;main", {4, 40'000'000}},
      {"[unknown 0x7f12deadbeef];libfoo.so+0x1234;main", {1, 10'000'000}}};
  EXPECT_EQ(values_of, want);
  EXPECT_EQ(thread_of["helper;compute;work;main"], "app-4242");
  EXPECT_EQ(thread_of["[syscall read];read;work;main"], "worker-4243");
  // Mappings name the modules.
  std::set<std::string> modules;
  for (const Pb* m : prof.msgs(3)) modules.insert(str(m->num(5)));
  EXPECT_EQ(modules, (std::set<std::string>{"/usr/bin/app", "/lib/x86_64-linux-gnu/libc.so.6",
                                            "/opt/lib/libfoo.so"}));
}

TEST(Speedscope, PythonChecksTheSchemaFields) {
  REQUIRE_TOOL("python3");
  TempDir dir;
  std::string file = dir.write("p.speedscope.json", export_speedscope(sample_profile()));
  std::string script = dir.write("check.py", R"PY(
import json, sys
d = json.load(open(sys.argv[1]))
assert d["$schema"] == "https://www.speedscope.app/file-format-schema.json", d["$schema"]
assert d["exporter"].startswith("sonde "), d["exporter"]
assert d["activeProfileIndex"] == 0
frames = d["shared"]["frames"]
assert all(isinstance(f["name"], str) and f["name"] for f in frames)
names = [f["name"] for f in frames]
out = {}
for p in d["profiles"]:
    assert p["type"] == "sampled", p["type"]
    assert p["unit"] in ("none", "nanoseconds"), p["unit"]
    assert len(p["samples"]) == len(p["weights"])
    assert all(0 <= i < len(frames) for s in p["samples"] for i in s)
    assert p["startValue"] == 0
    assert p["endValue"] == sum(p["weights"]), (p["endValue"], sum(p["weights"]))
    out[p["name"]] = sorted([";".join(names[i] for i in s), w]
                            for s, w in zip(p["samples"], p["weights"]))
print(json.dumps(out))
)PY");
  auto r = run({"python3", script, file});
  ASSERT_EQ(r.exit_code, 0);
  json got = json::parse(r.out);
  // Root first, weights in nanoseconds at 100 Hz.
  EXPECT_EQ(got["app-4242"], json::parse(R"([
      ["main;libfoo.so+0x1234;[unknown 0x7f12deadbeef]", 10000000],
      ["main;work;compute", 40000000],
      ["main;work;compute;helper", 50000000]])"));
  EXPECT_EQ(got["worker-4243"], json::parse(R"([
      ["main;work;read;[syscall read]", 20000000],
      ["main;work;recurse;recurse;recurse", 30000000]])"));
}

TEST(Speedscope, NamesThatAreNotUtf8StillGiveJson) {
  REQUIRE_TOOL("python3");
  Profile p;
  p.frames = {code("bad\xff", "/bin/x", 0x10)};
  p.stacks = {{{0}, 1, 0}};
  TempDir dir;
  std::string file = dir.write("bad.json", export_speedscope(p));
  auto r = run({"python3", "-c",
                "import json,sys; d=json.load(open(sys.argv[1])); "
                "print(d['profiles'][0]['unit'], d['profiles'][0]['endValue'])",
                file});
  EXPECT_EQ(r.exit_code, 0);
  // No rate: plain sample counts.
  EXPECT_EQ(r.out, "none 1\n");
}

// ---- A fleet's profiles: merged with the host first, or compared. ----

// One thread "app" of pid `pid` whose stacks are main;work;compute (`compute`
// samples) and main;work;read ([syscall read] leaf, `reads` samples).
Profile two_stack_profile(int pid, uint64_t compute, uint64_t reads) {
  Profile p;
  p.pid = pid;
  p.comm = "app";
  p.hz = 100;
  p.sampler = "perf_event";
  p.frames = {code("main", "/usr/bin/app", 0x401000), code("work", "/usr/bin/app", 0x401100),
              code("compute", "/usr/bin/app", 0x401300),
              Frame{FrameKind::kSyscall, "read", "", 0, 0, 0, "", 0, false}};
  p.threads = {{pid, "app"}};
  if (compute) p.stacks.push_back({{2, 1, 0}, compute, 0});
  if (reads) p.stacks.push_back({{3, 1, 0}, reads, 0});
  p.samples = compute + reads;
  return p;
}

TEST(FleetProfile, MergedLinesStartWithTheHostAndThreadsFoldByName) {
  Profile a = sample_profile(), b = sample_profile();
  b.threads = {{999, "app"}, {1000, "worker"}};  // other tids, same names
  b.lost = 3;
  b.notes = {"b's note"};
  Profile m = merge_host_profiles({{"web01", a}, {"web02", b}});
  EXPECT_EQ(m.samples, 30u);
  EXPECT_EQ(m.lost, 3u);
  EXPECT_EQ(m.frames.size(), a.frames.size() * 2);
  ASSERT_EQ(m.threads.size(), 4u);  // app and worker on each host
  EXPECT_EQ(m.notes, (std::vector<std::string>{"web01: a note", "web02: b's note"}));
  std::string folded = export_folded(m);
  EXPECT_NE(folded.find("web01;app;main;work;compute;helper 5\n"), std::string::npos) << folded;
  EXPECT_NE(folded.find("web02;app;main;work;compute;helper 5\n"), std::string::npos) << folded;
  EXPECT_NE(folded.find("web02;worker;main;work;read;[syscall read] 2\n"), std::string::npos);
  // No tid in a merged thread's name: hosts' threads of one name line up.
  EXPECT_EQ(folded.find("app-"), std::string::npos) << folded;
  // The host survives the JSON a --log-dir line or the case keeps.
  auto back = profile_from_json(to_json(m));
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(back->threads[0].host, "web01");
  EXPECT_EQ(export_folded(*back), folded);
}

TEST(FleetProfile, SvgPutsEachHostUnderTheRootOnlyWhenAsked) {
  REQUIRE_TOOL("xmllint");
  Profile m = merge_host_profiles(
      {{"web01", two_stack_profile(10, 6, 0)}, {"web02", two_stack_profile(20, 0, 4)}});
  SvgOptions o;
  o.host_frame = true;
  std::string svg = export_svg(m, o);
  TempDir dir;
  EXPECT_EQ(run({"xmllint", "--noout", dir.write("hosts.svg", svg)}).exit_code, 0);
  EXPECT_NE(svg.find("<title>web01 (6 samples, 60.00%)</title>"), std::string::npos);
  EXPECT_NE(svg.find("<title>web02 (4 samples, 40.00%)</title>"), std::string::npos);
  // Without the host frame the two hosts' "app" threads are one box.
  std::string flat = export_svg(m, {});
  EXPECT_EQ(flat.find("<title>web01"), std::string::npos);
  EXPECT_NE(flat.find("<title>app (10 samples, 100.00%)</title>"), std::string::npos) << flat;
}

TEST(FleetProfile, DiffWeighsEachHostTheSame) {
  // The base host is all compute; of the two others, one is half reads and
  // the other (ten times busier) 90% reads: each counts as one host.
  auto d = diff_sides({{"b1", two_stack_profile(1, 1000, 0)},
                       {"t1", two_stack_profile(2, 5, 5)},
                       {"t2", two_stack_profile(3, 100, 900)},
                       {"idle", two_stack_profile(4, 0, 0)}},
                      {"b1"});
  EXPECT_EQ(d.base_hosts, (std::vector<std::string>{"b1"}));
  EXPECT_EQ(d.target_hosts, (std::vector<std::string>{"t1", "t2"}));  // idle had no samples
  EXPECT_EQ(export_diff_folded(d.base, d.target),
            "app;main;work;[syscall read] 0 700000000\n"
            "app;main;work;compute 1000000000 300000000\n");
}

TEST(FleetProfile, DiffSvgIsRedWhereTheShareGrewAndBlueWhereItShrank) {
  REQUIRE_TOOL("xmllint");
  auto d = diff_sides({{"b1", two_stack_profile(1, 80, 20)}, {"t1", two_stack_profile(2, 20, 80)}},
                      {"b1"});
  std::string svg = export_diff_svg(d.base, d.target, {"diff", 1200});
  TempDir dir;
  EXPECT_EQ(run({"xmllint", "--noout", dir.write("diff.svg", svg)}).exit_code, 0);
  auto box = [&](const std::string& title) {
    auto at = svg.find("<title>" + title);
    EXPECT_NE(at, std::string::npos) << title << "\n" << svg;
    if (at == std::string::npos) return std::string();
    auto fill = svg.find("fill=\"", at);
    return svg.substr(fill + 6, svg.find('"', fill + 6) - fill - 6);
  };
  // The largest change is full colour: red (grew), blue (shrank).
  auto rgb = [](const std::string& fill) {
    std::array<int, 3> c{};
    EXPECT_EQ(std::sscanf(fill.c_str(), "rgb(%d,%d,%d)", &c[0], &c[1], &c[2]), 3) << fill;
    return c;
  };
  auto grew = rgb(box("[syscall read] (80.00%, base 20.00%, +60.00 points)"));
  auto shrank = rgb(box("compute (20.00%, base 80.00%, -60.00 points)"));
  auto same = rgb(box("work (100.00%, base 100.00%, +0.00 points)"));
  EXPECT_TRUE(grew[0] > 200 && grew[1] < 60 && grew[2] < 60);    // full red
  EXPECT_TRUE(shrank[2] > 200 && shrank[0] < 60);                // full blue
  EXPECT_TRUE(same[0] > 240 && same[1] > 230 && same[2] > 230);  // near white
}

TEST(FleetProfile, PprofSamplesCarryAHostLabel) {
  REQUIRE_TOOL("python3");
  Profile m = merge_host_profiles(
      {{"web01", two_stack_profile(10, 6, 0)}, {"web02", two_stack_profile(20, 0, 4)}});
  auto data = export_pprof(m);
  ASSERT_TRUE(data) << data.error().describe();
  TempDir dir;
  // protoc --decode_raw prints "host" as a nested message (its bytes parse as
  // one), so the string table is read here by a plain wire-format walk:
  // samples per (label key, label value).
  const char* walk = R"PY(
import gzip, sys
def fields(b):
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        else:
            raise SystemExit("wire type %d" % wt)
        yield f, v
def varint(b, i):
    v = s = 0
    while True:
        c = b[i]; i += 1; v |= (c & 0x7f) << s; s += 7
        if not c & 0x80: return v, i
p = list(fields(gzip.open(sys.argv[1]).read()))
strings = [v.decode() for f, v in p if f == 6]
count = {}
for f, v in p:
    if f != 2: continue
    n = 0
    labels = []
    for g, w in fields(v):
        if g == 2: n = varint(w, 0)[0]
        if g == 3:
            lab = dict(fields(w))
            labels.append((strings[lab.get(1, 0)], strings[lab[2]] if 2 in lab else lab.get(3)))
    for k, val in labels:
        count[(k, val)] = count.get((k, val), 0) + n
for (k, val), n in sorted(count.items()): print(k, val, n)
)PY";
  auto r = run({"python3", "-c", walk, dir.write("f.pb.gz", *data)});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // Merged threads have no tid of their own: no thread_id label.
  EXPECT_EQ(r.out, "host web01 6\nhost web02 4\nthread app 10\n");
}

}  // namespace
}  // namespace sonde::profiler
