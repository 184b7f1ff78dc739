#include "sonde/jvm/jmx.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>

#include "sonde/common/fd.h"
#include "sonde/common/io.h"
#include "sonde/common/undo.h"
#include "sonde/common/untrusted.h"
#include "sonde/jvm/attach.h"
#include "sonde/jvm/process.h"
#include "sonde/proc/text.h"

namespace sonde::jvm {

// Generated at build time from jvm/java (see jvm/CMakeLists.txt).
extern const unsigned char kRmiHostAgentJar[];
extern const size_t kRmiHostAgentJarSize;

std::string_view rmi_host_agent_jar() {
  return {reinterpret_cast<const char*>(kRmiHostAgentJar), kRmiHostAgentJarSize};
}

std::string jmx_start_line(int port, const std::string& bind, const JmxFiles& files) {
  return fmt::format(
      "ManagementAgent.start jmxremote.host={} jmxremote.port={} jmxremote.rmi.port={} "
      "jmxremote.authenticate=true jmxremote.password.file={} jmxremote.access.file={} "
      "jmxremote.ssl=false jmxremote.registry.ssl=false",
      bind, port, port, files.password_file(), files.access_file());
}

std::string jmx_url(int port) {
  return fmt::format("service:jmx:rmi:///jndi/rmi://localhost:{}/jmxrmi", port);
}

JmxStatus parse_management_status(std::string_view out) {
  JmxStatus s;
  s.text = std::string(out);
  for (auto line : proc::split_char(out, '\n')) {
    auto t = proc::trim(line);
    if (t.rfind("Agent:", 0) == 0) s.enabled = proc::trim(t.substr(6)) == "enabled";
    if (t.rfind("Connection Type:", 0) == 0) s.remote = proc::trim(t.substr(16)) == "remote";
    if (t.rfind("URL", 0) == 0) {
      size_t colon = t.find(':');
      if (colon == std::string_view::npos) continue;
      std::string url(proc::trim(t.substr(colon + 1)));
      // Only the remote connector's URL is one a client outside the JVM's
      // host can use; the local one is printed too, first.
      if (s.remote || s.url.empty()) s.url = url;
    }
  }
  // service:jmx:rmi:///jndi/rmi://HOST:PORT/jmxrmi
  if (size_t at = s.url.find("rmi://"); s.remote && at != std::string::npos) {
    std::string_view rest = std::string_view(s.url).substr(at + 6);
    size_t slash = rest.find('/');
    std::string_view hp = rest.substr(0, slash);
    size_t colon = hp.rfind(':');
    if (colon != std::string_view::npos)
      if (auto p = proc::to_ll(hp.substr(colon + 1)); p && *p > 0 && *p < 65536)
        s.port = static_cast<int>(*p);
  }
  return s;
}

namespace {

// The helper jar in the JVM's /tmp, readable by the JVM's user, removed on
// every path once loaded.
class JarFile {
 public:
  ~JarFile() {
    if (!our_path_.empty()) ::unlink(our_path_.c_str());
  }
  Status write(pid_t pid, const ProcIds& ids, std::string_view bytes) {
    std::mt19937_64 rng(std::random_device{}());
    std::string tag = fmt::format("{:08x}", static_cast<uint32_t>(rng()));
    jvm_path_ = fmt::format("/tmp/sonde-rmihost-{}-{}.jar", pid, tag);
    std::string path = jvm_tmp_dir(pid) + jvm_path_.substr(4);
    auto reg = undo::register_change(undo::kFile, pid, {{"path", path}});  // before it exists
    if (!reg) return reg.error();
    undo_ = std::move(*reg);
    ScopedFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd.valid())
      return errno_error("create " + path, errno,
                         "the JVM's /tmp must be writable by the agent; run it as the JVM's "
                         "user or with --sudo");
    our_path_ = path;
    if (auto w = write_all(fd.get(), bytes); !w) return w.error();
    // Root wrote it: hand it to the JVM's user so it is readable whatever
    // the umask was.
    if (::geteuid() == 0) (void)!::fchown(fd.get(), ids.euid, ids.egid);
    (void)::fchmod(fd.get(), 0644);
    return ok_status();
  }
  const std::string& jvm_path() const { return jvm_path_; }

 private:
  std::string our_path_, jvm_path_;
  undo::Change undo_;  // forgotten after the destructor's unlink
};

bool port_in_use(std::string_view out) {
  return out.find("Port already in use") != std::string_view::npos ||
         out.find("BindException") != std::string_view::npos ||
         out.find("Address already in use") != std::string_view::npos;
}

// Letters and digits only: the password goes into a file the JDK splits on
// white space, and onto the user's command line.
Result<std::string> random_password(size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  while (out.size() < n) {
    unsigned char b[64];
    ssize_t got = ::getrandom(b, sizeof b, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return errno_error("getrandom");
    }
    // 62 letters: bytes from 248 up would skew the draw.
    for (ssize_t i = 0; i < got && out.size() < n; ++i)
      if (b[i] < 248) out += kAlphabet[b[i] % 62];
  }
  return out;
}

Status write_owned_file(const std::string& path, const std::string& text, const ProcIds& ids) {
  ScopedFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return errno_error("create " + path);
  if (::geteuid() == 0 && ::fchown(fd.get(), ids.euid, ids.egid) != 0)
    return errno_error("chown " + path);
  if (::fchmod(fd.get(), 0600) != 0) return errno_error("chmod " + path);
  if (auto w = write_all(fd.get(), text); !w) return w.error();
  return ok_status();
}

}  // namespace

Result<JmxFiles> make_jmx_files(pid_t pid) {
  auto ids = read_proc_ids(pid);
  if (!ids) return ids.error();
  JmxFiles f;
  // Same mount namespace: the plain path, which stays valid for the
  // watchdog's cleanup after the JVM itself is gone.
  std::string tmp = compare_namespaces(pid).same_mnt ? "/tmp" : jvm_tmp_dir(pid);
  std::string tmpl = fmt::format("{}/sonde-jmx-{}-XXXXXX", tmp, pid);
  if (!::mkdtemp(tmpl.data()))
    return errno_error("mkdtemp " + tmpl, errno,
                       "the JVM's /tmp must be writable by the agent; run it as the JVM's user "
                       "or with --sudo");
  f.dir = tmpl;
  f.jvm_dir = "/tmp" + f.dir.substr(tmp.size());
  auto fail = [&](Error e) -> Result<JmxFiles> {
    remove_jmx_files(f.dir);
    return e;
  };
  // The JVM reads the files as its own user: the directory is that user's.
  if (::geteuid() == 0 && ::chown(f.dir.c_str(), ids->euid, ids->egid) != 0)
    return fail(errno_error("chown " + f.dir));
  auto pw = random_password(24);
  if (!pw) return fail(pw.error());
  f.user = "sonde";
  f.password = *pw;
  std::string pfile = f.dir + "/jmxremote.password", afile = f.dir + "/jmxremote.access";
  if (auto st = write_owned_file(pfile, f.user + " " + f.password + "\n", *ids); !st.ok())
    return fail(st.error());
  if (auto st = write_owned_file(afile, f.user + " readwrite\n", *ids); !st.ok())
    return fail(st.error());
  return f;
}

void remove_jmx_files(const std::string& dir) {
  // The JDK may rewrite the password file with hashes (through a temp file
  // beside it): everything in our own folder goes. The JVM's user owns the
  // folder, so it is removed without following anything that user put there.
  if (!dir.empty()) (void)remove_private_dir(dir);
}

Status stop_jmx(pid_t pid, const std::string& files_dir) {
  Status result = ok_status();
  if (pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM)) {
    AttachOptions ao;
    ao.connect_timeout_ms = 3000;
    ao.reply_timeout_ms = 5000;
    auto out = jcmd(pid, "ManagementAgent.stop", ao, nullptr);
    if (!out) result = out.error();
  }
  remove_jmx_files(files_dir);
  return result;
}

Result<JmxResult> start_jmx(const JmxStartOptions& o, CancelToken* cancel, JmxFiles* files) {
  if (o.port < 1 || o.port > 65535) return Error{errc::kBadArgs, "bad JMX port", {}};
  AttachOptions ao;
  ao.connect_timeout_ms = o.attach_timeout_ms;
  auto st = jcmd(o.pid, "ManagementAgent.status", ao, cancel);
  if (!st) return st.error();
  JmxStatus status = parse_management_status(*st);
  if (status.remote) {
    return JmxResult{JmxAlreadyRunning{o.pid, *st, status.url, status.port}};
  }
  std::string_view jar = rmi_host_agent_jar();
  if (jar.empty())
    return Error{errc::kInternal,
                 "this sonde-agent was built without its JMX helper (javac was missing)",
                 "rebuild sonde with openjdk-17-jdk-headless installed"};
  auto ids = read_proc_ids(o.pid);
  if (!ids) return ids.error();
  {
    JarFile file;
    if (auto w = file.write(o.pid, *ids, jar); !w) return w.error();
    // Same as `jcmd PID JVMTI.agent_load JAR HOST`: the instrument library
    // loads the jar and calls its agentmain(HOST) before we return.
    auto r = attach_execute(
        o.pid, "load", {"instrument", "false", file.jvm_path() + "=" + o.stub_host}, ao, cancel);
    if (!r) return r.error();
    auto rc = parse_load_return_code(r->output);
    if (r->status != 0 || !rc || *rc != 0)
      return Error{errc::kIo,
                   fmt::format("JVM {} could not load sonde's JMX helper: {}", o.pid,
                               proc::printable(proc::trim(r->output))),
                   "is the java.instrument module present (a jlinked runtime may lack it)?"};
  }
  auto login = make_jmx_files(o.pid);
  if (!login) return login.error();
  // Until it is handed over, a failed start takes its files with it.
  struct Guard {
    std::string dir;
    ~Guard() { remove_jmx_files(dir); }
  } guard{login->dir};
  auto started = jcmd(o.pid, jmx_start_line(o.port, o.bind, *login), ao, cancel);
  if (!started) {
    if (port_in_use(started.error().message))
      return Error{errc::kBusy, fmt::format("port {} is taken on the target", o.port),
                   "pick another port"};
    return started.error();
  }
  if (port_in_use(*started))
    return Error{errc::kBusy, fmt::format("port {} is taken on the target", o.port),
                 "pick another port"};
  auto check = jcmd(o.pid, "ManagementAgent.status", ao, cancel);
  if (!check) {
    (void)stop_jmx(o.pid, "");
    return check.error();
  }
  JmxStatus now = parse_management_status(*check);
  if (!now.remote)
    return Error{errc::kIo,
                 fmt::format("JVM {} did not start its management agent: {}", o.pid,
                             proc::printable(proc::trim(*started))),
                 {}};
  guard.dir.clear();
  *files = *login;
  JmxStarted out;
  out.pid = o.pid;
  out.port = o.port;
  out.bind = o.bind;
  out.url = jmx_url(o.port);
  out.user = login->user;
  out.password = login->password;
  out.password_file = login->password_file();
  out.status = *check;
  return JmxResult{std::move(out)};
}

}  // namespace sonde::jvm
