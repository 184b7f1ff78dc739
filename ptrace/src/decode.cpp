// Decoding dispatch, the argument builder, strace-style quoting and return
// values. The per-family decoders (decode_*.cpp) only describe arguments.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "decode_internal.h"
#include "sonde/ptrace/syscalls.h"

namespace sonde::ptrace {
namespace detail {

std::string hex(uint64_t v) {
  return v == 0 ? std::string("0") : fmt::format("{:#x}", v);
}

std::string ptr_text(uint64_t v) {
  return v == 0 ? std::string("NULL") : fmt::format("{:#x}", v);
}

std::string octal_mode(uint64_t v) {
  return fmt::format("0{:03o}", v);
}

std::string flags_text(uint64_t v, Table bits, const char* zero) {
  if (v == 0) {
    // A table entry for 0 (O_RDONLY, PROT_NONE) names the empty set.
    if (zero != nullptr) return zero;
    for (const auto& b : bits)
      if (b.value == 0) return b.name;
    return "0";
  }
  std::string out;
  uint64_t rest = v;
  for (const auto& b : bits) {
    if (b.value == 0 || (rest & b.value) != b.value) continue;
    if (!out.empty()) out += '|';
    out += b.name;
    rest &= ~b.value;
  }
  if (rest != 0) {
    if (!out.empty()) out += '|';
    out += fmt::format("{:#x}", rest);
  }
  return out;
}

const char* enum_name(uint64_t v, Table values) {
  for (const auto& e : values)
    if (e.value == v) return e.name;
  return nullptr;
}

std::string enum_text(uint64_t v, Table values, const char* unknown_prefix) {
  if (const char* n = enum_name(v, values)) return n;
  if (unknown_prefix == nullptr || *unknown_prefix == '\0') return fmt::format("{:#x}", v);
  return fmt::format("{:#x} /* {}??? */", v, unknown_prefix);
}

namespace {

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80             ? 0
               : (c & 0xe0) == 0xc0 ? 1
               : (c & 0xf0) == 0xe0 ? 2
               : (c & 0xf8) == 0xf0 ? 3
                                    : 4;
    if (n == 4 || n > s.size() - i - 1) return false;
    for (size_t k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    i += n + 1;
  }
  return true;
}

}  // namespace

void Call::add_json(const char* name, json value, std::string_view text) {
  // JSON strings must be UTF-8 (dump() throws otherwise): bytes that are not
  // are given by their escaped strace text instead.
  if (value.is_string() && !valid_utf8(value.get_ref<const std::string&>())) value = text;
  json entry = {{"name", name}, {"value", value}};
  bool same = false;
  if (value.is_number_integer()) {
    same = text == value.dump();
  } else if (value.is_string()) {
    // A string value and its quoted form say the same thing.
    same = text == quote_bytes(value.get<std::string>(), SIZE_MAX, false);
  }
  if (!same) entry["text"] = text;
  out_.args.push_back(std::move(entry));
}

void Call::append_fd(std::string& out, int64_t fd) {
  fmt::format_to(std::back_inserter(out), "{}", fd);
  if (opts_.annotate_fds && fds_ != nullptr && fd >= 0)
    fds_->annotate(pid_, static_cast<int>(fd), out);
}

std::string Call::fd_text(int64_t fd) {
  std::string t;
  append_fd(t, fd);
  return t;
}

void Call::fd(const char* name, int i) {
  // Written straight into the line: with -y the text is long, and this is
  // every read and write.
  int32_t v = iarg(i);
  size_t at = open_arg();
  append_fd(out_.args_text, v);
  if (opts_.structured) add_json(name, v, arg_text_since(at));
}

void Call::dirfd(const char* name, int i) {
  int32_t v = iarg(i);
  if (v == -100) {
    add(name, v, "AT_FDCWD");
  } else {
    fd(name, i);
  }
}

void Call::sint(const char* name, int i) {
  add(name, iarg(i), std::to_string(iarg(i)));
}

void Call::slong(const char* name, int i) {
  add(name, sarg(i), std::to_string(sarg(i)));
}

void Call::ulong(const char* name, int i) {
  add(name, arg(i), std::to_string(arg(i)));
}

void Call::xarg(const char* name, int i) {
  add(name, arg(i), hex(arg(i)));
}

void Call::ptr(const char* name, int i) {
  add(name, arg(i), ptr_text(arg(i)));
}

void Call::flags(const char* name, int i, Table bits, const char* zero) {
  add(name, arg(i), flags_text(arg(i), bits, zero));
}

void Call::enumv(const char* name, int i, Table values, const char* unknown_prefix) {
  add(name, arg(i), enum_text(arg(i), values, unknown_prefix));
}

bool Call::read_bytes_into(uint64_t addr, size_t len, std::string& into) {
  if (addr == 0) return false;
  len = std::min(len, kMaxString);
  into.resize(len);
  if (len == 0) return true;
  ssize_t n = mem_.read(RemotePtr<void>(addr), into.data(), len);
  if (n <= 0) return false;
  into.resize(static_cast<size_t>(std::min<ssize_t>(n, static_cast<ssize_t>(len))));
  return true;
}

std::optional<std::string> Call::read_bytes(uint64_t addr, size_t len) {
  std::string buf;
  if (!read_bytes_into(addr, len, buf)) return std::nullopt;
  return buf;
}

std::optional<std::string> Call::read_cstr(uint64_t addr, size_t max, bool* truncated) {
  return read_remote_cstr(mem_, addr, std::min(max, kMaxString), truncated);
}

std::string Call::cstr_text(uint64_t addr, size_t limit, std::string* value) {
  if (addr == 0) return "NULL";
  bool truncated = false;
  auto s = read_cstr(addr, std::max(limit, size_t{1}), &truncated);
  if (!s) return ptr_text(addr);
  if (value != nullptr) *value = *s;
  return quote_bytes(*s, limit, truncated);
}

void Call::path(const char* name, int i) {
  std::string v;
  std::string t = cstr_text(arg(i), kMaxString, &v);
  if (t.size() && t[0] == '"') {
    add(name, v, t);
  } else {
    add(name, arg(i), t);
  }
}

void Call::cstr(const char* name, int i) {
  std::string v;
  std::string t = cstr_text(arg(i), opts_.string_limit, &v);
  if (t.size() && t[0] == '"') {
    add(name, v, t);
  } else {
    add(name, arg(i), t);
  }
}

void Call::buffer(const char* name, int i, uint64_t len) {
  uint64_t addr = arg(i);
  if (addr == 0) {
    add(name, addr, "NULL");
    return;
  }
  size_t want = static_cast<size_t>(std::min<uint64_t>(len, opts_.string_limit));
  // The bytes go through one buffer kept by the tracer thread and are quoted
  // straight into the text: read and write, the commonest calls, cost no
  // malloc once the buffers have grown.
  thread_local std::string data;
  // A short read means the buffer is not all there: strace shows the pointer.
  if (!read_bytes_into(addr, want, data) || data.size() < want) {
    add(name, addr, ptr_text(addr));
    return;
  }
  size_t at = open_arg();
  append_quoted(out_.args_text, data, data.size(), len > data.size());
  if (opts_.structured) add_json(name, json(data), arg_text_since(at));
}

size_t array_limit(const Call& c) {
  return std::clamp<size_t>(c.opts().string_limit, 1, 1024);
}

namespace {

void generic(Call& c) {
  int n = syscall_nargs(c.nr());
  bool known = syscall_name(c.nr()) != nullptr;
  static const char* const kNames[] = {"arg0", "arg1", "arg2", "arg3", "arg4", "arg5"};
  for (int i = 0; i < n && i < 6; ++i) {
    int64_t v = c.sarg(i);
    // strace prints undecoded arguments in hex; for syscalls we know but do
    // not decode, small numbers read better as decimal (lengths, fds).
    if (known && v >= -4096 && v < 65536) {
      c.add(kNames[i], v, std::to_string(v));
    } else {
      c.xarg(kNames[i], i);
    }
  }
}

}  // namespace
}  // namespace detail

std::optional<std::string> read_remote_cstr(MemReader& mem, uint64_t addr, size_t max,
                                            bool* truncated) {
  *truncated = false;
  if (addr == 0) return std::nullopt;
  std::string out;
  // Page-sized chunks that stop at page ends: a string near the end of a
  // mapping must not fail because the next page is unmapped.
  constexpr uint64_t kPage = 4096;
  char chunk[kPage];
  uint64_t at = addr;
  while (out.size() < max + 1) {
    size_t want = static_cast<size_t>(kPage - (at % kPage));
    want = std::min(want, max + 1 - out.size());
    ssize_t n = mem.read(RemotePtr<void>(at), chunk, want);
    if (n <= 0) break;
    size_t got = std::min(static_cast<size_t>(n), want);
    if (const void* nul = std::memchr(chunk, '\0', got)) {
      out.append(chunk, static_cast<const char*>(nul) - chunk);
      return out;
    }
    out.append(chunk, got);
    at += got;
    if (got < want) break;
  }
  if (out.empty() && at == addr) return std::nullopt;
  // No NUL within max bytes (or memory ended): show what we have, cut.
  *truncated = true;
  if (out.size() > max) out.resize(max);
  return out;
}

std::string quote_bytes(std::string_view data, size_t limit, bool truncated_source) {
  std::string out;
  out.reserve(std::min(limit, data.size()) + 2);
  append_quoted(out, data, limit, truncated_source);
  return out;
}

void append_quoted(std::string& out, std::string_view data, size_t limit, bool truncated_source) {
  size_t n = std::min(limit, data.size());
  out += '"';
  for (size_t i = 0; i < n; ++i) {
    auto ch = static_cast<unsigned char>(data[i]);
    switch (ch) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\v':
        out += "\\v";
        continue;
      case '\f':
        out += "\\f";
        continue;
      case '\r':
        out += "\\r";
        continue;
      default:
        break;
    }
    if (ch >= 0x20 && ch < 0x7f) {
      out += static_cast<char>(ch);
      continue;
    }
    // Octal, padded to three digits only when an octal digit follows (so
    // "\0" then "1" reads "\0001", as strace prints it).
    bool next_octal = i + 1 < n && data[i + 1] >= '0' && data[i + 1] <= '7';
    out += '\\';
    if (next_octal || ch >= 0100) out += static_cast<char>('0' + (ch >> 6));
    if (next_octal || ch >= 010) out += static_cast<char>('0' + ((ch >> 3) & 7));
    out += static_cast<char>('0' + (ch & 7));
  }
  out += '"';
  if (data.size() > limit || truncated_source) out += "...";
}

bool decode_at_entry(long nr) {
  const char* n = syscall_name(nr);
  if (n == nullptr) return false;
  std::string_view s(n);
  // select's fd sets are overwritten with the result: the input is gone at exit.
  return s == "execve" || s == "execveat" || s == "exit" || s == "exit_group" || s == "select" ||
         s == "pselect6";
}

void decode_args_into(DecodedCall& out, int pid, long nr, const uint64_t args[6], int64_t ret,
                      MemReader& mem, FdAnnotator* fds, const DecodeOptions& opts) {
  detail::Call c(pid, nr, args, ret, mem, fds, opts, std::move(out));
  bool done = detail::decode_file(c) || detail::decode_desc(c) || detail::decode_net(c) ||
              detail::decode_process(c) || detail::decode_memory(c) || detail::decode_signal(c);
  if (!done) detail::generic(c);
  out = std::move(c).finish();
}

DecodedCall decode_args(int pid, long nr, const uint64_t args[6], int64_t ret, MemReader& mem,
                        FdAnnotator* fds, const DecodeOptions& opts) {
  DecodedCall out;
  decode_args_into(out, pid, nr, args, ret, mem, fds, opts);
  return out;
}

namespace {

bool returns_address(long nr) {
  const char* n = syscall_name(nr);
  if (n == nullptr) return false;
  std::string_view s(n);
  return s == "mmap" || s == "brk" || s == "mremap" || s == "shmat";
}

bool times_out(long nr) {
  const char* n = syscall_name(nr);
  if (n == nullptr) return false;
  std::string_view s(n);
  return s == "poll" || s == "ppoll" || s == "select" || s == "pselect6";
}

bool never_returns(long nr) {
  const char* n = syscall_name(nr);
  if (n == nullptr) return false;
  std::string_view s(n);
  return s == "exit" || s == "exit_group";
}

}  // namespace

std::string format_return(long nr, int64_t ret) {
  if (ret == kNoReturn || never_returns(nr)) return "?";
  if (ret < 0 && ret >= -4095) {
    int err = static_cast<int>(-ret);
    // Kernel-internal restart codes: the syscall did not finish and will be
    // restarted (or not) depending on the signal handler.
    switch (err) {
      case 512:
        return "? ERESTARTSYS (To be restarted if SA_RESTART is set)";
      case 513:
        return "? ERESTARTNOINTR (To be restarted)";
      case 514:
        return "? ERESTARTNOHAND (To be restarted if no handler)";
      case 516:
        return "? ERESTART_RESTARTBLOCK (Interrupted by signal)";
      default:
        break;
    }
    const char* name = errno_name(err);
    std::string text =
        err < 512 ? std::string(strerrordesc_np(err) ? strerrordesc_np(err) : "") : std::string();
    if (text.empty()) text = fmt::format("Unknown error {}", err);
    if (name == nullptr) return fmt::format("-1 errno {} ({})", err, text);
    return fmt::format("-1 {} ({})", name, text);
  }
  if (returns_address(nr)) return detail::hex(static_cast<uint64_t>(ret));
  if (ret == 0 && times_out(nr)) return "0 (Timeout)";
  return std::to_string(ret);
}

std::string format_return(long nr, int64_t ret, const DecodedCall& call) {
  bool ok = ret != kNoReturn && !(ret < 0 && ret >= -4095);
  std::string s =
      ok && call.ret_hex ? detail::hex(static_cast<uint64_t>(ret)) : format_return(nr, ret);
  if (!call.ret_note.empty() && ret != kNoReturn && !(ret < 0 && ret >= -4095)) {
    s += " (" + call.ret_note + ")";
  }
  return s;
}

}  // namespace sonde::ptrace
