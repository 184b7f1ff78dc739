// `sonde jvm ...` end to end against real JVMs (tests/targets/java) and the
// JDK's own clients as oracles: `jfr summary` reads the fetched recording,
// `jdb -attach` lists the JVM's threads through the JDWP forward, a small JMX
// client (JmxUptime) reads the Runtime MBean through the JMX forward. And the
// refusals: a process that is no JVM, a JVM that ignores attach, and the agent
// running as another user (uid 65534) than the JVM (root) all fail within the
// bound with a hint, and the process they were aimed at is still alive.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "sonde/common/frame.h"
#include "sonde/common/ports.h"
#include "support/contains.h"
#include "support/jvm.h"
#include "support/other_user.h"
#include "support/sshd_fixture.h"
#include "support/tracee.h"

namespace sonde::testing {
namespace {

namespace fs = std::filesystem;

const std::string kJavaDir = Jvm::classes();
const std::string kSonde = std::string(SONDE_BIN_DIR) + "/sonde";
const std::string kAgent = std::string(SONDE_BIN_DIR) + "/sonde-agent";

std::string pid_str(const Tracee& t) {
  return std::to_string(t.pid());
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/sonde-jvm-test-XXXXXX";
    path_ = ::mkdtemp(tmpl) ? tmpl : "/tmp";
  }
  ~TempDir() {
    std::error_code ec;
    if (path_ != "/tmp") fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// sonde ARGS in the background with stdout and stderr captured.
std::unique_ptr<Tracee> start_sonde(std::vector<std::string> args,
                                    std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), kSonde);
  return Tracee::start(args, env);
}

// Waits for a line of sonde's stdout that contains needle; "" if none came.
std::string wait_stdout(Tracee& t, const std::string& needle, int timeout_ms = 60000) {
  auto l = t.wait_line([&](const std::string& s) { return contains(s, needle); }, timeout_ms);
  return l ? *l : "";
}

// The forward is another issue's work: skip, do not fail, while it is missing.
bool forward_missing(Tracee& t) {
  t.pump(200);
  return contains(t.err(), "forwarding is not built yet");
}

// The last whitespace-separated word of a line.
std::string last_word(const std::string& line) {
  size_t end = line.find_last_not_of(" \t\r");
  size_t start = line.find_last_of(" \t", end);
  return line.substr(start == std::string::npos ? 0 : start + 1, end - start);
}

TEST(JvmCli, ListShowsTheJvmAndItsJdwp) {
  REQUIRE_JAVA();
  int port = free_loopback_port();
  auto jvm =
      Jvm::start({"-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=127.0.0.1:" +
                  std::to_string(port)});
  ASSERT_TRUE(jvm);
  auto r = run_sonde({"--json", "jvm", "list", "local"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json j = json::parse(r.out);
  const json* mine = nullptr;
  for (const auto& x : j["jvms"])
    if (x["pid"] == jvm->pid()) mine = &x;
  ASSERT_NE(mine, nullptr) << r.out;
  EXPECT_EQ((*mine)["main"], "JvmTarget");
  EXPECT_EQ((*mine)["java_version"].get<std::string>().rfind("17.", 0), 0u);
  EXPECT_EQ((*mine)["jdwp"]["port"], port);
  EXPECT_EQ((*mine)["jdwp"]["listening"], true);
  EXPECT_EQ((*mine)["heap"]["max"], "64m");
  auto text = run_sonde({"jvm", "list", "local", "-p", pid_str(*jvm)});
  ASSERT_EQ(text.exit_code, 0) << describe(text);
  EXPECT_TRUE(contains(text.out, "JvmTarget")) << text.out;
  EXPECT_TRUE(contains(text.out, "127.0.0.1:" + std::to_string(port) + " listening")) << text.out;
}

TEST(JvmCli, ThreadsFlagsProps) {
  REQUIRE_JAVA();
  auto jvm = Jvm::start({});
  ASSERT_TRUE(jvm);
  auto t = run_sonde({"jvm", "threads", "local", "-p", pid_str(*jvm)});
  ASSERT_EQ(t.exit_code, 0) << describe(t);
  EXPECT_TRUE(contains(t.out, "\"sonde-burner\"")) << t.out;
  EXPECT_TRUE(contains(t.out, "\"sonde-waiter\"")) << t.out;
  EXPECT_TRUE(contains(t.out, "JvmTarget.hotLoop") || contains(t.out, "Thread.sleep")) << t.out;
  auto f = run_sonde({"jvm", "flags", "local", "-p", pid_str(*jvm)});
  ASSERT_EQ(f.exit_code, 0) << describe(f);
  EXPECT_TRUE(contains(f.out, "-XX:MaxHeapSize=67108864")) << f.out;
  auto p = run_sonde({"--json", "jvm", "props", "local", "-p", pid_str(*jvm)});
  ASSERT_EQ(p.exit_code, 0) << describe(p);
  EXPECT_TRUE(
      contains(json::parse(p.out)["output"].get<std::string>(), "java.class.path=" + kJavaDir));
}

// Checks a fetched recording with the JDK's reader; "" when fine.
std::string jfr_summary_problem(const std::string& file) {
  if (!have_program("jfr")) return "";
  auto s = run_cmd({"jfr", "summary", file}, {}, 60000);
  if (s.exit_code != 0) return "jfr summary failed: " + describe(s);
  if (!contains(s.out, "jdk.ExecutionSample")) return "no execution samples:\n" + s.out;
  return "";
}

// Without -o the recording lands in ./sonde-PID.jfr; an active case still
// copies it into its artifacts.
TEST(JvmCli, JfrDefaultFileIsACaseArtifact) {
  REQUIRE_JAVA();
  auto jvm = Jvm::start({});
  ASSERT_TRUE(jvm);
  TempDir dir;
  std::map<std::string, std::string> env = {{"SONDE_HOME", dir.path() + "/home"}};
  auto c = run_sonde({"case", "new", "jfr-case"}, env);
  ASSERT_EQ(c.exit_code, 0) << describe(c);
  std::string sonde = std::string(SONDE_BIN_DIR) + "/sonde";
  auto r = run_cmd({"sh", "-c",
                    "cd '" + dir.path() + "' && exec '" + sonde + "' jvm jfr local -p " +
                        pid_str(*jvm) + " --duration 2s"},
                   env, 120000);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::string name = "sonde-" + pid_str(*jvm) + ".jfr";
  ASSERT_TRUE(fs::exists(dir.path() + "/" + name));
  std::ifstream j(dir.path() + "/home/cases/jfr-case/journal.jsonl");
  std::string line, last;
  while (std::getline(j, line)) last = line;
  auto e = nlohmann::json::parse(last, nullptr, false);
  ASSERT_FALSE(e.is_discarded()) << last;
  ASSERT_EQ(e["artifacts"].size(), 1u) << last;
  EXPECT_EQ(e["artifacts"][0]["kind"], "jfr") << last;
  std::string copy =
      dir.path() + "/home/cases/jfr-case/" + e["artifacts"][0]["path"].get<std::string>();
  EXPECT_EQ(fs::file_size(copy), fs::file_size(dir.path() + "/" + name));
}

TEST(JvmCli, JfrRecordingReadByJfrSummary) {
  REQUIRE_JAVA();
  auto jvm = Jvm::start({});
  ASSERT_TRUE(jvm);
  TempDir dir;
  std::string file = dir.path() + "/rec.jfr";
  auto r = run_sonde({"jvm", "jfr", "local", "-p", pid_str(*jvm), "--duration", "3s", "-o", file},
                     {}, 120000);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  ASSERT_TRUE(fs::exists(file));
  EXPECT_FALSE(fs::exists(file + ".part"));
  EXPECT_EQ(jfr_summary_problem(file), "");
  if (have_program("jfr")) {
    EXPECT_TRUE(contains(r.out, "jdk.ExecutionSample")) << r.out;
    EXPECT_TRUE(contains(r.out, "JvmTarget.hotLoop(long)")) << r.out;
  }
  // The remote copy is gone.
  for (const auto& e : fs::directory_iterator("/tmp"))
    EXPECT_FALSE(contains(e.path().filename().string(), "sonde-" + pid_str(*jvm) + "-"))
        << e.path();
}

TEST(JvmCli, JfrCtrlCStopsEarlyAndStillFetches) {
  REQUIRE_JAVA();
  auto jvm = Jvm::start({});
  ASSERT_TRUE(jvm);
  TempDir dir;
  std::string file = dir.path() + "/early.jfr";
  auto s =
      start_sonde({"jvm", "jfr", "local", "-p", pid_str(*jvm), "--duration", "10m", "-o", file});
  ASSERT_TRUE(s);
  ASSERT_TRUE(wait_until(
      [&] {
        s->pump(50);
        return contains(s->err(), "recording JVM");
      },
      60000))
      << s->err();
  s->signal(SIGINT);
  auto st = s->wait(120000);
  ASSERT_TRUE(st.has_value()) << "sonde did not finish after Ctrl-C";
  // Ctrl-C: 130, as in every command, after the work is wound up.
  EXPECT_EQ(wait_status_text(st), "exited with 130") << s->err();
  ASSERT_TRUE(fs::exists(file)) << s->err();
  EXPECT_TRUE(contains(s->out(), "stopped early")) << s->out();
  EXPECT_EQ(jfr_summary_problem(file), "");
  EXPECT_FALSE(proc_dead(jvm->pid()));
}

TEST(JvmCli, JfrOverSsh) {
  REQUIRE_JAVA();
  std::string why;
  std::unique_ptr<Sshd> sshd(Sshd::start(&why));
  if (!sshd) GTEST_SKIP() << why;
  auto jvm = Jvm::start({});
  ASSERT_TRUE(jvm);
  TempDir dir;
  std::string file = dir.path() + "/ssh.jfr";
  auto r = run_sonde({"jvm", "jfr", sshd->alias(), "-p", pid_str(*jvm), "--duration", "2s",
                      "--settings", "default", "-o", file},
                     {{"HOME", sshd->home()}}, 120000);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(jfr_summary_problem(file), "");
}

TEST(JvmCli, DebugWithoutJdwpSaysSo) {
  REQUIRE_JAVA();
  auto jvm = Jvm::start({});
  ASSERT_TRUE(jvm);
  auto r = run_sonde({"jvm", "debug", "local", "-p", pid_str(*jvm)});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(contains(r.err, "has no JDWP agent")) << r.err;
  EXPECT_TRUE(contains(r.err, "cannot be switched on")) << r.err;
  EXPECT_TRUE(contains(r.err, "-agentlib:jdwp=transport=dt_socket,server=y")) << r.err;
}

TEST(JvmCli, DebugForwardsJdwpToJdb) {
  REQUIRE_JAVA();
  if (!have_program("jdb")) GTEST_SKIP() << "no jdb (openjdk-17-jdk-headless)";
  int port = free_loopback_port();
  auto jvm =
      Jvm::start({"-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=127.0.0.1:" +
                  std::to_string(port)});
  ASSERT_TRUE(jvm);
  auto s = start_sonde({"jvm", "debug", "local", "-p", pid_str(*jvm)});
  ASSERT_TRUE(s);
  std::string line = wait_stdout(*s, "jdb -attach");
  if (line.empty() && forward_missing(*s)) GTEST_SKIP() << "port forwarding is not built yet";
  ASSERT_FALSE(line.empty()) << s->out() << s->err();
  EXPECT_TRUE(contains(s->out(), "no authentication")) << s->out();
  std::string addr = last_word(line);  // localhost:N
  int local = std::stoi(addr.substr(addr.find(':') + 1));
  ASSERT_NE(local, port);

  // The JDWP handshake through the forward: 14 bytes each way.
  {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(local));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ASSERT_EQ(::write(fd, "JDWP-Handshake", 14), 14);
    char buf[14];
    size_t got = 0;
    while (got < sizeof buf) {
      ssize_t n = ::read(fd, buf + got, sizeof buf - got);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    ::close(fd);
    ASSERT_EQ(std::string(buf, got), "JDWP-Handshake");
  }
  // jdb through the forward lists the JVM's threads. The JDWP agent takes
  // one debugger at a time: give it a moment to see the first one leave.
  sonde::testing::Run jdb;
  for (int i = 0; i < 20; ++i) {
    jdb = run_cmd({"jdb", "-attach", addr}, {}, 60000, "threads\nquit\n");
    if (contains(jdb.out, "sonde-burner")) break;
    ::usleep(250000);
  }
  EXPECT_TRUE(contains(jdb.out, "sonde-burner")) << describe(jdb) << jdb.out;
  EXPECT_TRUE(contains(jdb.out, "sonde-waiter")) << jdb.out;
  s->signal(SIGINT);
  auto st = s->wait(20000);
  // Ctrl-C: 130, as in every command, after the work is wound up.
  EXPECT_EQ(wait_status_text(st), "exited with 130") << s->err();
  EXPECT_FALSE(proc_dead(jvm->pid()));
}

// The login `sonde jvm jmx` printed: URL, user, password.
struct JmxLogin {
  std::string url, user, password;
  int port = 0;
};
JmxLogin read_login(Tracee& s) {
  JmxLogin l;
  std::string line = wait_stdout(s, "URL ");
  if (line.empty()) return l;
  l.url = last_word(line);
  l.user = last_word(wait_stdout(s, "user "));
  l.password = last_word(wait_stdout(s, "password "));
  auto colon = l.url.rfind(':');
  if (colon != std::string::npos) l.port = std::atoi(l.url.c_str() + colon + 1);
  return l;
}

// The session's login directory in the JVM's /tmp ("" when none).
std::string jmx_dir_of(const Tracee& jvm) {
  for (const auto& e : fs::directory_iterator("/tmp"))
    if (e.path().filename().string().rfind("sonde-jmx-" + pid_str(jvm) + "-", 0) == 0)
      return e.path().string();
  return "";
}

// Something accepts TCP connections on addr:port.
bool tcp_open(const std::string& addr, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, addr.c_str(), &a.sin_addr);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

sonde::testing::Run jmx_client(const JmxLogin& l, const std::string& user,
                               const std::string& password) {
  std::vector<std::string> argv = {"java", "-cp", kJavaDir, "JmxUptime", l.url};
  if (!user.empty()) argv.insert(argv.end(), {user, password});
  return run_cmd(argv, {}, 60000);
}

TEST(JvmCli, JmxAgentStartedAndReachedThroughTheForward) {
  REQUIRE_JAVA();
  auto jvm = Jvm::start({});
  ASSERT_TRUE(jvm);
  auto s = start_sonde({"jvm", "jmx", "local", "-p", pid_str(*jvm)});
  ASSERT_TRUE(s);
  JmxLogin login = read_login(*s);
  if (login.url.empty() && forward_missing(*s)) GTEST_SKIP() << "port forwarding is not built yet";
  ASSERT_FALSE(login.url.empty()) << s->out() << s->err();
  ASSERT_EQ(login.url.rfind("service:jmx:rmi:///jndi/rmi://localhost:", 0), 0u) << login.url;
  EXPECT_EQ(login.user, "sonde") << s->out();
  EXPECT_GE(login.password.size(), 20u) << s->out();
  auto c = jmx_client(login, login.user, login.password);
  ASSERT_EQ(c.exit_code, 0) << describe(c) << c.out;
  EXPECT_TRUE(contains(c.out, "UPTIME ")) << c.out;
  EXPECT_TRUE(contains(c.out, "OpenJDK")) << c.out;
  s->signal(SIGINT);
  auto st = s->wait(30000);
  // Ctrl-C: 130, as in every command, after the work is wound up.
  EXPECT_EQ(wait_status_text(st), "exited with 130") << s->err();
  EXPECT_TRUE(contains(s->err(), "stopped the JMX agent")) << s->err();
  EXPECT_FALSE(proc_dead(jvm->pid()));
  // The helper jar is gone from the JVM's /tmp.
  for (const auto& e : fs::directory_iterator("/tmp"))
    EXPECT_FALSE(contains(e.path().filename().string(), "sonde-rmihost-" + pid_str(*jvm)))
        << e.path();
}

// The JMX agent asks for the session's login: none or a wrong password is
// refused, another local user can read neither file nor log in, and the
// files are the JVM user's, 0600 in a 0700 directory. After Ctrl-C the
// port is closed and the files are gone.
TEST(JvmCli, JmxLoginIsPrivateAndGoesWithTheSession) {
  REQUIRE_JAVA();
  auto jvm = Jvm::start({});
  ASSERT_TRUE(jvm);
  auto s = start_sonde({"jvm", "jmx", "local", "-p", pid_str(*jvm)});
  ASSERT_TRUE(s);
  JmxLogin login = read_login(*s);
  ASSERT_GT(login.port, 0) << s->out() << s->err();

  std::string dir = jmx_dir_of(*jvm);
  ASSERT_FALSE(dir.empty()) << "no /tmp/sonde-jmx-" << pid_str(*jvm) << "-*";
  struct stat sd {};
  ASSERT_EQ(::stat(dir.c_str(), &sd), 0);
  EXPECT_EQ(sd.st_mode & 07777, 0700u);
  EXPECT_EQ(sd.st_uid, ::geteuid());  // the JVM's user: root here
  for (const char* f : {"/jmxremote.password", "/jmxremote.access"}) {
    struct stat sf {};
    ASSERT_EQ(::lstat((dir + f).c_str(), &sf), 0) << dir << f;
    EXPECT_TRUE(S_ISREG(sf.st_mode));
    EXPECT_EQ(sf.st_mode & 07777, 0600u) << f;
    EXPECT_EQ(sf.st_uid, ::geteuid());
  }

  auto none = jmx_client(login, "", "");
  EXPECT_EQ(none.exit_code, 3) << describe(none) << none.out;
  EXPECT_TRUE(contains(none.out, "REFUSED")) << none.out;
  auto wrong = jmx_client(login, login.user, "not-the-password");
  EXPECT_EQ(wrong.exit_code, 3) << describe(wrong) << wrong.out;
  auto right = jmx_client(login, login.user, login.password);
  EXPECT_EQ(right.exit_code, 0) << describe(right) << right.out;

  std::string why;
  if (auto other = other_user(&why)) {
    auto cat = run_as(*other, {"/bin/cat", dir + "/jmxremote.password"});
    EXPECT_NE(cat.exit_code, 0) << cat.output;
    EXPECT_TRUE(contains(cat.output, "Permission denied")) << cat.output;
    EXPECT_FALSE(contains(cat.output, login.password));
    std::string java = fs::canonical("/usr/bin/java").string();
    auto as_other = run_as(
        *other, {java, "-XX:-UsePerfData", "-Xshare:auto", "-cp", kJavaDir, "JmxUptime", login.url},
        60000);
    EXPECT_EQ(as_other.exit_code, 3) << as_other.output;
    EXPECT_TRUE(contains(as_other.output, "REFUSED")) << as_other.output;
  } else {
    std::printf("note: no second user (%s)\n", why.c_str());
  }

  s->signal(SIGINT);
  auto st = s->wait(30000);
  // Ctrl-C: 130, as in every command, after the work is wound up.
  EXPECT_EQ(wait_status_text(st), "exited with 130") << s->err();
  // The JVM's end (127.0.0.2 on the same machine) is closed, the files gone.
  EXPECT_FALSE(tcp_open("127.0.0.2", login.port));
  EXPECT_FALSE(fs::exists(dir)) << dir;
  EXPECT_FALSE(proc_dead(jvm->pid()));
}

// The controller killed outright: the agent sees its stdin close, cancels
// the session's jvm.jmx, and that stops JMX and removes the files.
TEST(JvmCli, JmxStoppedWhenTheControllerIsKilled) {
  REQUIRE_JAVA();
  auto jvm = Jvm::start({});
  ASSERT_TRUE(jvm);
  auto s = start_sonde({"jvm", "jmx", "local", "-p", pid_str(*jvm)});
  ASSERT_TRUE(s);
  JmxLogin login = read_login(*s);
  ASSERT_GT(login.port, 0) << s->out() << s->err();
  std::string dir = jmx_dir_of(*jvm);
  ASSERT_FALSE(dir.empty());
  ASSERT_TRUE(tcp_open("127.0.0.2", login.port));
  s->signal(SIGKILL);
  s->wait(5000);
  EXPECT_TRUE(wait_until([&] { return !tcp_open("127.0.0.2", login.port); }, 10000))
      << "JMX still listens on 127.0.0.2:" << login.port;
  EXPECT_TRUE(wait_until([&] { return !fs::exists(dir); }, 10000)) << dir;
  EXPECT_FALSE(proc_dead(jvm->pid()));
}

TEST(JvmCli, NonJvmIsRefusedAndSurvives) {
  REQUIRE_JAVA();
  auto victim = Tracee::start({"sleep", "120"});
  ASSERT_TRUE(victim);
  auto r = run_sonde({"jvm", "threads", "local", "-p", pid_str(*victim)});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(contains(r.err, "not a HotSpot JVM")) << r.err;
  EXPECT_TRUE(contains(r.err, "hint:")) << r.err;
  EXPECT_FALSE(victim->wait(500).has_value()) << "the process died";
}

TEST(JvmCli, JvmIgnoringAttachFailsWithinTheBound) {
  REQUIRE_JAVA();
  // Hidden from the command line: only the bounded wait can tell.
  auto jvm = Jvm::start({}, {{"JAVA_TOOL_OPTIONS", "-XX:+DisableAttachMechanism"}});
  ASSERT_TRUE(jvm);
  auto r = run_sonde({"jvm", "threads", "local", "-p", pid_str(*jvm), "--attach-timeout", "2s"}, {},
                     60000);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(contains(r.err, "did not open its attach socket within 2.0 s")) << r.err;
  EXPECT_TRUE(contains(r.err, "DisableAttachMechanism")) << r.err;
  EXPECT_FALSE(jvm->wait(300).has_value()) << "the JVM died";
  // On the command line it is refused at once, without a signal.
  auto jvm2 = Jvm::start({"-XX:+DisableAttachMechanism"});
  ASSERT_TRUE(jvm2);
  auto r2 = run_sonde({"jvm", "flags", "local", "-p", pid_str(*jvm2)});
  EXPECT_EQ(r2.exit_code, 1) << describe(r2);
  EXPECT_TRUE(contains(r2.err, "refuses attach")) << r2.err;
  EXPECT_FALSE(jvm2->wait(300).has_value()) << "the JVM died";
}

TEST(JvmCli, WrongUserIsRefusedWithAHint) {
  REQUIRE_JAVA();
  if (!is_root()) GTEST_SKIP() << "needs root (the agent drops to uid 65534 with setpriv)";
  if (!have_program("setpriv")) GTEST_SKIP() << "no setpriv (util-linux)";
  auto jvm = Jvm::start({});  // runs as root
  ASSERT_TRUE(jvm);
  std::string via = "setpriv --reuid 65534 --regid 65534 --clear-groups " + kAgent + " serve";
  for (const char* what : {"threads", "flags"}) {
    auto r = run_sonde({"--via", via, "jvm", what, "-p", pid_str(*jvm), "--attach-timeout", "2s"},
                       {}, 60000);
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_TRUE(contains(r.err, "hint:")) << r.err;
    EXPECT_TRUE(contains(r.err, "runs as uid 0 and the agent as uid 65534")) << r.err;
    EXPECT_TRUE(contains(r.err, "--sudo")) << r.err;
  }
  EXPECT_FALSE(jvm->wait(300).has_value()) << "the JVM died";
}

}  // namespace
}  // namespace sonde::testing
