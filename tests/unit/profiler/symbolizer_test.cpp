// The symbolizer against ELF files built here at test time: demangled C++
// names, inline chains with call-site lines (checked against eu-addr2line
// over a whole -O2 program), dynsym-only stripped binaries, split debug info
// found by debuglink and by build-id, dwz files, a real debuginfod server,
// and files that are not ELF.
#include "sonde/profiler/symbolizer.h"
#include "sonde/common/ports.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "../../../profiler/src/debug_cache.h"
#include "../../../profiler/src/elf_image.h"
#include "sonde/common/fd.h"
#include "sonde/common/io.h"
#include "sonde/common/subprocess.h"

namespace sonde::profiler {
namespace {

namespace fs = std::filesystem;

// setenv for one test; the old value comes back at scope exit.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/sonde-symbolizer-XXXXXX";
    const char* p = ::mkdtemp(tmpl);
    if (p != nullptr) path = p;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// Runs a shell command; the test fails with its output when it fails.
bool sh(const std::string& cmd, std::string* out = nullptr) {
  auto r = run_capture({"sh", "-c", cmd + " 2>&1"}, 60000);
  if (!r) {
    ADD_FAILURE() << cmd << ": " << r.error().describe();
    return false;
  }
  if (out != nullptr) *out = r->out;
  if (r->exit_code != 0) {
    ADD_FAILURE() << cmd << " exited " << r->exit_code << ":\n" << r->out;
    return false;
  }
  return true;
}

bool have_program(const std::string& name) {
  auto r = run_capture({"sh", "-c", "command -v " + name}, 10000);
  return r && r->exit_code == 0;
}

// 1-based line of the marker comment in a source text.
uint32_t line_of(const std::string& source, const std::string& marker) {
  std::istringstream in(source);
  std::string l;
  for (uint32_t n = 1; std::getline(in, l); ++n)
    if (l.find(marker) != std::string::npos) return n;
  ADD_FAILURE() << "no marker " << marker;
  return 0;
}

struct Sym {
  uint64_t addr = 0;
  uint64_t size = 0;
};

// A symbol's value and size from nm (-D: the dynamic symbol table).
Sym nm_symbol(const std::string& file, const std::string& symbol, bool dynamic = false) {
  std::string out;
  if (!sh(std::string("nm -S --defined-only ") + (dynamic ? "-D " : "") + file, &out)) return {};
  std::istringstream in(out);
  std::string l;
  while (std::getline(in, l)) {
    std::istringstream f(l);
    std::string addr, size, type, name;
    if (f >> addr >> size >> type >> name && name == symbol)
      return {std::stoull(addr, nullptr, 16), std::stoull(size, nullptr, 16)};
  }
  ADD_FAILURE() << "no symbol " << symbol << " in " << file << ":\n" << out;
  return {};
}

std::string build_id(const std::string& file) {
  std::string out;
  if (!sh("readelf -n " + file, &out)) return {};
  auto p = out.find("Build ID: ");
  if (p == std::string::npos) {
    ADD_FAILURE() << file << " has no build-id";
    return {};
  }
  return out.substr(p + 10, out.find('\n', p) - p - 10);
}

// The address after `call <callee>` inside function `in`: the return
// address an unwinder reports for that frame.
uint64_t return_address_after_call(const std::string& file, const std::string& in,
                                   const std::string& callee) {
  std::string out;
  if (!sh("objdump -d --no-show-raw-insn " + file, &out)) return 0;
  std::istringstream s(out);
  std::string l;
  bool inside = false, after_call = false;
  while (std::getline(s, l)) {
    if (l.find(">:") != std::string::npos) inside = l.find("<" + in + ">:") != std::string::npos;
    if (!inside) continue;
    auto colon = l.find(':');
    if (after_call && colon != std::string::npos)
      return std::stoull(l.substr(0, colon), nullptr, 16);
    if (l.find("call") != std::string::npos && l.find("<" + callee + ">") != std::string::npos)
      after_call = true;
  }
  ADD_FAILURE() << "no call to " << callee << " in " << in << ":\n" << out;
  return 0;
}

std::string basename_of(const std::string& p) {
  return fs::path(p).filename().string();
}

bool has_note(const std::vector<std::string>& notes, const std::string& part) {
  for (const auto& n : notes)
    if (n.find(part) != std::string::npos) return true;
  return false;
}

std::string join_notes(const std::vector<std::string>& notes) {
  std::string s;
  for (const auto& n : notes) s += n + "\n";
  return s;
}

const char kCppSource[] = R"(namespace geo {
namespace detail {
template <typename T>
__attribute__((noinline)) T scale(T v, int k) {  // @scale
  return v * k;
}
}  // namespace detail
struct Shape {
  __attribute__((noinline)) int area(int w) const;
};
int Shape::area(int w) const {  // @area
  return detail::scale<long>(w, 3) > 0 ? w : 0;
}
}  // namespace geo
int main(int argc, char**) { return geo::Shape().area(argc); }
)";

const char kInlineSource[] = R"(__attribute__((noinline)) void sink(int v) {
  __asm__ volatile("" : : "r"(v) : "memory");
}
static inline __attribute__((always_inline)) void leaf_step(int v) {
  sink(v * 3);  // @leaf
}
static inline __attribute__((always_inline)) void middle_step(int v) {
  leaf_step(v + 1);  // @middle
}
__attribute__((noinline)) int outer_entry(int v) {
  middle_step(v);  // @outer
  sink(v);         // @after
  return v + 2;
}
int main(int argc, char** argv) {
  (void)argv;
  return outer_entry(argc);
}
)";

const char kPlainSource[] = R"(#include <stdio.h>
__attribute__((noinline)) int exported_work(int v) {  // @work
  printf("%d\n", v);
  return v * 7;
}
int main(int argc, char** argv) {
  (void)argv;
  return exported_work(argc);
}
)";

// Enough of the standard library to inline several levels deep at -O2.
const char kAlgoSource[] = R"(#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>
namespace work {
struct Item {
  int key;
  std::string name;
};
__attribute__((noinline)) std::vector<Item> make(int n) {
  std::vector<Item> v;
  for (int i = 0; i < n; ++i) v.push_back({(i * 7919) % n, "item" + std::to_string(i)});
  return v;
}
__attribute__((noinline)) void order(std::vector<Item>& v) {
  std::sort(v.begin(), v.end(), [](const Item& a, const Item& b) { return a.key < b.key; });
}
__attribute__((noinline)) std::map<int, size_t> index(const std::vector<Item>& v) {
  std::map<int, size_t> m;
  for (const auto& it : v) m[it.key] += it.name.size();
  return m;
}
}  // namespace work
int main(int argc, char**) {
  auto v = work::make(argc * 100);
  work::order(v);
  auto m = work::index(v);
  std::printf("%zu\n", m.size());
}
)";

// Instruction addresses of the functions whose names contain `part`.
std::vector<uint64_t> instructions_of(const std::string& file, const std::string& part) {
  std::string out;
  std::vector<uint64_t> addrs;
  if (!sh("objdump -d --no-show-raw-insn " + file, &out)) return addrs;
  std::istringstream s(out);
  std::string l;
  bool inside = false;
  while (std::getline(s, l)) {
    if (l.find(">:") != std::string::npos) {
      inside = l.find(part) != std::string::npos;
      continue;
    }
    auto colon = l.find(':');
    if (!inside || colon == std::string::npos || l.empty() || l[0] != ' ') continue;
    // Alignment padding between functions belongs to none of them.
    if (l.find("nop", colon) != std::string::npos || l.find("xchg   %ax,%ax") != std::string::npos)
      continue;
    addrs.push_back(std::stoull(l.substr(0, colon), nullptr, 16));
  }
  return addrs;
}

struct OracleFrame {
  std::string name;
  std::string loc;  // file:line
};

// Frames per address, innermost first, from an addr2line-style tool run
// with -a -f -i (eu-addr2line, llvm-symbolizer --output-style=GNU).
std::map<uint64_t, std::vector<OracleFrame>> oracle_frames(const std::string& cmd_prefix,
                                                           const std::vector<uint64_t>& addrs) {
  std::map<uint64_t, std::vector<OracleFrame>> out;
  std::string cmd = cmd_prefix;
  for (uint64_t a : addrs) cmd += fmt::format(" 0x{:x}", a);
  std::string text;
  if (!sh(cmd, &text)) return out;
  std::istringstream s(text);
  std::string l, name;
  uint64_t cur = 0;
  bool want_name = true;
  while (std::getline(s, l)) {
    if (l.rfind("0x", 0) == 0) {
      cur = std::stoull(l, nullptr, 16);
      want_name = true;
      continue;
    }
    if (want_name) {
      name = l.substr(0, l.find(" inlined at "));
      want_name = false;
      continue;
    }
    // file:line:column or file:line; ??:0 when unknown
    std::string loc = l;
    auto c1 = loc.rfind(':');
    auto c2 = c1 == std::string::npos || c1 == 0 ? std::string::npos : loc.rfind(':', c1 - 1);
    if (c2 != std::string::npos && std::isdigit(static_cast<unsigned char>(loc[c2 + 1])))
      loc = loc.substr(0, c1);
    out[cur].push_back({name, loc});
    want_name = true;
  }
  return out;
}

std::vector<std::string> locations(const std::vector<OracleFrame>& frames) {
  std::vector<std::string> v;
  for (const auto& f : frames) v.push_back(f.loc);
  return v;
}

class SymbolizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir.path.empty());
    if (!have_program("cc") || !have_program("c++") || !have_program("objcopy"))
      GTEST_SKIP() << "needs cc, c++ and binutils";
  }

  // Compiles one source file into dir; returns the binary's path.
  std::string build(const std::string& name, const std::string& source, const std::string& lang,
                    const std::string& flags) {
    std::string src = dir / (name + (lang == "c" ? ".c" : ".cpp"));
    write_text(src, source);
    std::string out = dir / name;
    // Built in dir, so split DWARF's .dwo files land there too.
    sh("cd " + dir.path.string() + " && " + (lang == "c" ? "cc" : "c++") + " -Wl,--build-id " +
       flags + " -o " + out + " " + src);
    return out;
  }

  TempDir dir;
  // Tests must not reach the network through the machine's own settings.
  ScopedEnv no_debuginfod{"DEBUGINFOD_URLS", nullptr};
};

TEST_F(SymbolizerTest, DemangledNamesLinesAndOffsets) {
  std::string bin = build("shapes", kCppSource, "c++", "-O0 -g");
  Sym scale = nm_symbol(bin, "_ZN3geo6detail5scaleIlEET_S2_i");
  Sym area = nm_symbol(bin, "_ZNK3geo5Shape4areaEi");
  ASSERT_NE(scale.addr, 0u);
  ASSERT_NE(area.addr, 0u);

  Symbolizer s;
  ModuleRef m{bin, "/opt/app/shapes", build_id(bin)};
  auto f = s.symbolize(m, scale.addr, false);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].function, "long geo::detail::scale<long>(long, int)");
  EXPECT_EQ(f[0].kind, FrameKind::kCode);
  EXPECT_EQ(f[0].module, "/opt/app/shapes");
  EXPECT_EQ(f[0].rel, scale.addr);
  EXPECT_EQ(f[0].sym_offset, 0u);
  EXPECT_EQ(basename_of(f[0].file), "shapes.cpp");
  EXPECT_EQ(f[0].line, line_of(kCppSource, "@scale"));
  EXPECT_FALSE(f[0].inlined);

  f = s.symbolize(m, area.addr + 4, false);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].function, "geo::Shape::area(int) const");
  EXPECT_EQ(f[0].sym_offset, 4u);
  EXPECT_EQ(f[0].rel, area.addr + 4);

  // A return address one past the function's last byte (a call as its last
  // instruction) still belongs to it; sym_offset counts from the real address.
  f = s.symbolize(m, scale.addr + scale.size, true);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].function, "long geo::detail::scale<long>(long, int)");
  EXPECT_EQ(f[0].sym_offset, scale.size);
  EXPECT_EQ(f[0].rel, scale.addr + scale.size);

  EXPECT_TRUE(s.take_notes().empty());
}

TEST_F(SymbolizerTest, InlineChainWithCallSiteLines) {
  // With -gsplit-dwarf the functions live in a .dwo unit next to the binary.
  for (const std::string variant : {"", "-gsplit-dwarf"}) {
    SCOPED_TRACE("flags: " + variant);
    std::string bin = build(variant.empty() ? "inline" : "inline_split", kInlineSource, "c",
                            "-O2 -g -fno-optimize-sibling-calls " + variant);
    uint64_t ret = return_address_after_call(bin, "outer_entry", "sink");
    ASSERT_NE(ret, 0u);

    Symbolizer s;
    ModuleRef m{bin, bin, build_id(bin)};
    // The same chain for the return address (looked up at ret - 1) and for
    // the call instruction's own address (looked up as is).
    for (bool is_return : {true, false}) {
      uint64_t addr = is_return ? ret : ret - 1;
      SCOPED_TRACE(is_return ? "return address" : "call instruction");
      auto f = s.symbolize(m, addr, is_return);
      ASSERT_EQ(f.size(), 3u);
      EXPECT_EQ(f[0].function, "leaf_step");
      EXPECT_EQ(f[0].line, line_of(kInlineSource, "@leaf"));
      EXPECT_TRUE(f[0].inlined);
      EXPECT_EQ(f[1].function, "middle_step");
      EXPECT_EQ(f[1].line, line_of(kInlineSource, "@middle"));
      EXPECT_TRUE(f[1].inlined);
      EXPECT_EQ(f[2].function, "outer_entry");
      EXPECT_EQ(f[2].line, line_of(kInlineSource, "@outer"));
      EXPECT_FALSE(f[2].inlined);
      for (const auto& fr : f) {
        EXPECT_EQ(basename_of(fr.file), basename_of(bin) + ".c");
        EXPECT_EQ(fr.rel, addr);
        EXPECT_EQ(fr.module, bin);
      }
      EXPECT_EQ(f[2].sym_offset, addr - nm_symbol(bin, "outer_entry").addr);
    }
    // The return address itself is already the next statement: without
    // is_return the caller would be charged to the wrong line.
    auto f = s.symbolize(m, ret, false);
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].function, "outer_entry");
    EXPECT_EQ(f[0].line, line_of(kInlineSource, "@after"));
  }
}

// Every instruction of a -O2 C++ program against eu-addr2line -i: the same
// frames, files and lines, and the same names for inlined frames (the real
// function's name comes from the symbol table, theirs from DWARF). Where
// 0.188's eu-addr2line picks a sibling inlined instance whose range ends at
// the address, llvm-symbolizer (when installed) breaks the tie.
TEST_F(SymbolizerTest, InlineChainsMatchEuAddr2line) {
  if (!have_program("eu-addr2line"))
    GTEST_SKIP() << "needs eu-addr2line (apt-get install elfutils)";
  std::string bin = build("algo", kAlgoSource, "c++", "-O2 -g");
  std::vector<uint64_t> addrs = instructions_of(bin, "work");
  ASSERT_GT(addrs.size(), 1000u);
  auto eu = oracle_frames("eu-addr2line -a -f -i -C -e " + bin, addrs);
  ASSERT_EQ(eu.size(), addrs.size());
  bool have_llvm = have_program("llvm-symbolizer");
  std::map<uint64_t, std::vector<OracleFrame>> llvm;
  if (have_llvm)
    llvm = oracle_frames("llvm-symbolizer --output-style=GNU -a -f -i --obj=" + bin, addrs);

  Symbolizer s;
  ModuleRef m{bin, bin, build_id(bin)};
  size_t deepest = 0, mismatches = 0, eu_disagrees = 0;
  for (uint64_t a : addrs) {
    auto frames = s.symbolize(m, a, false);
    deepest = std::max(deepest, frames.size());
    std::vector<std::string> ours;
    for (const auto& f : frames) ours.push_back(f.file + ":" + std::to_string(f.line));
    EXPECT_FALSE(frames.back().function.empty()) << fmt::format("0x{:x}", a);
    for (size_t i = 0; i < frames.size(); ++i) EXPECT_EQ(frames[i].inlined, i + 1 < frames.size());

    std::string why;
    if (ours == locations(eu[a])) {
      for (size_t i = 0; i + 1 < frames.size(); ++i)
        if (frames[i].function != eu[a][i].name)
          why = "inlined frame " + std::to_string(i) + ": " + frames[i].function + " vs " +
                eu[a][i].name;
    } else {
      ++eu_disagrees;
      if (have_llvm && ours != locations(llvm[a]))
        why = fmt::format("ours:\n  {}\neu-addr2line:\n  {}\nllvm-symbolizer:\n  {}",
                          fmt::join(ours, "\n  "), fmt::join(locations(eu[a]), "\n  "),
                          fmt::join(locations(llvm[a]), "\n  "));
    }
    if (!why.empty() && ++mismatches <= 5) ADD_FAILURE() << fmt::format("0x{:x}: ", a) << why;
  }
  EXPECT_EQ(mismatches, 0u) << "of " << addrs.size();
  // Without the tie-breaker, eu-addr2line's few boundary picks are let through.
  if (!have_llvm) {
    EXPECT_LE(eu_disagrees * 100, addrs.size()) << eu_disagrees << " disagree";
  }
  EXPECT_GE(deepest, 6u);  // std::sort and friends inline deeply
}

TEST_F(SymbolizerTest, StrippedBinaryNamesFromDynsymAndOneNote) {
  std::string bin = build("plain", kPlainSource, "c", "-O0 -g -rdynamic");
  ASSERT_TRUE(sh("strip " + bin));
  Sym work = nm_symbol(bin, "exported_work", true);
  ASSERT_NE(work.addr, 0u);
  std::string id = build_id(bin);

  Symbolizer s;
  ModuleRef m{bin, "/usr/bin/plain", id};
  auto f = s.symbolize(m, work.addr + 2, false);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].function, "exported_work");
  EXPECT_EQ(f[0].sym_offset, 2u);
  EXPECT_EQ(f[0].line, 0u);
  EXPECT_EQ(f[0].file, "");
  auto notes = s.take_notes();
  ASSERT_EQ(notes.size(), 1u) << join_notes(notes);
  EXPECT_EQ(notes[0], "no debug info for /usr/bin/plain (build-id " + id +
                          "): install its -dbgsym package or set DEBUGINFOD_URLS");
  // Given once per module, however many lookups miss.
  s.symbolize(m, work.addr + 3, false);
  EXPECT_TRUE(s.take_notes().empty());
  // Nothing to install for the vdso's lines: no note.
  Symbolizer v;
  EXPECT_EQ(v.symbolize({bin, "[vdso]", id}, work.addr, false).at(0).function, "exported_work");
  EXPECT_TRUE(v.take_notes().empty());
}

TEST_F(SymbolizerTest, SplitDebugInfoFoundByDebuglink) {
  std::string bin = build("split", kPlainSource, "c", "-O0 -g");
  Sym work = nm_symbol(bin, "exported_work");
  ASSERT_TRUE(sh("cd " + dir.path.string() + " && objcopy --only-keep-debug split split.debug" +
                 " && strip --strip-debug split && objcopy --add-gnu-debuglink=split.debug split"));
  ModuleRef m{bin, bin, build_id(bin)};
  {
    Symbolizer s;  // next to the binary
    auto f = s.symbolize(m, work.addr, false);
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].function, "exported_work");
    EXPECT_EQ(f[0].line, line_of(kPlainSource, "@work"));
    EXPECT_EQ(basename_of(f[0].file), "split.c");
    EXPECT_TRUE(s.take_notes().empty());
  }
  fs::create_directory(dir.path / ".debug");
  fs::rename(dir / "split.debug", dir / ".debug/split.debug");
  {
    Symbolizer s;  // in .debug/ below it
    auto f = s.symbolize(m, work.addr, false);
    EXPECT_EQ(f.at(0).line, line_of(kPlainSource, "@work"));
  }
  // A debug file of that name but from another build is not used.
  std::string other = build("other", "\n\n\n" + std::string(kPlainSource), "c", "-O0 -g");
  ASSERT_TRUE(sh("objcopy --only-keep-debug " + other + " " + (dir / ".debug/split.debug")));
  {
    Symbolizer s;
    auto f = s.symbolize(m, work.addr, false);
    EXPECT_EQ(f.at(0).function, "exported_work");  // .symtab is still in the binary
    EXPECT_EQ(f.at(0).line, 0u);
    auto notes = s.take_notes();
    EXPECT_TRUE(has_note(notes, "no debug info for " + bin)) << join_notes(notes);
  }
}

// Without a build-id the debuglink's CRC decides which file is the one.
TEST_F(SymbolizerTest, DebuglinkCheckedByCrcWithoutBuildId) {
  std::string bin = build("noid", kPlainSource, "c", "-O0 -g -Wl,--build-id=none");
  Sym work = nm_symbol(bin, "exported_work");
  std::string notes_out;
  ASSERT_TRUE(sh("readelf -n " + bin, &notes_out));
  ASSERT_EQ(notes_out.find("Build ID"), std::string::npos);
  ASSERT_TRUE(sh("cd " + dir.path.string() + " && objcopy --only-keep-debug noid noid.debug" +
                 " && strip --strip-debug noid && objcopy --add-gnu-debuglink=noid.debug noid"));
  ModuleRef m{bin, bin, ""};
  {
    Symbolizer s;
    EXPECT_EQ(s.symbolize(m, work.addr, false).at(0).line, line_of(kPlainSource, "@work"));
  }
  std::string other =
      build("other", "\n\n\n" + std::string(kPlainSource), "c", "-O0 -g -Wl,--build-id=none");
  ASSERT_TRUE(sh("objcopy --only-keep-debug " + other + " " + (dir / "noid.debug")));
  {
    Symbolizer s;
    auto f = s.symbolize(m, work.addr, false);
    EXPECT_EQ(f.at(0).function, "exported_work");
    EXPECT_EQ(f.at(0).line, 0u);
    auto notes = s.take_notes();
    ASSERT_EQ(notes.size(), 1u) << join_notes(notes);
    EXPECT_EQ(notes[0], "no debug info for " + bin + " (no build-id): install its -dbgsym package");
  }
}

TEST_F(SymbolizerTest, SplitDebugInfoFoundByBuildId) {
  if (::access("/usr/lib/debug", W_OK) != 0 && ::geteuid() != 0)
    GTEST_SKIP() << "needs write access to /usr/lib/debug (run as root)";
  std::string bin = build("byid", kPlainSource, "c", "-O0 -g");
  Sym work = nm_symbol(bin, "exported_work");
  std::string id = build_id(bin);
  ASSERT_GT(id.size(), 2u);
  fs::path debug_dir = fs::path("/usr/lib/debug/.build-id") / id.substr(0, 2);
  fs::path debug_file = debug_dir / (id.substr(2) + ".debug");
  fs::create_directories(debug_dir);
  struct Remove {
    fs::path p;
    ~Remove() {
      std::error_code ec;
      fs::remove(p, ec);
      fs::remove(p.parent_path(), ec);  // only when empty
    }
  } remove{debug_file};
  ASSERT_TRUE(sh("objcopy --only-keep-debug " + bin + " " + debug_file.string() +
                 " && strip --strip-all " + bin));  // no .symtab, no debuglink

  Symbolizer s;
  auto f = s.symbolize({bin, bin, id}, work.addr, false);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].function, "exported_work");  // from the debug file's .symtab
  EXPECT_EQ(f[0].line, line_of(kPlainSource, "@work"));
  EXPECT_TRUE(s.take_notes().empty());
}

TEST_F(SymbolizerTest, GarbageTruncatedAndMissingFilesGiveOneEmptyFrame) {
  std::string good = build("good", kPlainSource, "c", "-O0 -g");
  write_text(dir / "garbage", std::string(4096, 'x'));
  auto bytes = read_file(good);
  ASSERT_TRUE(bytes.ok());
  write_text(dir / "truncated", bytes->substr(0, 100));
  write_text(dir / "headers_only", bytes->substr(0, 1000));
  std::string half = bytes->substr(0, bytes->size() / 2);
  write_text(dir / "half", half);

  Symbolizer s;
  for (const std::string name : {"garbage", "truncated", "headers_only", "half", "missing"}) {
    SCOPED_TRACE(name);
    ModuleRef m{dir / name, "/lib/" + name, ""};
    auto f = s.symbolize(m, 0x1139, false);
    ASSERT_GE(f.size(), 1u);
    EXPECT_EQ(f.back().kind, FrameKind::kCode);
    EXPECT_EQ(f.back().module, "/lib/" + name);
    EXPECT_EQ(f.back().rel, 0x1139u);
    if (name != "half") {
      ASSERT_EQ(f.size(), 1u);
      EXPECT_EQ(f[0].function, "");
    }
    s.symbolize(m, 0x2000, true);
  }
  auto notes = s.take_notes();
  EXPECT_TRUE(has_note(notes, "cannot read /lib/garbage: not a valid ELF file"))
      << join_notes(notes);
  EXPECT_TRUE(has_note(notes, "cannot read /lib/truncated: ")) << join_notes(notes);
  EXPECT_TRUE(has_note(notes, "cannot read /lib/missing: No such file or directory"))
      << join_notes(notes);
}

// Names from a hostile file still make valid JSON: bytes that are not
// UTF-8 become '?'.
TEST_F(SymbolizerTest, InvalidUtf8InNamesIsReplaced) {
  std::string bin = build("utf8", kPlainSource, "c", "-O0");
  Sym work = nm_symbol(bin, "exported_work");
  auto bytes = read_file(bin);
  ASSERT_TRUE(bytes.ok());
  std::string data = *bytes;
  // Every copy of the name (.symtab's string table, .dynstr when exported).
  for (size_t p = 0; (p = data.find("exported_work", p)) != std::string::npos; ++p) {
    data[p] = '\xff';
    data[p + 1] = '\xc0';
  }
  write_text(bin, data);
  Symbolizer s;
  auto f = s.symbolize({bin, bin, ""}, work.addr, false);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].function, "??ported_work");
  EXPECT_NO_THROW((void)to_json(f[0]).dump());
}

TEST_F(SymbolizerTest, CachedPerBuildIdAndAddress) {
  std::string bin = build("cached", kCppSource, "c++", "-O0 -g");
  Sym area = nm_symbol(bin, "_ZNK3geo5Shape4areaEi");
  std::string id = build_id(bin);
  Symbolizer s;
  auto a = s.symbolize({bin, "/proc/10/root/app", id}, area.addr, false);
  auto b = s.symbolize({bin + "-other-path", "/proc/20/root/app", id}, area.addr, false);
  auto c = s.symbolize({bin, "/proc/10/root/app", id}, area.addr, true);
  EXPECT_EQ(a.at(0).function, b.at(0).function);
  EXPECT_EQ(b.at(0).module, "/proc/20/root/app");
  SymbolizerStats st = s.stats();
  EXPECT_EQ(st.modules, 1u);
  EXPECT_EQ(st.lookups, 3u);
  EXPECT_EQ(st.cache_hits, 1u);
  // Without a build-id the path is the key.
  s.symbolize({bin, bin, ""}, area.addr, false);
  EXPECT_EQ(s.stats().modules, 2u);
}

// A stand-in debuginfod-find that logs its arguments and has nothing.
TEST_F(SymbolizerTest, DebuginfodMissAskedOncePerBuildId) {
  std::string bin = build("nodebug", kPlainSource, "c", "-O0 -g -rdynamic");
  ASSERT_TRUE(sh("strip " + bin));
  fs::create_directory(dir.path / "bin");
  std::string log = dir / "asked.log";
  write_text(dir / "bin/debuginfod-find", "#!/bin/sh\necho \"$@\" >> " + log +
                                              "\necho 'Server query failed: No such file or "
                                              "directory' >&2\nexit 1\n");
  fs::permissions(dir / "bin/debuginfod-find", fs::perms::owner_all);
  std::string path = (dir / "bin") + ":" + ::getenv("PATH");
  ScopedEnv p("PATH", path.c_str());
  ScopedEnv u("DEBUGINFOD_URLS", "http://127.0.0.1:9");
  std::string id = build_id(bin);
  Sym work = nm_symbol(bin, "exported_work", true);

  Symbolizer s;
  EXPECT_EQ(s.symbolize({bin, bin, id}, work.addr, false).at(0).function, "exported_work");
  EXPECT_EQ(s.symbolize({bin, bin, id}, work.addr + 1, false).at(0).function, "exported_work");
  auto asked = read_file(log);
  ASSERT_TRUE(asked.ok());
  EXPECT_EQ(*asked, "debuginfo " + id + "\n");
  auto notes = s.take_notes();
  ASSERT_EQ(notes.size(), 1u) << join_notes(notes);
  EXPECT_EQ(notes[0], "no debug info for " + bin + " (build-id " + id +
                          "): debuginfod has none (Server query failed: No such file or "
                          "directory); install its -dbgsym package");
}

TEST_F(SymbolizerTest, DebuginfodFindMissingGivesInstallHint) {
  std::string bin = build("noclient", kPlainSource, "c", "-O0");
  std::string id = build_id(bin);
  Sym work = nm_symbol(bin, "exported_work");
  fs::create_directory(dir.path / "empty");
  ScopedEnv p("PATH", (dir / "empty").c_str());
  ScopedEnv u("DEBUGINFOD_URLS", "http://127.0.0.1:9");
  Symbolizer s;
  auto f = s.symbolize({bin, bin, id}, work.addr, false);
  EXPECT_EQ(f.at(0).function, "exported_work");
  auto notes = s.take_notes();
  ASSERT_EQ(notes.size(), 2u) << join_notes(notes);
  EXPECT_EQ(
      notes[0],
      "DEBUGINFOD_URLS not used: debuginfod-find is not installed; apt-get install debuginfod");
  EXPECT_EQ(notes[1],
            "no debug info for " + bin + " (build-id " + id + "): install its -dbgsym package");
}

// Nothing listens on port 9: one refused fetch stops all further ones.
TEST_F(SymbolizerTest, DebuginfodUnreachableStopsAsking) {
  std::string real;
  if (!have_program("debuginfod-find") || !sh("command -v debuginfod-find", &real))
    GTEST_SKIP() << "needs debuginfod-find";
  std::string a = build("first", kPlainSource, "c", "-O0");
  std::string b = build("second", std::string(kPlainSource) + "int second;\n", "c", "-O0");
  Sym wa = nm_symbol(a, "exported_work"), wb = nm_symbol(b, "exported_work");
  std::string ia = build_id(a), ib = build_id(b);
  // The real debuginfod-find behind a wrapper that logs each call.
  fs::create_directory(dir.path / "bin");
  std::string log = dir / "asked.log";
  write_text(dir / "bin/debuginfod-find", "#!/bin/sh\necho \"$@\" >> " + log + "\nexec " +
                                              real.substr(0, real.find('\n')) + " \"$@\"\n");
  fs::permissions(dir / "bin/debuginfod-find", fs::perms::owner_all);
  std::string path = (dir / "bin") + ":" + ::getenv("PATH");
  ScopedEnv p("PATH", path.c_str());
  ScopedEnv u("DEBUGINFOD_URLS", "http://127.0.0.1:9");
  ScopedEnv cache("DEBUGINFOD_CACHE_PATH", (dir / "cache").c_str());

  Symbolizer s;
  EXPECT_EQ(s.symbolize({a, a, ia}, wa.addr, false).at(0).function, "exported_work");
  EXPECT_EQ(s.symbolize({b, b, ib}, wb.addr, false).at(0).function, "exported_work");
  auto asked = read_file(log);
  ASSERT_TRUE(asked.ok());
  EXPECT_EQ(*asked, "debuginfo " + ia + "\n");
  auto notes = s.take_notes();
  ASSERT_EQ(notes.size(), 3u) << join_notes(notes);
  EXPECT_EQ(notes[0],
            "DEBUGINFOD_URLS not used: Server query failed: Connection refused; check "
            "DEBUGINFOD_URLS and that the server is reachable");
  EXPECT_EQ(notes[1],
            "no debug info for " + a + " (build-id " + ia + "): install its -dbgsym package");
  EXPECT_EQ(notes[2],
            "no debug info for " + b + " (build-id " + ib + "): install its -dbgsym package");
}

// A real debuginfod on 127.0.0.1, killed (and waited for) at scope exit.
struct DebuginfodServer {
  Child child;
  std::string url;
  ~DebuginfodServer() {
    child.kill(SIGTERM);
    if (!child.wait(3000)) {
      child.kill(SIGKILL);
      child.wait(-1);
    }
  }
};

// Serves dir/served; returns once it serves the debuginfo of build_id
// (bounded), nullptr with a test failure otherwise.
std::unique_ptr<DebuginfodServer> start_debuginfod(const TempDir& dir, const std::string& id) {
  int port = sonde::free_loopback_port();
  if (port == 0) {
    ADD_FAILURE() << "no free port";
    return nullptr;
  }
  SpawnOptions o;
  o.pipe_stdin = false;
  o.pipe_stdout = false;
  auto c = spawn({"sh", "-c",
                  "exec debuginfod -vvv -p " + std::to_string(port) + " -d " + (dir / "db.sqlite") +
                      " -t 0 -g 0 -F " + (dir / "served") + " > " + (dir / "server.log") + " 2>&1"},
                 o);
  if (!c) {
    ADD_FAILURE() << c.error().describe();
    return nullptr;
  }
  auto server = std::make_unique<DebuginfodServer>();
  server->child = std::move(*c);
  server->url = "http://127.0.0.1:" + std::to_string(port);
  // Until the server has scanned the directory. Each try gets an empty
  // cache: debuginfod-find remembers a miss for ten minutes.
  std::string cache = dir / "poll-cache";
  std::string cmd = "DEBUGINFOD_URLS=" + server->url + " DEBUGINFOD_CACHE_PATH=" + cache +
                    " debuginfod-find debuginfo " + id + " 2>/dev/null";
  for (long deadline = monotonic_ms() + 30000; monotonic_ms() < deadline; ::usleep(200 * 1000)) {
    std::error_code ec;
    fs::remove_all(cache, ec);
    auto r = run_capture({"sh", "-c", cmd}, 10000);
    if (r && r->exit_code == 0) return server;
  }
  auto log = read_file(dir / "server.log");
  ADD_FAILURE() << "debuginfod never served " << id << ":\n" << (log ? *log : "");
  return nullptr;
}

TEST_F(SymbolizerTest, DebuginfodServerSuppliesDebugInfo) {
  if (!have_program("debuginfod") || !have_program("debuginfod-find"))
    GTEST_SKIP() << "needs debuginfod and debuginfod-find (apt-get install debuginfod)";
  std::string bin = build("remote", kPlainSource, "c", "-O0 -g");
  Sym work = nm_symbol(bin, "exported_work");
  std::string id = build_id(bin);
  fs::create_directory(dir.path / "served");
  // The debug file lives only on the server; the binary keeps no symbols
  // and no debuglink.
  ASSERT_TRUE(sh("objcopy --only-keep-debug " + bin + " " + (dir / "served/remote.debug") +
                 " && strip --strip-all " + bin));
  auto server = start_debuginfod(dir, id);
  ASSERT_TRUE(server);

  ScopedEnv u("DEBUGINFOD_URLS", server->url.c_str());
  // A fresh cache: the symbolizer's fetch really goes over HTTP.
  ScopedEnv cache("DEBUGINFOD_CACHE_PATH", (dir / "cache").c_str());
  Symbolizer s;
  auto f = s.symbolize({bin, bin, id}, work.addr, false);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].function, "exported_work");
  EXPECT_EQ(f[0].line, line_of(kPlainSource, "@work"));
  EXPECT_EQ(basename_of(f[0].file), "remote.c");
  EXPECT_TRUE(s.take_notes().empty());
  EXPECT_TRUE(fs::exists(dir.path / "cache" / id / "debuginfo"));
  // sonde fetched it; libdw's own client never loaded.
  EXPECT_EQ(::dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_NOLOAD), nullptr);
}

const char kSharedHeader[] = R"(#include <string>
#include <vector>
namespace shared {
struct Rec {
  int k;
  std::string s;
};
static inline __attribute__((always_inline)) int weigh(const Rec& r) {
  return r.k * 3 + static_cast<int>(r.s.size());  // @weigh
}
__attribute__((noinline)) inline int total(const std::vector<Rec>& v) {
  int t = 0;
  for (const auto& r : v) t += weigh(r);  // @total
  return t;
}
}  // namespace shared
)";

std::string shared_main(int n) {
  return "#include \"shared.h\"\nint main(int c, char**) {\n  std::vector<shared::Rec> v{{c, "
         "\"x\"}};\n"
         "  return shared::total(v) + " +
         std::to_string(n) + ";\n}\n";
}

// Whether some instruction of shared::total shows weigh() inlined into it
// with both lines: the inlined function's name lives in the dwz file.
bool finds_weigh(Symbolizer& s, const ModuleRef& m, const std::vector<uint64_t>& addrs) {
  for (uint64_t a : addrs) {
    auto f = s.symbolize(m, a, false);
    if (f.size() == 2 && f[0].function == "weigh" && f[0].inlined &&
        f[0].line == line_of(kSharedHeader, "@weigh") &&
        f[1].line == line_of(kSharedHeader, "@total"))
      return true;
  }
  return false;
}

// Debian's debug packages are dwz-compressed: DIEs shared by several
// binaries move to one file named by .gnu_debugaltlink (path + build-id).
class DwzTest : public SymbolizerTest {
 protected:
  void SetUp() override {
    SymbolizerTest::SetUp();
    if (IsSkipped()) return;
    if (!have_program("dwz")) GTEST_SKIP() << "needs dwz (apt-get install dwz)";
    write_text(dir / "shared.h", kSharedHeader);
    one = build("one", shared_main(1), "c++", "-O2 -g");
    std::string two = build("two", shared_main(2), "c++", "-O2 -g");
    ASSERT_TRUE(sh("cd " + dir.path.string() + " && dwz -m common.debug -M " +
                   (dir / "common.debug") + " one two"));
    id = build_id(one);
    total = instructions_of(one, "_ZN6shared5total");  // while it has symbols
    ASSERT_FALSE(total.empty());
  }
  std::string one, id;
  std::vector<uint64_t> total;
};

TEST_F(DwzTest, AltFileFoundByItsPath) {
  {
    Symbolizer s;
    EXPECT_TRUE(finds_weigh(s, {one, one, id}, total));
    EXPECT_TRUE(s.take_notes().empty());
  }
  // Without it the chain is there but the inlined name is not.
  fs::rename(dir / "common.debug", dir / "elsewhere.debug");
  Symbolizer s;
  EXPECT_FALSE(finds_weigh(s, {one, one, id}, total));
}

TEST_F(DwzTest, AltFileFetchedFromDebuginfod) {
  if (!have_program("debuginfod") || !have_program("debuginfod-find"))
    GTEST_SKIP() << "needs debuginfod and debuginfod-find (apt-get install debuginfod)";
  fs::create_directory(dir.path / "served");
  ASSERT_TRUE(sh("cd " + dir.path.string() + " && objcopy --only-keep-debug one served/one.debug" +
                 " && strip --strip-all one && mv common.debug served/"));
  auto server = start_debuginfod(dir, id);
  ASSERT_TRUE(server);
  ScopedEnv u("DEBUGINFOD_URLS", server->url.c_str());
  ScopedEnv cache("DEBUGINFOD_CACHE_PATH", (dir / "cache").c_str());
  Symbolizer s;
  EXPECT_TRUE(finds_weigh(s, {one, one, id}, total));
  EXPECT_TRUE(s.take_notes().empty());
  size_t fetched = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir.path / "cache", ec))
    fetched += fs::exists(e.path() / "debuginfo");
  EXPECT_EQ(fetched, 2u);  // the debug file, then its dwz file
}

// ---------------------------------------------------------------------------
// The debug cache: compressed DWARF (what distributions ship) is read from an
// uncompressed copy kept by build-id, and DWARF results are kept for the
// next run. Results must be exactly what the compressed file itself gives.

bool same_frames(const std::vector<Frame>& a, const std::vector<Frame>& b, std::string* why) {
  if (a.size() != b.size()) {
    *why = fmt::format("{} frames vs {}", a.size(), b.size());
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].function != b[i].function || a[i].file != b[i].file || a[i].line != b[i].line ||
        a[i].inlined != b[i].inlined || a[i].sym_offset != b[i].sym_offset) {
      *why = fmt::format("frame {}: {} {}:{} vs {} {}:{}", i, a[i].function, a[i].file, a[i].line,
                         b[i].function, b[i].file, b[i].line);
      return false;
    }
  }
  return true;
}

size_t count_compressed_sections(const std::string& file) {
  std::string out;
  if (!sh("readelf -S -W " + file +
              " | grep -c '^ *\\[.*\\] \\.\\(z\\)\\?debug.* [A-Z]*C[A-Z]* ' || true",
          &out))
    return 0;
  return std::strtoul(out.c_str(), nullptr, 10);
}

class DebugCacheTest : public SymbolizerTest {
 protected:
  void SetUp() override {
    SymbolizerTest::SetUp();
    if (IsSkipped()) return;
    plain = build("algo", kAlgoSource, "c++", "-O2 -g");
    for (const char* how : {"zlib", "zstd"}) {
      std::string z = plain + "-" + how;
      if (!sh("objcopy --compress-debug-sections=" + std::string(how) + " " + plain + " " + z))
        return;
      compressed[how] = z;
    }
    ASSERT_GT(count_compressed_sections(compressed["zlib"]), 2u);
    id = build_id(plain);
    ASSERT_EQ(build_id(compressed["zlib"]), id);  // objcopy keeps the note
    std::vector<uint64_t> all = instructions_of(plain, "work");
    ASSERT_GT(all.size(), 100u);
    for (size_t i = 0; i < all.size(); i += 7) addrs.push_back(all[i]);
    Symbolizer ref;  // no cache, the uncompressed original
    for (uint64_t a : addrs) expected.push_back(ref.symbolize({plain, plain, id}, a, false));
  }

  // Every address against the reference; false on the first difference.
  bool matches(Symbolizer& s, const std::string& file) {
    for (size_t i = 0; i < addrs.size(); ++i) {
      std::string why;
      if (!same_frames(s.symbolize({file, file, id}, addrs[i], false), expected[i], &why)) {
        ADD_FAILURE() << fmt::format("{} at 0x{:x}: {}", file, addrs[i], why);
        return false;
      }
    }
    return true;
  }

  std::string cache_dir() const { return dir / "cache"; }

  std::string plain, id;
  std::map<std::string, std::string> compressed;
  std::vector<uint64_t> addrs;
  std::vector<std::vector<Frame>> expected;
};

TEST_F(DebugCacheTest, CompressedSectionsReadFromAnUncompressedCopy) {
  for (const auto& [how, file] : compressed) {
    SCOPED_TRACE(how);
    std::error_code ec;
    fs::remove_all(cache_dir(), ec);
    {
      Symbolizer s(cache_dir());
      ASSERT_TRUE(matches(s, file));
      EXPECT_EQ(s.stats().debug_cache_written, 1u);
      EXPECT_TRUE(s.take_notes().empty());
    }
    std::string copy = cache_dir() + "/" + id + ".debug";
    ASSERT_TRUE(fs::exists(copy));
    EXPECT_EQ(count_compressed_sections(copy), 0u);
    EXPECT_EQ(build_id(copy), id);
    // Real tools read the copy as the ELF it is.
    std::string out;
    EXPECT_TRUE(sh("readelf --debug-dump=info " + copy + " | grep -c DW_TAG_subprogram", &out));
    EXPECT_GT(std::strtoul(out.c_str(), nullptr, 10), 3u);

    // The next run: DWARF results come from the results file, and what is
    // not in it from the copy, never inflating again.
    fs::remove(cache_dir() + "/" + id + ".sym", ec);
    Symbolizer again(cache_dir());
    ASSERT_TRUE(matches(again, file));
    EXPECT_EQ(again.stats().debug_cache_hits, 1u);
    EXPECT_EQ(again.stats().debug_cache_written, 0u);
  }
}

TEST_F(DebugCacheTest, ResultsOfOneRunAnswerTheNext) {
  const std::string& file = compressed["zlib"];
  {
    Symbolizer s(cache_dir());
    ASSERT_TRUE(matches(s, file));
    s.take_notes();  // the end of a request writes the results
  }
  std::string sym = cache_dir() + "/" + id + ".sym";
  ASSERT_TRUE(fs::exists(sym));
  Symbolizer next(cache_dir());
  ASSERT_TRUE(matches(next, file));
  EXPECT_EQ(next.stats().results_loaded, addrs.size());
  EXPECT_EQ(next.stats().cache_hits, addrs.size());  // no DWARF looked at

  // A torn last line (a crash mid-append) and garbage lines are skipped;
  // the rest still answers.
  std::string text = read_file(sym, 16 << 20).value();
  size_t first_nl = text.find('\n');
  std::string mangled =
      "not json\n{\"a\":1}\n" + text.substr(first_nl + 1) + text.substr(0, first_nl / 2);
  write_text(sym, mangled);
  Symbolizer torn(cache_dir());
  ASSERT_TRUE(matches(torn, file));
  EXPECT_EQ(torn.stats().results_loaded, addrs.size() - 1);
}

TEST_F(DebugCacheTest, DamagedCopyIsReplaced) {
  const std::string& file = compressed["zlib"];
  {
    Symbolizer s(cache_dir());
    ASSERT_TRUE(matches(s, file));
  }
  std::string copy = cache_dir() + "/" + id + ".debug";
  std::error_code ec;
  fs::remove(cache_dir() + "/" + id + ".sym", ec);
  write_text(copy, "garbage, not an ELF file");
  Symbolizer s(cache_dir());
  ASSERT_TRUE(matches(s, file));
  EXPECT_EQ(s.stats().debug_cache_written, 1u);
  EXPECT_EQ(count_compressed_sections(copy), 0u);
}

TEST_F(DebugCacheTest, UnwritableCacheOnlyCostsTime) {
  // zlib: libdw 0.188 reads it itself, slowly. (It cannot read zstd at all;
  // through the copy, zstd works too: see the first test.)
  const std::string& file = compressed["zlib"];
  write_text(dir / "a-file", "x");
  Symbolizer s(dir / "a-file/cache");  // cannot be created
  ASSERT_TRUE(matches(s, file));
  EXPECT_EQ(s.stats().debug_cache_written, 0u);
  Symbolizer off;  // and with no cache at all
  ASSERT_TRUE(matches(off, file));
}

TEST_F(DebugCacheTest, GarbageAndTruncatedFilesAreRefusedNotCrashedOn) {
  std::string z = compressed["zlib"];
  std::string text = read_file(z, 64 << 20).value();
  ScopedFd null(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  // Truncated anywhere, and bytes flipped in the headers and data.
  std::mt19937 rng(4242);
  for (int i = 0; i < 300; ++i) {
    std::string bad = text;
    if (i % 3 == 0) {
      bad.resize(rng() % bad.size());
    } else {
      for (int k = 0; k < 8; ++k)
        bad[rng() % std::min<size_t>(bad.size(), i % 2 ? 4096 : bad.size())] ^=
            static_cast<char>(1 + rng() % 255);
    }
    std::string f = dir / "bad";
    write_text(f, bad);
    ScopedFd in(::open(f.c_str(), O_RDONLY | O_CLOEXEC));
    ScopedFd out(::open((dir / "out").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    write_uncompressed_elf(in.get(), out.get(), uint64_t{64} << 20);  // must return
    Symbolizer s(cache_dir());
    s.symbolize({f, f, id}, addrs[0], false);  // must not crash
  }
  // A size cap refuses instead of writing.
  ScopedFd in(::open(z.c_str(), O_RDONLY | O_CLOEXEC));
  ScopedFd out(::open((dir / "out").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  EXPECT_EQ(write_uncompressed_elf(in.get(), out.get(), 1024), "too large to cache");
  DebugCache tiny(cache_dir() + "-tiny", DebugCacheLimits{4096, 1 << 20, 0, 0});
  std::string path;
  EXPECT_FALSE(tiny.uncompressed(in.get(), id, &path).valid());
  EXPECT_EQ(tiny.stats().skipped, 1u);
  EXPECT_TRUE(elf_has_compressed_sections(in.get()));
}

// A target's file truncated on disk while we have it open (issue 15, point
// 6). Mapped, the next read of a page past the new end would be a SIGBUS
// in the agent; read with pread, it is a short read: what was read stays,
// what was not is missing, and a fresh open notes the file unreadable.
// big_pad puts .rodata past the first 64 KiB chunk the image reads.
TEST_F(SymbolizerTest, FileTruncatedUnderUsIsANoteNotASigbus) {
  const char source[] = R"(#include <stdio.h>
const char big_pad[300000] = {1};
__attribute__((noinline)) int exported_work(int v) {
  printf("%d\n", v + big_pad[v]);
  return v * 7;
}
__attribute__((noinline)) int other_work(int v) { return v + 3; }
int main(int argc, char** argv) {
  (void)argv;
  return exported_work(argc) + other_work(argc);
}
)";
  std::string bin = build("shrinks", source, "c", "-O0 -g");
  Sym work = nm_symbol(bin, "exported_work");
  Sym other = nm_symbol(bin, "other_work");
  Sym pad = nm_symbol(bin, "big_pad");
  ASSERT_NE(work.addr, 0u);
  ASSERT_NE(pad.addr, 0u);
  ModuleRef m{bin, "/opt/app/shrinks", build_id(bin)};

  Symbolizer s;
  auto f = s.symbolize(m, work.addr, false);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].function, "exported_work");
  std::string err;
  auto img = ElfImage::open_file(bin, &err);
  ASSERT_TRUE(img) << err;
  uint8_t before[16], after[16];
  ASSERT_TRUE(img->read(work.addr, before, sizeof before));

  ASSERT_EQ(::truncate(bin.c_str(), 4096), 0);

  f = s.symbolize(m, other.addr, false);  // must not crash
  ASSERT_GE(f.size(), 1u);
  EXPECT_EQ(f.back().rel, other.addr);
  f = s.symbolize(m, work.addr + 1, false);
  ASSERT_GE(f.size(), 1u);
  // The image: bytes read before the truncation stay; bytes past the new
  // end that were never read are missing, and it says so.
  ASSERT_TRUE(img->read(work.addr, after, sizeof after));
  EXPECT_EQ(std::memcmp(before, after, sizeof before), 0);
  uint8_t far[8];
  EXPECT_FALSE(img->read(pad.addr + 200000, far, sizeof far));
  EXPECT_TRUE(img->short_read());

  Symbolizer fresh;
  f = fresh.symbolize(m, work.addr, false);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].function, "");
  // Its headers survive in the first 4 KiB, its symbols and DWARF do not.
  auto notes = fresh.take_notes();
  EXPECT_TRUE(has_note(notes, "no debug info for /opt/app/shrinks")) << join_notes(notes);
  auto again = ElfImage::open_file(bin, &err);
  ASSERT_TRUE(again) << err;
  EXPECT_FALSE(again->read(pad.addr + 200000, far, sizeof far));
  ASSERT_EQ(::truncate(bin.c_str(), 32), 0);
  Symbolizer none;
  none.symbolize(m, work.addr, false);
  notes = none.take_notes();
  EXPECT_TRUE(has_note(notes, "cannot read /opt/app/shrinks: ")) << join_notes(notes);
  EXPECT_FALSE(ElfImage::open_file(bin, &err));
}

// A FIFO or a symlink where an ELF file was: no hang, no following.
TEST_F(SymbolizerTest, FifoAndSymlinkInPlaceOfAnElfFile) {
  std::string fifo = dir / "fifo.so";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  std::string err;
  EXPECT_FALSE(ElfImage::open_file(fifo, &err));
  EXPECT_NE(err.find("not a regular ELF file"), std::string::npos) << err;
  Symbolizer s;
  auto f = s.symbolize({fifo, "/lib/fifo.so", ""}, 0x1000, false);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].function, "");
  std::string good = build("good", kPlainSource, "c", "-O0");
  std::string link = dir / "link.so";
  ASSERT_EQ(::symlink(good.c_str(), link.c_str()), 0);
  EXPECT_FALSE(ElfImage::open_file(link, &err));
  EXPECT_NE(err.find("Too many levels of symbolic links"), std::string::npos) << err;
  EXPECT_TRUE(ElfImage::open_file(good, &err)) << err;
}

// A debug file its owner (not root) could truncate under a mapping is read
// through a private copy: the lines are still found, and truncating the
// file afterwards changes nothing for the symbolizer that holds it.
TEST_F(SymbolizerTest, DebugFileNotRootsIsReadFromAPrivateCopy) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give the file to another user";
  std::string bin = build("theirs", kPlainSource, "c", "-O0 -g");
  Sym work = nm_symbol(bin, "exported_work");
  ASSERT_TRUE(
      sh("cd " + dir.path.string() + " && objcopy --only-keep-debug theirs theirs.debug" +
         " && strip --strip-debug theirs && objcopy --add-gnu-debuglink=theirs.debug theirs"));
  std::string debug = dir / "theirs.debug";
  ASSERT_EQ(::chown(debug.c_str(), 65534, 65534), 0);  // nobody's
  ModuleRef m{bin, bin, build_id(bin)};
  Symbolizer s;
  auto f = s.symbolize(m, work.addr, false);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].function, "exported_work");
  EXPECT_EQ(f[0].line, line_of(kPlainSource, "@work"));
  ASSERT_EQ(::truncate(debug.c_str(), 0), 0);
  f = s.symbolize(m, work.addr + 1, false);  // must not crash
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].function, "exported_work");
  EXPECT_EQ(f[0].line, line_of(kPlainSource, "@work"));
}

}  // namespace
}  // namespace sonde::profiler
