#include "libssh.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

namespace sonde::controller {
namespace {

LibSsh g_lib;
Result<const LibSsh*> g_loaded = Error{errc::kInternal, "libssh not loaded", {}};

Result<const LibSsh*> load_once() {
  void* h = ::dlopen(SONDE_LIBSSH_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* why = ::dlerror();
    return Error{errc::kInternal,
                 std::string("cannot load ") + SONDE_LIBSSH_SONAME + ": " + (why ? why : "?"),
                 "SSH targets need libssh: apt-get install libssh-4 (`local` works without it)"};
  }
  LibSsh lib;
#define SONDE_LIBSSH_RESOLVE(name)                                                             \
  lib.name = reinterpret_cast<decltype(&::name)>(::dlsym(h, #name));                           \
  if (!lib.name)                                                                               \
    return Error{errc::kInternal,                                                              \
                 std::string(SONDE_LIBSSH_SONAME " has no `") + #name + "`: too old a libssh", \
                 "sonde needs libssh 0.9 or later"};
  SONDE_LIBSSH_FUNCTIONS(SONDE_LIBSSH_RESOLVE)
#undef SONDE_LIBSSH_RESOLVE
  // The handle stays open for the life of the process: channels and
  // sessions may outlive any scope that could close it.
  g_lib = lib;
  return &g_lib;
}

}  // namespace

Result<const LibSsh*> load_libssh() {
  static std::once_flag once;
  std::call_once(once, [] { g_loaded = load_once(); });
  return g_loaded;
}

const LibSsh& libssh() {
  if (!g_loaded.ok()) std::abort();  // a transport/ bug: open_ssh loads first
  return g_lib;
}

}  // namespace sonde::controller
