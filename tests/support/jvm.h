// A real JVM for the tests of sonde's JVM support: tests/targets/java's
// JvmTarget (burner threads, a known heap), started and waited for until it
// prints READY. It is a Tracee: killed with its process group on destruction.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "run.h"
#include "tracee.h"

namespace sonde::testing {

class Jvm : public Tracee {
 public:
  // Where the Java test programs are built (needs javac at build time).
  static std::string classes() { return std::string(SONDE_TARGETS_DIR) + "/java"; }

  // Whether a JVM can be started here; *why says what is missing, for
  // GTEST_SKIP().
  static bool available(std::string* why) {
    if (!have_program("java")) {
      *why = "no java here (apt-get install openjdk-17-jdk-headless)";
      return false;
    }
    if (!std::filesystem::exists(classes() + "/JvmTarget.class")) {
      *why = "the Java test programs were not built (javac missing at build time)";
      return false;
    }
    return true;
  }

  // `java FLAGS... -Xmx64m -XX:TieredStopAtLevel=1 -cp classes() JvmTarget 300`
  // with env added to ours, once it printed READY (up to 30 s). nullptr, with
  // a test failure recorded, when it did not start or get ready.
  static std::unique_ptr<Jvm> start(const std::vector<std::string>& flags = {},
                                    const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> argv{"java"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    for (const char* a : {"-Xmx64m", "-XX:TieredStopAtLevel=1", "-cp"}) argv.push_back(a);
    argv.push_back(classes());
    argv.push_back("JvmTarget");
    argv.push_back("300");
    auto t = start_as<Jvm>(argv, env);
    if (!t) {
      ADD_FAILURE() << "cannot start java";
      return nullptr;
    }
    if (!t->wait_line([](const std::string& l) { return l.rfind("READY", 0) == 0; }, 30000)) {
      t->pump(100);
      ADD_FAILURE() << "JvmTarget did not get ready: " << t->err();
      return nullptr;
    }
    return t;
  }

 private:
  friend class Tracee;
  using Tracee::Tracee;
};

// Skips the test when Jvm::available() says no.
#define REQUIRE_JAVA()                                                                \
  do {                                                                                \
    std::string why_no_java;                                                          \
    if (!::sonde::testing::Jvm::available(&why_no_java)) GTEST_SKIP() << why_no_java; \
  } while (0)

}  // namespace sonde::testing
