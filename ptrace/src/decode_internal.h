// Shared machinery of the per-family decoders: an argument list builder that
// produces the strace text and the JSON args side by side, flag/enum tables,
// and bounded reads of tracee memory. Internal to libsonde_ptrace.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "sonde/ptrace/syscalls.h"

namespace sonde::ptrace::detail {

// One named value of a flag set or an enumeration.
struct Named {
  uint64_t value;
  const char* name;
};
using Table = std::span<const Named>;

// "O_RDONLY|O_CLOEXEC": bits by name, leftovers as 0x..; `zero` when v == 0
// (nullptr: "0").
std::string flags_text(uint64_t v, Table bits, const char* zero = nullptr);
// The name of v in an enumeration, or nullptr.
const char* enum_name(uint64_t v, Table values);
// The name, or `fallback` formatted as decimal with "/* NAME_??? */" like
// strace when unknown (e.g. "0x10 /* SOL_??? */"); prefix may be empty.
std::string enum_text(uint64_t v, Table values, const char* unknown_prefix);
std::string hex(uint64_t v);
std::string ptr_text(uint64_t v);    // "NULL" or "0x7ffd..."
std::string octal_mode(uint64_t v);  // "0644"

// No decoded struct, path or string is longer than this (hostile tracee).
inline constexpr size_t kMaxString = 4096;
// Arrays (iovec, pollfd, argv...) shown at most this many elements.
inline constexpr size_t kMaxArray = 32;

// A syscall being decoded: argument registers, the return value (or
// kNoReturn), the memory reader; accumulates args_text + args JSON.
class Call {
 public:
  // reuse: a DecodedCall whose string buffers are taken over (emptied).
  Call(int pid, long nr, const uint64_t args[6], int64_t ret, MemReader& mem, FdAnnotator* fds,
       const DecodeOptions& opts, DecodedCall&& reuse = {})
      : pid_(pid),
        nr_(nr),
        a_(args),
        ret_(ret),
        mem_(mem),
        fds_(fds),
        opts_(opts),
        out_(std::move(reuse)) {
    out_.args_text.clear();
    out_.ret_note.clear();
    out_.ret_hex = false;
    // Without the structured form, no JSON is built at all.
    if (opts_.structured)
      out_.args = json::array();
    else if (!out_.args.is_null())
      out_.args = nullptr;
  }

  long nr() const { return nr_; }
  uint64_t arg(int i) const { return a_[i]; }
  int32_t iarg(int i) const { return static_cast<int32_t>(a_[i]); }
  int64_t sarg(int i) const { return static_cast<int64_t>(a_[i]); }
  int64_t ret() const { return ret_; }
  bool exiting() const { return ret_ != kNoReturn; }
  // Exiting with an error: output buffers hold nothing worth reading.
  bool failed() const { return exiting() && ret_ < 0 && ret_ >= -4095; }
  // Exiting with success: output structs may be read.
  bool succeeded() const { return exiting() && !failed(); }
  const DecodeOptions& opts() const { return opts_; }
  MemReader& mem() { return mem_; }

  // Appends an argument: its strace text and its JSON entry. `text` goes to
  // the JSON only when it says more than the value. The JSON value is built
  // only for the structured form: a string value would cost a malloc a call.
  template <typename V>
  void add(const char* name, V&& value, const std::string& text) {
    append_text(text);
    if (opts_.structured) add_json(name, json(std::forward<V>(value)), text);
  }
  // Raw argument i as a signed int (fds, counts) / unsigned / hex / pointer.
  void fd(const char* name, int i);
  void dirfd(const char* name, int i);  // AT_FDCWD or fd
  void sint(const char* name, int i);   // int (32 bit)
  void slong(const char* name, int i);  // long (64 bit signed)
  void ulong(const char* name, int i);  // unsigned long
  void xarg(const char* name, int i);   // hex, 0 shows as 0
  void ptr(const char* name, int i);    // NULL or hex
  void flags(const char* name, int i, Table bits, const char* zero = nullptr);
  void enumv(const char* name, int i, Table values, const char* unknown_prefix = "");
  // NUL-terminated string from the tracee: paths are cut at kMaxString,
  // other strings (argv, names) at -s.
  void path(const char* name, int i);
  void cstr(const char* name, int i);
  // A buffer of `len` bytes (capped at -s) quoted; pointer hex if unreadable.
  void buffer(const char* name, int i, uint64_t len);
  // A struct printed by `fmt` if readable, else the pointer.
  template <typename T, typename F>
  void object(const char* name, int i, F fmt) {
    uint64_t addr = a_[i];
    T v;
    if (addr != 0 && read_obj(addr, v)) {
      add(name, addr, fmt(v));
    } else {
      ptr(name, i);
    }
  }

  // Bounded reads. read_obj: whole object or nothing.
  template <typename T>
  bool read_obj(uint64_t addr, T& v) {
    if (addr == 0) return false;
    return mem_.read(RemotePtr<void>(addr), &v, sizeof v) == static_cast<ssize_t>(sizeof v);
  }
  // Up to len bytes (capped at kMaxString); nullopt if nothing readable.
  std::optional<std::string> read_bytes(uint64_t addr, size_t len);
  // NUL-terminated string of at most max bytes; *truncated when no NUL in
  // max bytes. nullopt if unreadable.
  std::optional<std::string> read_cstr(uint64_t addr, size_t max, bool* truncated);
  // Reads len bytes at addr into into; false when nothing could be read.
  bool read_bytes_into(uint64_t addr, size_t len, std::string& into);
  // Quoted string text for a NUL-terminated string at addr cut at limit, or
  // the pointer; fills *value with the raw string when read.
  std::string cstr_text(uint64_t addr, size_t limit, std::string* value);
  std::string fd_text(int64_t fd);
  void append_fd(std::string& out, int64_t fd);

  // Text appended to the return value: "(Timeout)", "([{fd=3, revents=POLLIN}])".
  void set_ret_note(std::string note) { ret_note_ = std::move(note); }
  void set_ret_hex() { out_.ret_hex = true; }
  DecodedCall finish() && {
    out_.ret_note = std::move(ret_note_);
    return std::move(out_);
  }

 private:
  // Starts the next argument in the line (", " after the first); returns
  // where its text begins, for arg_text_since.
  size_t open_arg() {
    if (!out_.args_text.empty()) out_.args_text += ", ";
    return out_.args_text.size();
  }
  std::string_view arg_text_since(size_t at) const {
    return std::string_view(out_.args_text).substr(at);
  }
  void append_text(std::string_view text) {
    open_arg();
    out_.args_text += text;
  }
  void add_json(const char* name, json value, std::string_view text);

  int pid_;
  long nr_;
  const uint64_t* a_;
  int64_t ret_;
  MemReader& mem_;
  FdAnnotator* fds_;
  const DecodeOptions& opts_;
  DecodedCall out_;
  std::string ret_note_;
};

// Family decoders: true when they know nr and have added its arguments.
bool decode_file(Call& c);
bool decode_net(Call& c);
bool decode_desc(Call& c);
bool decode_process(Call& c);
bool decode_memory(Call& c);
bool decode_signal(Call& c);

// Shared between families.
std::string sigset_text(Call& c, uint64_t addr, uint64_t size);  // "[INT TERM]"
std::string timespec_text(Call& c, uint64_t addr);               // "{tv_sec=1, tv_nsec=0}" or ptr
std::string open_flags_text(uint64_t flags);
std::string sockaddr_text(Call& c, uint64_t addr, uint64_t len, json* value);
std::string iovec_text(Call& c, uint64_t addr, uint64_t count, int64_t data_limit);
std::string signal_text(uint64_t sig);  // "SIGTERM" or the number
// Elements shown of a tracee array: strace caps arrays at -s elements too.
size_t array_limit(const Call& c);
// "[7 8]" for an fd_set of nfds bits, or the pointer.
std::string fdset_text(Call& c, uint64_t addr, int nfds);

}  // namespace sonde::ptrace::detail
