// What the TLS probe's files share (tls_store.cpp, tls_certificate.cpp,
// tls_probe.cpp): owners for OpenSSL objects, and the steps one file does
// for another.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "sonde/net/tls.h"

namespace sonde::net::tls_detail {

template <typename T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const { F(p); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, Free<SSL_CTX, SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, Free<SSL, SSL_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Free<X509_STORE, X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Free<X509_STORE_CTX, X509_STORE_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, Free<BIO, BIO_free_all>>;

inline void free_general_names(GENERAL_NAMES* g) {
  GENERAL_NAMES_free(g);
}
using NamesPtr = std::unique_ptr<GENERAL_NAMES, Free<GENERAL_NAMES, free_general_names>>;

// "1.2" → TLS1_2_VERSION; -1 for anything else.
int version_number(const std::string& v);
// OpenSSL's queued errors as one "; "-joined text, each reason once.
std::string openssl_errors();

// Bytes as upper-case hex pairs joined by sep.
std::string hex(const unsigned char* p, size_t n, const char* sep);

// X509_NAME in the order it is written, "C=US, O=Example, CN=example.com".
std::string name_text(const X509_NAME* n);

// One certificate of the chain as the report shows it.
TlsCert describe_cert(X509* x, int depth);

// The trust store: the CA given, else the system's (found at run time).
StorePtr load_store(const TlsArgs& o, TlsResult& r);
int add_pem(X509_STORE* s, const std::string& pem);
int store_count(X509_STORE* s);
// Verifies the chain the server sent against the store, every error kept.
void verify_chain(const TlsArgs& o, SSL* ssl, TlsResult& r);
void check_hostname(const TlsArgs& o, X509* leaf, TlsResult& r);

}  // namespace sonde::net::tls_detail
