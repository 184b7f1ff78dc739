#include "fleet/k8s.h"

#include <set>

#include <fmt/format.h>

#include "sonde/common/frame.h"
#include "sonde/common/subprocess.h"

namespace sonde::controller::fleet {
namespace {

constexpr const char* kK8sHint = "e.g. --k8s sonde/app=sonde-agent (NAMESPACE/LABEL-SELECTOR)";

// Kubernetes names: lowercase letters, digits, '-' and '.'; what goes into a
// shell command line unquoted is only ever one of these.
bool k8s_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  return true;
}

}  // namespace

Result<K8sSelector> parse_k8s_selector(std::string_view arg) {
  K8sSelector s;
  auto slash = arg.find('/');
  if (slash != std::string_view::npos) {
    s.ns = std::string(arg.substr(0, slash));
    arg.remove_prefix(slash + 1);
    if (!k8s_name(s.ns))
      return Error{errc::kBadArgs, fmt::format("--k8s: `{}` is not a namespace", s.ns), kK8sHint};
  }
  s.selector = std::string(arg);
  if (s.selector.empty()) return Error{errc::kBadArgs, "--k8s needs a label selector", kK8sHint};
  return s;
}

std::vector<std::string> k8s_list_argv(const K8sSelector& s) {
  std::vector<std::string> argv = {"kubectl", "get", "pods"};
  if (!s.ns.empty()) argv.insert(argv.end(), {"--namespace", s.ns});
  argv.insert(argv.end(), {"--selector", s.selector, "--output", "json"});
  return argv;
}

Result<K8sPods> k8s_pods_from_json(std::string_view kubectl_json, const K8sSelector& s,
                                   const std::string& agent_path, const std::string& container) {
  auto doc = json::parse(kubectl_json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("items") || !doc["items"].is_array())
    return Error{errc::kBadArgs, "kubectl get pods did not print a pod list",
                 "check that kubectl reaches the cluster: kubectl get pods"};
  struct Pod {
    std::string ns, name, phase;
  };
  std::vector<Pod> pods;
  std::set<std::string> namespaces;
  for (const auto& item : doc["items"]) {
    if (!item.is_object()) continue;
    Pod p;
    const json& meta = item.value("metadata", json::object());
    const json& status = item.value("status", json::object());
    if (meta.is_object()) {
      p.name = meta.value("name", "");
      p.ns = meta.value("namespace", s.ns);
    }
    if (status.is_object()) p.phase = status.value("phase", "");
    if (!k8s_name(p.name) || (!p.ns.empty() && !k8s_name(p.ns))) continue;
    namespaces.insert(p.ns);
    pods.push_back(std::move(p));
  }
  K8sPods out;
  for (const auto& p : pods) {
    std::string name = namespaces.size() > 1 ? p.ns + "/" + p.name : p.name;
    if (p.phase != "Running") {
      out.not_running.push_back(fmt::format("{} ({})", name, p.phase.empty() ? "?" : p.phase));
      continue;
    }
    std::string via = "kubectl exec -i";
    if (!p.ns.empty()) via += " --namespace " + p.ns;
    via += " " + p.name;
    if (!container.empty()) via += " --container " + shell_quote(container);
    via += " -- " + shell_quote(agent_path) + " serve";
    out.targets.push_back(FleetTarget{std::move(name), "", std::move(via)});
  }
  if (out.targets.empty())
    return Error{errc::kBadArgs,
                 out.not_running.empty()
                     ? fmt::format("--k8s: no pod matches `{}`", s.selector)
                     : fmt::format("--k8s: none of the {} pods that match `{}` is running",
                                   out.not_running.size(), s.selector),
                 "list them with: kubectl get pods " + (s.ns.empty() ? "" : "-n " + s.ns + " ") +
                     "-l " + shell_quote(s.selector)};
  return out;
}

}  // namespace sonde::controller::fleet
