#include "sonde/common/sha256.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "sonde/common/fd.h"

namespace sonde {
namespace {

struct CtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_MD_CTX, CtxFree>;

Ctx start() {
  Ctx c(EVP_MD_CTX_new());
  if (c && EVP_DigestInit_ex(c.get(), EVP_sha256(), nullptr) != 1) c.reset();
  return c;
}

std::string finish_hex(EVP_MD_CTX* c) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(c, md, &len) != 1) return {};
  static const char hex[] = "0123456789abcdef";
  std::string s;
  for (unsigned int i = 0; i < len; ++i) {
    s.push_back(hex[md[i] >> 4]);
    s.push_back(hex[md[i] & 15]);
  }
  return s;
}

Error crypto_error(const std::string& what) {
  return Error{errc::kInternal, "libcrypto could not hash " + what, {}};
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  Ctx c = start();
  if (!c || EVP_DigestUpdate(c.get(), data.data(), data.size()) != 1) return {};
  return finish_hex(c.get());
}

Result<std::string> sha256_file_hex(const std::string& path) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("open " + path);
  Ctx c = start();
  if (!c) return crypto_error(path);
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read " + path);
    }
    if (n == 0) break;
    if (EVP_DigestUpdate(c.get(), buf, static_cast<size_t>(n)) != 1) return crypto_error(path);
  }
  std::string h = finish_hex(c.get());
  if (h.empty()) return crypto_error(path);
  return h;
}

}  // namespace sonde
