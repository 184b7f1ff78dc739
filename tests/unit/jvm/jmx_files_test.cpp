// The JMX login files (jvm/jmx.h) made for this test process as if it were
// the JVM: a 0700 directory in /tmp, the password and access files 0600,
// owned by the process's user, the password random and fit for the JDK's
// whitespace-separated format; and the start line that points the
// management agent at them with authentication on and TLS off.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sonde/jvm/jmx.h"

namespace sonde::jvm {
namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(JmxFiles, PrivateFilesWithARandomPassword) {
  auto f = make_jmx_files(::getpid());
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->dir.rfind("/tmp/sonde-jmx-" + std::to_string(::getpid()) + "-", 0), 0u) << f->dir;
  EXPECT_EQ(f->jvm_dir, f->dir);  // same mount namespace
  struct stat sd {};
  ASSERT_EQ(::stat(f->dir.c_str(), &sd), 0);
  EXPECT_EQ(sd.st_mode & 07777, 0700u);
  EXPECT_EQ(sd.st_uid, ::geteuid());
  for (const std::string& p : {f->password_file(), f->access_file()}) {
    struct stat st {};
    ASSERT_EQ(::lstat(p.c_str(), &st), 0) << p;
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600u) << p;
    EXPECT_EQ(st.st_uid, ::geteuid());
  }
  EXPECT_EQ(f->user, "sonde");
  ASSERT_EQ(f->password.size(), 24u);
  for (char c : f->password) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << c;
  EXPECT_EQ(slurp(f->password_file()), "sonde " + f->password + "\n");
  EXPECT_EQ(slurp(f->access_file()), "sonde readwrite\n");

  // Another session gets another password.
  auto g = make_jmx_files(::getpid());
  ASSERT_TRUE(g);
  EXPECT_NE(g->password, f->password);
  EXPECT_NE(g->dir, f->dir);

  std::string line = jmx_start_line(4321, "127.0.0.1", *f);
  EXPECT_NE(line.find("jmxremote.authenticate=true"), std::string::npos) << line;
  EXPECT_NE(line.find("jmxremote.password.file=" + f->password_file()), std::string::npos);
  EXPECT_NE(line.find("jmxremote.access.file=" + f->access_file()), std::string::npos);
  EXPECT_NE(line.find("jmxremote.host=127.0.0.1"), std::string::npos);
  EXPECT_NE(line.find("jmxremote.ssl=false"), std::string::npos);
  EXPECT_EQ(line.find("authenticate=false"), std::string::npos);

  // The JDK may leave a rewritten (hashed) copy beside the file: it goes too.
  std::ofstream(f->dir + "/jmxremote.password.tmp") << "x";
  remove_jmx_files(f->dir);
  EXPECT_FALSE(fs::exists(f->dir));
  remove_jmx_files(f->dir);  // twice is fine
  // stop_jmx on a process that is no JVM still removes the files.
  auto st = stop_jmx(0, g->dir);
  EXPECT_TRUE(st.ok());
  EXPECT_FALSE(fs::exists(g->dir));
}

}  // namespace
}  // namespace sonde::jvm
