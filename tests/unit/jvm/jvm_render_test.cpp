// Readers of the JDK's `jfr` tool output (captured from jfr 17 on a
// recording of JvmTarget) and the jvm list table.
#include <gtest/gtest.h>

#include "data.h"
#include "sonde/render/jvm.h"

namespace sonde::render {
namespace {

TEST(JfrSummary, RealOutput) {
  auto rows = parse_jfr_summary(sonde::jvm::testing::data_file("jfr_summary_jdk17.txt"));
  ASSERT_GT(rows.size(), 20u);
  for (size_t i = 1; i < rows.size(); ++i) EXPECT_GE(rows[i - 1].second, rows[i].second);
  bool samples = false;
  for (const auto& [name, count] : rows) {
    EXPECT_EQ(name.rfind("jdk.", 0), 0u) << name;
    if (name == "jdk.ExecutionSample") samples = count > 0;
  }
  EXPECT_TRUE(samples);
  EXPECT_TRUE(parse_jfr_summary("no table here\n").empty());
}

TEST(JfrSamples, HottestIsTheHotLoop) {
  auto hot = hottest_methods(sonde::jvm::testing::data_file("jfr_execution_samples_jdk17.txt"), 5);
  ASSERT_FALSE(hot.empty());
  EXPECT_EQ(hot[0].first, "JvmTarget.hotLoop(long)");
  EXPECT_GT(hot[0].second, 0);
}

jvm::JvmInfo table_jvm() {
  jvm::JvmInfo j;
  j.pid = 4242;
  j.nspid = 1;
  j.user = "app";
  j.java_version = "17.0.15";
  j.uptime_s = 3725.0;
  j.heap.max = "256m";
  j.heap.used_bytes = 10485760;
  j.jdwp = jvm::JdwpAgent{};
  j.jdwp->address = "*:5005";
  j.jdwp->server = true;
  j.jdwp->listening = true;
  j.jdwp->port = 5005;
  j.jmx.enabled = true;
  j.jmx.port = 9010;
  j.jmx.rmi_port = 9011;
  j.container.in_container = true;
  j.main = "/opt/app.jar";
  j.main_kind = "jar";
  return j;
}

TEST(JvmList, Table) {
  jvm::JvmListResult r;
  r.jvms.push_back(table_jvm());
  r.notes.push_back("pid 7: maps not readable");
  std::string t = render_jvm_list(r);
  EXPECT_NE(t.find("4242 (1)"), std::string::npos) << t;
  EXPECT_NE(t.find("1h02m"), std::string::npos) << t;
  EXPECT_NE(t.find("*:5005 listening"), std::string::npos) << t;
  EXPECT_NE(t.find("9010/9011"), std::string::npos) << t;
  EXPECT_NE(t.find("-jar /opt/app.jar"), std::string::npos) << t;
  EXPECT_NE(t.find("max 256m, 10M used"), std::string::npos) << t;
  EXPECT_NE(t.find("note: pid 7"), std::string::npos) << t;
  EXPECT_EQ(render_jvm_list(jvm::JvmListResult{}), "no JVMs found\n");
}

TEST(JvmList, WhatIsUnknownShowsAsSuch) {
  // A JVM whose status and stat could not be read, listed by its launcher.
  jvm::JvmListResult r;
  jvm::JvmInfo j;
  j.pid = 77;
  j.command = "java -cp x Main";
  j.jdwp = jvm::JdwpAgent{};
  j.jdwp->address = "10.0.0.9:8000";  // server=n: it dials a debugger
  j.attach_disabled = true;
  r.jvms.push_back(j);
  std::string t = render_jvm_list(r);
  EXPECT_NE(t.find("77  ?"), std::string::npos) << t;  // no user, no nspid
  EXPECT_NE(t.find("dials 10.0.0.9:8000"), std::string::npos) << t;
  EXPECT_NE(t.find("disabled"), std::string::npos) << t;
  EXPECT_NE(t.find("java -cp x Main"), std::string::npos) << t;  // no main: the command
  EXPECT_EQ(t.find("(77)"), std::string::npos) << t;
}

TEST(JvmAttach, TextIsTerminalSafeAndSaysWhatWasLeftOut) {
  jvm::JvmAttachResult r{7, "threads", "Thread.print -l", "\"main\" #1\n\x1b[2Jevil", 0};
  EXPECT_EQ(render_jvm_attach(r), "\"main\" #1\n?[2Jevil\n");
  r.output = "line\n";
  r.output_more_bytes = 12345;
  EXPECT_EQ(render_jvm_attach(r),
            "line\n… (12345 more bytes of the JVM's reply not shown: capped at 8 MiB)\n");
}

TEST(Jfr, SummaryJsonAndText) {
  jvm::JfrResult r{42, "sonde-1", "profile", 60000, 2500, true, 2048, "/tmp/x.jfr"};
  JfrSummary s;
  s.tool = "/usr/bin/jfr";
  s.events.emplace();
  for (int i = 0; i < 12; ++i) s.events->push_back({"jdk.E" + std::to_string(i), 100 - i});
  s.events->push_back({"jdk.ExecutionSample", 3});
  s.hottest = {{{"Main.loop()", 3}}};
  json j = to_json(s);
  EXPECT_EQ(j["tool"], "/usr/bin/jfr");
  EXPECT_EQ(j["events"].size(), 13u);
  EXPECT_EQ(j["events"][0]["type"], "jdk.E0");
  EXPECT_EQ(j["events"][0]["count"], 100);
  EXPECT_EQ(j["hottest"][0]["method"], "Main.loop()");
  EXPECT_EQ(j["hottest"][0]["samples"], 3);
  EXPECT_FALSE(j.contains("note"));
  std::string t = render_jfr(r, s, "rec.jfr");
  EXPECT_NE(t.find("JVM 42: 2.5 s recording (profile settings, stopped early), 2.0K in rec.jfr"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("events (top 10 of 13 types)"), std::string::npos) << t;
  EXPECT_EQ(t.find("jdk.E10"), std::string::npos) << t;  // past the top 10
  // The method samples past the top 10 are still shown.
  EXPECT_NE(t.find("...  \n          3  jdk.ExecutionSample"), std::string::npos) << t;
  EXPECT_NE(t.find("        3  Main.loop()"), std::string::npos) << t;
  // No local tool: null, and a note instead of the tables.
  JfrSummary none;
  none.note = "no local `jfr` tool";
  json n = to_json(none);
  EXPECT_TRUE(n["tool"].is_null());
  EXPECT_FALSE(n.contains("events"));
  std::string nt = render_jfr(r, none, "rec.jfr");
  EXPECT_NE(nt.find("note: no local `jfr` tool\n"), std::string::npos) << nt;
  EXPECT_EQ(nt.find("events"), std::string::npos) << nt;
}

TEST(Jmx, StartedAndAlreadyRunningText) {
  jvm::JmxStarted s;
  s.pid = 5;
  s.port = 9999;
  s.bind = "127.0.0.2";
  s.url = "service:jmx:rmi:///jndi/rmi://localhost:9999/jmxrmi";
  s.user = "sonde";
  s.password = "pw";
  std::string t = render_jmx_started(s, "db1", 9999);
  EXPECT_NE(t.find("JMX agent of JVM 5 started on 127.0.0.2:9999 on db1"), std::string::npos) << t;
  EXPECT_NE(t.find("  password   pw\n"), std::string::npos) << t;
  EXPECT_NE(t.find("stopped and its login removed when sonde exits"), std::string::npos) << t;
  s.kept = true;
  s.files = "/tmp/sonde-jmx-5-x";
  EXPECT_NE(render_jmx_started(s, "db1", 9999).find("removing /tmp/sonde-jmx-5-x on the target"),
            std::string::npos);
  jvm::JmxAlreadyRunning a{5, "Agent: enabled\n", "service:jmx:rmi://h:1/stub", 1};
  std::string at = render_jmx_already_running(a, "");
  EXPECT_NE(at.find("JVM 5 already runs its JMX agent at service:jmx:rmi://h:1/stub.\n"
                    "Agent: enabled\n"),
            std::string::npos)
      << at;
  EXPECT_NE(at.find("sonde forward TARGET PORT"), std::string::npos) << at;
}

TEST(Jdwp, ForwardText) {
  jvm::JvmInfo j = table_jvm();
  std::string t = render_jdwp_forward(j, "db1", 40000, "127.0.0.1", 5005, {"a note"});
  EXPECT_NE(t.find("JDWP of JVM 4242 (/opt/app.jar) on db1: localhost:40000 -> 127.0.0.1:5005"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("jdb -attach localhost:40000"), std::string::npos) << t;
  EXPECT_NE(t.find("note: a note\n"), std::string::npos) << t;
}

TEST(Uptime, Format) {
  EXPECT_EQ(format_uptime(5), "5s");
  EXPECT_EQ(format_uptime(125), "2m05s");
  EXPECT_EQ(format_uptime(90000), "1d01h");
}

}  // namespace
}  // namespace sonde::render
