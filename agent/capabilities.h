// What this host lets the agent do, so the controller can pick a method
// (ptrace vs perf_event, capture or not) and say why.
#pragma once

#include "handler.h"
#include "sonde/common/hello_contract.h"

namespace sonde::agent {

// The hello: who and where the agent runs and what it may do, from cheap
// reads only (uname, ids, /proc/self/status, two sysctls). Every session
// pays for it before its first request.
HelloFacts hello_facts();

// hello_facts() plus what has to be tried or searched for: a real
// perf_event_open (a seccomp filter refuses whatever paranoid says), JDK
// tools and gdbserver on disk. Served as the `capabilities` op, which
// `sonde hello` asks for; commands that do not need it do not wait for it.
Capabilities probe_capabilities();

void register_capabilities(Registry& reg);

}  // namespace sonde::agent
