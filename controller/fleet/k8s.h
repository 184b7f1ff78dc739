// Kubernetes pods as fleet targets: `--k8s [NS/]SELECTOR` lists the pods with
// kubectl and reaches each agent through `kubectl exec -i` (the sonde-agent
// DaemonSet in deploy/k8s puts one on every node). sonde schedules nothing
// there: kubectl and the cluster do.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "fleet/targets.h"
#include "sonde/common/result.h"

namespace sonde::controller::fleet {

// The agent's path inside the DaemonSet's image.
inline constexpr const char* kK8sAgentPath = "/usr/local/bin/sonde-agent";

struct K8sSelector {
  std::string ns;        // "" : kubectl's current namespace
  std::string selector;  // a label selector, e.g. app=sonde-agent
};
// "NS/SELECTOR" or "SELECTOR"; errc::kBadArgs with a hint when empty or when
// the namespace is not a DNS label.
Result<K8sSelector> parse_k8s_selector(std::string_view arg);

// The kubectl command that lists them as JSON.
std::vector<std::string> k8s_list_argv(const K8sSelector& s);

struct K8sPods {
  std::vector<FleetTarget> targets;      // running pods: name POD, via kubectl exec -i
  std::vector<std::string> not_running;  // "POD (Pending)"
};
// From `kubectl get pods -o json`: each running pod a target whose via runs
// `kubectl exec -i -n NS POD [-c CONTAINER] -- AGENT serve`. Pods of more
// than one namespace are named NS/POD. errc::kBadArgs when nothing matched.
Result<K8sPods> k8s_pods_from_json(std::string_view kubectl_json, const K8sSelector& s,
                                   const std::string& agent_path, const std::string& container);

}  // namespace sonde::controller::fleet
