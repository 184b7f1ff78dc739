// The attach library against real JVMs started here (tests/targets/java):
// a thread dump through a native attach, discovery, a short JFR recording,
// and the refusals: a process that is no JVM, a JVM started with
// -XX:+DisableAttachMechanism (on its command line, and hidden in
// JAVA_TOOL_OPTIONS so that only the bounded wait can tell), and one started
// with -Xrs. After each refusal the process is still alive.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "sonde/common/io.h"
#include "sonde/jvm/attach.h"
#include "sonde/jvm/discover.h"
#include "sonde/jvm/jfr.h"
#include "support/jvm.h"
#include "support/tracee.h"

namespace sonde::jvm {
namespace {

using sonde::testing::Jvm;
using sonde::testing::Tracee;

const std::string kJavaDir = Jvm::classes();

TEST(AttachLive, ThreadDumpFlagsAndProps) {
  REQUIRE_JAVA();
  auto jvm = Jvm::start({});
  ASSERT_TRUE(jvm);
  CancelToken cancel;
  auto dump = jcmd(jvm->pid(), "Thread.print -l", {}, &cancel);
  ASSERT_TRUE(dump.ok()) << dump.error().describe();
  EXPECT_NE(dump->find("\"sonde-burner\""), std::string::npos);
  EXPECT_NE(dump->find("\"sonde-waiter\""), std::string::npos);
  EXPECT_NE(dump->find("JvmTarget.main"), std::string::npos);
  auto flags = jcmd(jvm->pid(), "VM.flags", {}, &cancel);
  ASSERT_TRUE(flags.ok());
  EXPECT_NE(flags->find("-XX:MaxHeapSize=67108864"), std::string::npos) << *flags;
  auto props = jcmd(jvm->pid(), "VM.system_properties", {}, &cancel);
  ASSERT_TRUE(props.ok());
  EXPECT_NE(props->find("java.class.path=" + kJavaDir), std::string::npos);
  // An unknown command is the JVM's error, not ours.
  auto bad = jcmd(jvm->pid(), "No.such.command", {}, &cancel);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("Unknown diagnostic command"), std::string::npos);
  EXPECT_FALSE(sonde::testing::proc_dead(jvm->pid()));
}

TEST(AttachLive, ListFindsTheJvm) {
  REQUIRE_JAVA();
  auto jvm =
      Jvm::start({"-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=127.0.0.1:0"});
  ASSERT_TRUE(jvm);
  ListOptions o;
  o.only_pid = jvm->pid();
  auto r = list_jvms(o);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  ASSERT_EQ(r->jvms.size(), 1u);
  const JvmInfo& j = r->jvms[0];
  EXPECT_EQ(j.main, "JvmTarget");
  EXPECT_EQ(j.java_version.substr(0, 3), "17.");
  EXPECT_TRUE(j.hotspot);
  EXPECT_EQ(j.heap.max, "64m");
  ASSERT_TRUE(j.jdwp);
  EXPECT_TRUE(j.jdwp->server);
  EXPECT_FALSE(j.container.in_container);
  // address=...:0 picks a random port: the JVM listens on it.
  EXPECT_FALSE(j.listening.empty()) << to_json(j).dump();
  auto all = list_jvms();
  ASSERT_TRUE(all.ok());
  bool found = false;
  for (const auto& x : all->jvms) found |= x.pid == jvm->pid();
  EXPECT_TRUE(found);
  auto not_jvm = list_jvms(ListOptions{::getpid()});
  ASSERT_FALSE(not_jvm.ok());
  EXPECT_EQ(not_jvm.error().code, errc::kNotFound);
}

TEST(AttachLive, JfrRecordingStreamsAndCleansUp) {
  REQUIRE_JAVA();
  auto jvm = Jvm::start({});
  ASSERT_TRUE(jvm);
  CancelToken cancel;
  JfrOptions o;
  o.pid = jvm->pid();
  o.duration_ms = 2000;
  o.chunk_bytes = 16384;
  std::string file;
  int progress = 0;
  bool ordered = true;
  JfrCallbacks cb;
  cb.progress = [&](const JfrEvent&) { ++progress; };
  cb.chunk = [&](uint64_t off, std::string_view b) {
    ordered &= off == file.size();
    file.append(b);
  };
  auto r = record_jfr(o, cancel, cb);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_TRUE(ordered);
  EXPECT_EQ(r->bytes, file.size());
  ASSERT_GT(file.size(), 1000u);
  EXPECT_EQ(file.substr(0, 4), std::string("FLR\0", 4));  // JFR's magic
  EXPECT_GE(progress, 3);
  EXPECT_FALSE(r->stopped_early);
  std::string remote = "/proc/" + std::to_string(jvm->pid()) + "/root" + r->remote_path;
  EXPECT_NE(::access(remote.c_str(), F_OK), 0) << "the remote copy is still there";
}

TEST(AttachLive, CancelledJfrStillDumps) {
  REQUIRE_JAVA();
  auto jvm = Jvm::start({});
  ASSERT_TRUE(jvm);
  CancelToken cancel;
  JfrOptions o;
  o.pid = jvm->pid();
  o.duration_ms = 600000;
  size_t bytes = 0;
  JfrCallbacks cb;
  cb.progress = [&](const JfrEvent& ev) {
    if (const auto* rec = std::get_if<JfrRecording>(&ev); rec && rec->elapsed_ms >= 1000)
      cancel.cancel();  // the Ctrl-C
  };
  cb.chunk = [&](uint64_t, std::string_view b) { bytes += b.size(); };
  auto r = record_jfr(o, cancel, cb);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_TRUE(r->stopped_early);
  EXPECT_GT(bytes, 1000u);
}

TEST(AttachLive, NonJvmIsNeverSignalled) {
  REQUIRE_JAVA();
  // sleep keeps SIGQUIT's default action: a SIGQUIT would kill it.
  auto victim = Tracee::start({"sleep", "60"});
  ASSERT_TRUE(victim);
  AttachOptions ao;
  ao.connect_timeout_ms = 2000;
  auto r = attach_execute(victim->pid(), "jcmd", {"Thread.print"}, ao, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not a HotSpot JVM"), std::string::npos) << r.error().message;
  EXPECT_FALSE(r.error().hint.empty());
  EXPECT_FALSE(victim->wait(300).has_value()) << "the process died";
  std::string trigger =
      "/proc/" + std::to_string(victim->pid()) + "/cwd/.attach_pid" + std::to_string(victim->pid());
  EXPECT_NE(::access(trigger.c_str(), F_OK), 0);
}

TEST(AttachLive, DisabledOnTheCommandLineFailsAtOnce) {
  REQUIRE_JAVA();
  auto jvm = Jvm::start({"-XX:+DisableAttachMechanism"});
  ASSERT_TRUE(jvm);
  auto r = attach_execute(jvm->pid(), "jcmd", {"Thread.print"}, {}, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("DisableAttachMechanism"), std::string::npos);
  EXPECT_FALSE(r.error().hint.empty());
  EXPECT_FALSE(jvm->wait(300).has_value()) << "the JVM died";
}

TEST(AttachLive, DisabledInToolOptionsTimesOutWithinTheBound) {
  REQUIRE_JAVA();
  auto jvm = Jvm::start({}, {{"JAVA_TOOL_OPTIONS", "-XX:+DisableAttachMechanism"}});
  ASSERT_TRUE(jvm);
  AttachOptions ao;
  ao.connect_timeout_ms = 1500;
  auto r = attach_execute(jvm->pid(), "jcmd", {"Thread.print"}, ao, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::kTimeout) << r.error().message;
  EXPECT_NE(r.error().hint.find("DisableAttachMechanism"), std::string::npos);
  EXPECT_FALSE(jvm->wait(300).has_value()) << "the JVM died";
  std::string trigger =
      "/proc/" + std::to_string(jvm->pid()) + "/cwd/.attach_pid" + std::to_string(jvm->pid());
  EXPECT_NE(::access(trigger.c_str(), F_OK), 0) << "the trigger file was left behind";
}

TEST(AttachLive, ReducedSignalsNeverGetsSigquit) {
  REQUIRE_JAVA();
  // With -Xrs the JVM does not catch SIGQUIT (it would kill it) and so opens
  // its attach socket at start-up instead: attach works without a signal.
  auto jvm = Jvm::start({"-Xrs"});
  ASSERT_TRUE(jvm);
  auto ok = attach_execute(jvm->pid(), "jcmd", {"VM.version"}, {}, nullptr);
  ASSERT_TRUE(ok.ok()) << ok.error().describe();
  EXPECT_EQ(ok->status, 0);
  // Without that socket sonde would need SIGQUIT, and refuses.
  std::string sock = attach_socket_path(jvm->pid(), jvm->pid());
  ASSERT_EQ(::unlink(sock.c_str()), 0) << sock;
  auto r = attach_execute(jvm->pid(), "jcmd", {"VM.version"}, {}, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("SIGQUIT"), std::string::npos) << r.error().message;
  EXPECT_FALSE(jvm->wait(500).has_value()) << "the JVM died";
}

}  // namespace
}  // namespace sonde::jvm
