// One certificate as the report shows it (subject, issuer, names, validity,
// key, fingerprint).
#include "sonde/net/tls.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "tls_internal.h"

namespace sonde::net {
namespace tls_detail {

std::string hex(const unsigned char* p, size_t n, const char* sep) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += fmt::format("{}{:02X}", i ? sep : "", p[i]);
  return out;
}

// X509_NAME in the order it is written, "C=US, O=Example, CN=example.com".
std::string name_text(const X509_NAME* n) {
  if (!n) return "";
  BioPtr b(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(b.get(), n, 0,
                     (XN_FLAG_SEP_CPLUS_SPC | ASN1_STRFLGS_RFC2253) & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long len = BIO_get_mem_data(b.get(), &data);
  return tls_utf8_safe(std::string(data, static_cast<size_t>(std::max(0L, len))));
}

namespace {

std::string common_name(const X509_NAME* n) {
  int i = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
  if (i < 0) return "";
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, s);
  if (len < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return tls_utf8_safe(out);
}

bool asn1_time(const ASN1_TIME* t, std::string& iso, int64_t& epoch) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return false;
  epoch = static_cast<int64_t>(timegm(&tm));
  iso = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return true;
}

}  // namespace

TlsCert describe_cert(X509* x, int depth) {
  TlsCert c;
  c.depth = depth;
  c.subject = name_text(X509_get_subject_name(x));
  c.issuer = name_text(X509_get_issuer_name(x));
  c.subject_cn = common_name(X509_get_subject_name(x));
  NamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names.get(), i);
    if (g->type == GEN_DNS) {
      const ASN1_STRING* s = g->d.dNSName;
      c.dns_names.push_back(
          tls_utf8_safe(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                    static_cast<size_t>(ASN1_STRING_length(s)))));
    } else if (g->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* s = g->d.iPAddress;
      char buf[INET6_ADDRSTRLEN] = {};
      int len = ASN1_STRING_length(s);
      if ((len == 4 || len == 16) &&
          inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), buf, sizeof buf))
        c.ip_addresses.push_back(buf);
    }
  }
  if (const ASN1_INTEGER* sn = X509_get0_serialNumber(x)) {
    BIGNUM* bn = ASN1_INTEGER_to_BN(sn, nullptr);
    if (bn) {
      char* h = BN_bn2hex(bn);
      if (h) c.serial = h;
      OPENSSL_free(h);
      BN_free(bn);
    }
  }
  asn1_time(X509_get0_notBefore(x), c.not_before, c.not_before_epoch);
  asn1_time(X509_get0_notAfter(x), c.not_after, c.not_after_epoch);
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  // Whole days: 29.9 left is 29; expired 2.5 days ago is -2, an hour ago -1
  // (negative as soon as it has expired).
  int64_t left = c.not_after_epoch - now;
  c.days_left =
      left >= 0 ? static_cast<long>(left / 86400) : -std::max(1L, static_cast<long>(-left / 86400));
  c.not_yet_valid = c.not_before_epoch > now;
  if (EVP_PKEY* k = X509_get0_pubkey(x)) {
    int id = EVP_PKEY_get_base_id(k);
    switch (id) {
      case EVP_PKEY_RSA:
        c.key_type = "RSA";
        break;
      case EVP_PKEY_RSA_PSS:
        c.key_type = "RSA-PSS";
        break;
      case EVP_PKEY_EC:
        c.key_type = "EC";
        break;
      case EVP_PKEY_ED25519:
        c.key_type = "ED25519";
        break;
      case EVP_PKEY_ED448:
        c.key_type = "ED448";
        break;
      case EVP_PKEY_DSA:
        c.key_type = "DSA";
        break;
      default:
        c.key_type = OBJ_nid2sn(id) ? OBJ_nid2sn(id) : "unknown";
    }
    c.key_bits = EVP_PKEY_get_bits(k);
    char group[80] = {};
    size_t glen = 0;
    if (id == EVP_PKEY_EC && EVP_PKEY_get_group_name(k, group, sizeof group, &glen) == 1)
      c.key_curve = group;
  }
  int sig = X509_get_signature_nid(x);
  c.signature_algorithm = OBJ_nid2ln(sig) ? OBJ_nid2ln(sig) : "unknown";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (X509_digest(x, EVP_sha256(), md, &mdlen) == 1) c.sha256 = hex(md, mdlen, ":");
  c.self_signed = X509_self_signed(x, 0) == 1;
  c.is_ca = X509_check_ca(x) != 0;
  return c;
}

}  // namespace tls_detail

}  // namespace sonde::net
