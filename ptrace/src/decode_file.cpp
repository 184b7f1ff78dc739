// File syscalls: open family, close, the stat family, access, readlink,
// directory and link operations, lseek.
#include <asm/unistd_64.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/stat.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include "decode_internal.h"

namespace sonde::ptrace::detail {
namespace {

// Bits after the access mode, in the order strace prints them. Combined
// flags (O_SYNC = __O_SYNC|O_DSYNC, O_TMPFILE = __O_TMPFILE|O_DIRECTORY)
// come first so they win over their parts.
constexpr Named kOpenBits[] = {
    {0x101000, "O_SYNC"},     {0x410000, "O_TMPFILE"}, {0100, "O_CREAT"},
    {0200, "O_EXCL"},         {0400, "O_NOCTTY"},      {01000, "O_TRUNC"},
    {02000, "O_APPEND"},      {04000, "O_NONBLOCK"},   {010000, "O_DSYNC"},
    {020000, "O_ASYNC"},      {040000, "O_DIRECT"},    {0100000, "O_LARGEFILE"},
    {0200000, "O_DIRECTORY"}, {0400000, "O_NOFOLLOW"}, {01000000, "O_NOATIME"},
    {02000000, "O_CLOEXEC"},  {010000000, "O_PATH"},
};

constexpr Named kAtFlags[] = {
    {0x100, "AT_SYMLINK_NOFOLLOW"}, {0x200, "AT_REMOVEDIR"},   {0x400, "AT_SYMLINK_FOLLOW"},
    {0x800, "AT_NO_AUTOMOUNT"},     {0x1000, "AT_EMPTY_PATH"}, {0x2000, "AT_STATX_FORCE_SYNC"},
    {0x4000, "AT_STATX_DONT_SYNC"},
};
constexpr Named kStatxAtFlags[] = {
    {0x0, "AT_STATX_SYNC_AS_STAT"}, {0x2000, "AT_STATX_FORCE_SYNC"}, {0x4000, "AT_STATX_DONT_SYNC"},
    {0x100, "AT_SYMLINK_NOFOLLOW"}, {0x800, "AT_NO_AUTOMOUNT"},      {0x1000, "AT_EMPTY_PATH"},
};
constexpr Named kAccessAtFlags[] = {
    {0x200, "AT_EACCESS"}, {0x100, "AT_SYMLINK_NOFOLLOW"}, {0x1000, "AT_EMPTY_PATH"}};
constexpr Named kAccessModes[] = {{0, "F_OK"}, {4, "R_OK"}, {2, "W_OK"}, {1, "X_OK"}};
constexpr Named kStatxMask[] = {
    {0xfff, "STATX_ALL"},       {0x7ff, "STATX_BASIC_STATS"}, {0x1, "STATX_TYPE"},
    {0x2, "STATX_MODE"},        {0x4, "STATX_NLINK"},         {0x8, "STATX_UID"},
    {0x10, "STATX_GID"},        {0x20, "STATX_ATIME"},        {0x40, "STATX_MTIME"},
    {0x80, "STATX_CTIME"},      {0x100, "STATX_INO"},         {0x200, "STATX_SIZE"},
    {0x400, "STATX_BLOCKS"},    {0x800, "STATX_BTIME"},       {0x1000, "STATX_MNT_ID"},
    {0x2000, "STATX_DIOALIGN"},
};
constexpr Named kWhence[] = {
    {0, "SEEK_SET"}, {1, "SEEK_CUR"}, {2, "SEEK_END"}, {3, "SEEK_DATA"}, {4, "SEEK_HOLE"}};
constexpr Named kRenameFlags[] = {
    {1, "RENAME_NOREPLACE"}, {2, "RENAME_EXCHANGE"}, {4, "RENAME_WHITEOUT"}};
constexpr Named kResolve[] = {
    {0x01, "RESOLVE_NO_XDEV"}, {0x02, "RESOLVE_NO_MAGICLINKS"}, {0x04, "RESOLVE_NO_SYMLINKS"},
    {0x08, "RESOLVE_BENEATH"}, {0x10, "RESOLVE_IN_ROOT"},       {0x20, "RESOLVE_CACHED"},
};
constexpr Named kCloseRange[] = {{2, "CLOSE_RANGE_UNSHARE"}, {4, "CLOSE_RANGE_CLOEXEC"}};
constexpr Named kFileTypes[] = {
    {S_IFREG, "S_IFREG"}, {S_IFDIR, "S_IFDIR"}, {S_IFLNK, "S_IFLNK"},   {S_IFCHR, "S_IFCHR"},
    {S_IFBLK, "S_IFBLK"}, {S_IFIFO, "S_IFIFO"}, {S_IFSOCK, "S_IFSOCK"},
};

bool wants_mode(uint64_t flags) {
  return (flags & O_CREAT) != 0 || (flags & 0x410000) == 0x410000;
}

// "S_IFREG|S_ISUID|0755"
std::string st_mode_text(uint32_t mode) {
  std::string out;
  if (const char* t = enum_name(mode & S_IFMT, kFileTypes)) {
    out = t;
    out += '|';
  } else if ((mode & S_IFMT) != 0) {
    out = fmt::format("{:#o}|", mode & S_IFMT);
  }
  if (mode & S_ISUID) out += "S_ISUID|";
  if (mode & S_ISGID) out += "S_ISGID|";
  if (mode & S_ISVTX) out += "S_ISVTX|";
  out += octal_mode(mode & 0777);
  return out;
}

std::string dev_text(uint64_t major, uint64_t minor) {
  return fmt::format("makedev({:#x}, {:#x})", major, minor);
}

std::string stat_text(const struct stat& st) {
  std::string out = "{st_mode=" + st_mode_text(st.st_mode);
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    out += ", st_rdev=" + dev_text(((st.st_rdev >> 32) & ~0xfffULL) | ((st.st_rdev >> 8) & 0xfff),
                                   ((st.st_rdev >> 12) & ~0xffULL) | (st.st_rdev & 0xff));
  } else {
    out += fmt::format(", st_size={}", static_cast<long long>(st.st_size));
  }
  return out + ", ...}";
}

std::string statx_text(const struct statx& sx) {
  std::string out = "{stx_mask=" + flags_text(sx.stx_mask, kStatxMask);
  out += fmt::format(", stx_attributes={}", hex(sx.stx_attributes));
  out += ", stx_mode=" + st_mode_text(sx.stx_mode);
  if (S_ISCHR(sx.stx_mode) || S_ISBLK(sx.stx_mode)) {
    out += ", stx_rdev=" + dev_text(sx.stx_rdev_major, sx.stx_rdev_minor);
  } else {
    out += fmt::format(", stx_size={}", static_cast<unsigned long long>(sx.stx_size));
  }
  return out + ", ...}";
}

// An output struct: decoded only after the call succeeded.
void stat_out(Call& c, const char* name, int i) {
  if (!c.succeeded()) {
    c.ptr(name, i);
    return;
  }
  c.object<struct stat>(name, i, stat_text);
}

void mode(Call& c, const char* name, int i) {
  c.add(name, c.arg(i), octal_mode(c.arg(i) & 07777));
}

// readlink's buffer: the ret bytes the kernel wrote (not NUL-terminated).
void out_string(Call& c, const char* name, int i) {
  if (!c.succeeded() || c.ret() <= 0) {
    c.ptr(name, i);
    return;
  }
  c.buffer(name, i, static_cast<uint64_t>(c.ret()));
}

}  // namespace

std::string open_flags_text(uint64_t flags) {
  static constexpr const char* kAcc[] = {"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"};
  std::string out = kAcc[flags & 3];
  uint64_t rest = flags & ~uint64_t{3};
  if (rest != 0) out += "|" + flags_text(rest, kOpenBits);
  return out;
}

bool decode_file(Call& c) {
  switch (c.nr()) {
    case __NR_open:
      c.path("pathname", 0);
      c.add("flags", c.arg(1), open_flags_text(c.arg(1)));
      if (wants_mode(c.arg(1))) mode(c, "mode", 2);
      return true;
    case __NR_creat:
      c.path("pathname", 0);
      mode(c, "mode", 1);
      return true;
    case __NR_openat:
      c.dirfd("dirfd", 0);
      c.path("pathname", 1);
      c.add("flags", c.arg(2), open_flags_text(c.arg(2)));
      if (wants_mode(c.arg(2))) mode(c, "mode", 3);
      return true;
    case __NR_openat2:
      c.dirfd("dirfd", 0);
      c.path("pathname", 1);
      c.object<struct open_how>("how", 2, [](const struct open_how& h) {
        std::string t = "{flags=" + open_flags_text(h.flags);
        if (wants_mode(h.flags) || h.mode != 0) t += ", mode=" + octal_mode(h.mode);
        return t + ", resolve=" + flags_text(h.resolve, kResolve) + "}";
      });
      c.ulong("size", 3);
      return true;
    case __NR_close:
      c.fd("fd", 0);
      return true;
    case __NR_close_range:
      c.sint("first", 0);
      c.sint("last", 1);
      c.flags("flags", 2, kCloseRange);
      return true;
    case __NR_stat:
    case __NR_lstat:
      c.path("pathname", 0);
      stat_out(c, "statbuf", 1);
      return true;
    case __NR_fstat:
      c.fd("fd", 0);
      stat_out(c, "statbuf", 1);
      return true;
    case __NR_newfstatat:
      c.dirfd("dirfd", 0);
      c.path("pathname", 1);
      stat_out(c, "statbuf", 2);
      c.flags("flags", 3, kAtFlags);
      return true;
    case __NR_statx:
      c.dirfd("dirfd", 0);
      c.path("pathname", 1);
      c.flags("flags", 2, kStatxAtFlags);
      c.flags("mask", 3, kStatxMask);
      if (c.succeeded()) {
        c.object<struct statx>("statxbuf", 4, statx_text);
      } else {
        c.ptr("statxbuf", 4);
      }
      return true;
    case __NR_access:
      c.path("pathname", 0);
      c.flags("mode", 1, kAccessModes);
      return true;
    case __NR_faccessat:
      c.dirfd("dirfd", 0);
      c.path("pathname", 1);
      c.flags("mode", 2, kAccessModes);
      return true;
    case __NR_faccessat2:
      c.dirfd("dirfd", 0);
      c.path("pathname", 1);
      c.flags("mode", 2, kAccessModes);
      c.flags("flags", 3, kAccessAtFlags);
      return true;
    case __NR_readlink:
      c.path("pathname", 0);
      out_string(c, "buf", 1);
      c.ulong("bufsiz", 2);
      return true;
    case __NR_readlinkat:
      c.dirfd("dirfd", 0);
      c.path("pathname", 1);
      out_string(c, "buf", 2);
      c.ulong("bufsiz", 3);
      return true;
    case __NR_getcwd:
      if (c.succeeded()) {
        c.path("buf", 0);
      } else {
        c.ptr("buf", 0);
      }
      c.ulong("size", 1);
      return true;
    case __NR_unlink:
    case __NR_rmdir:
    case __NR_chdir:
    case __NR_chroot:
      c.path("pathname", 0);
      return true;
    case __NR_fchdir:
    case __NR_fsync:
    case __NR_fdatasync:
      c.fd("fd", 0);
      return true;
    case __NR_unlinkat:
      c.dirfd("dirfd", 0);
      c.path("pathname", 1);
      c.flags("flags", 2, kAtFlags);
      return true;
    case __NR_mkdir:
      c.path("pathname", 0);
      mode(c, "mode", 1);
      return true;
    case __NR_mkdirat:
      c.dirfd("dirfd", 0);
      c.path("pathname", 1);
      mode(c, "mode", 2);
      return true;
    case __NR_chmod:
      c.path("pathname", 0);
      mode(c, "mode", 1);
      return true;
    case __NR_fchmod:
      c.fd("fd", 0);
      mode(c, "mode", 1);
      return true;
    case __NR_fchmodat:
      c.dirfd("dirfd", 0);
      c.path("pathname", 1);
      mode(c, "mode", 2);
      return true;
    case __NR_chown:
    case __NR_lchown:
      c.path("pathname", 0);
      c.sint("owner", 1);
      c.sint("group", 2);
      return true;
    case __NR_fchown:
      c.fd("fd", 0);
      c.sint("owner", 1);
      c.sint("group", 2);
      return true;
    case __NR_fchownat:
      c.dirfd("dirfd", 0);
      c.path("pathname", 1);
      c.sint("owner", 2);
      c.sint("group", 3);
      c.flags("flags", 4, kAtFlags);
      return true;
    case __NR_rename:
    case __NR_link:
    case __NR_symlink:
      c.path(c.nr() == __NR_symlink ? "target" : "oldpath", 0);
      c.path(c.nr() == __NR_symlink ? "linkpath" : "newpath", 1);
      return true;
    case __NR_symlinkat:
      c.path("target", 0);
      c.dirfd("newdirfd", 1);
      c.path("linkpath", 2);
      return true;
    case __NR_renameat:
    case __NR_renameat2:
    case __NR_linkat:
      c.dirfd("olddirfd", 0);
      c.path("oldpath", 1);
      c.dirfd("newdirfd", 2);
      c.path("newpath", 3);
      if (c.nr() == __NR_renameat2) c.flags("flags", 4, kRenameFlags);
      if (c.nr() == __NR_linkat) c.flags("flags", 4, kAtFlags);
      return true;
    case __NR_truncate:
      c.path("path", 0);
      c.slong("length", 1);
      return true;
    case __NR_ftruncate:
      c.fd("fd", 0);
      c.slong("length", 1);
      return true;
    case __NR_lseek:
      c.fd("fd", 0);
      c.slong("offset", 1);
      c.enumv("whence", 2, kWhence, "SEEK_");
      return true;
    case __NR_getdents64:
    case __NR_getdents: {
      c.fd("fd", 0);
      std::string t = ptr_text(c.arg(1));
      if (c.succeeded()) {
        // Count the records the kernel wrote (d_reclen at offset 16).
        uint64_t count = 0;
        uint64_t off = 0;
        uint64_t total = static_cast<uint64_t>(c.ret());
        while (off + 18 <= total && count < 4096) {
          uint16_t reclen = 0;
          if (!c.read_obj(c.arg(1) + off + 16, reclen) || reclen == 0) break;
          ++count;
          off += reclen;
        }
        t += fmt::format(" /* {} entries */", count);
      }
      c.add("dirp", c.arg(1), t);
      c.ulong("count", 2);
      return true;
    }
    default:
      return false;
  }
}

}  // namespace sonde::ptrace::detail
