// Calls that have not returned. A shown call waits in unfinished_ from its
// entry until its exit, when it becomes one line. If it is still in the
// kernel kUnfinishedNs later (a blocked read, a futex wait), or a line of
// another thread would come between its entry and its exit, its entry is
// shown at once with strace's "<unfinished ...>" and its exit later as
// "<... NAME resumed>", so that a hung call is seen and lines stay in
// time order.
#include <sys/syscall.h>

#include <algorithm>

#include <fmt/format.h>

#include "tracer_internal.h"

namespace sonde::ptrace {

void Tracer::pend(Task& t) {
  unpend(t);  // an entry whose exit never came: a tid is in the list at most once
  t.pending_at = static_cast<int>(unfinished_.size());
  unfinished_.push_back(t.tid);
  if (!unfinished_due_) unfinished_due_ = t.entry_mono + kUnfinishedNs;
}

void Tracer::unpend(Task& t) {
  if (t.pending_at < 0) return;
  size_t at = static_cast<size_t>(t.pending_at);
  t.pending_at = -1;
  if (at >= unfinished_.size()) return;
  pid_t last = unfinished_.back();
  unfinished_.pop_back();
  if (at == unfinished_.size()) return;
  unfinished_[at] = last;
  if (auto it = tasks_.find(last); it != tasks_.end()) it->second.pending_at = static_cast<int>(at);
}

void Tracer::fix_restart_text(const Task& t, std::string& args_text) const {
  if (t.nr == SYS_restart_syscall && t.resumes_nr >= 0)
    args_text = fmt::format("<... resuming interrupted {} ...>", syscall_label(t.resumes_nr));
}

void Tracer::announce(Task& t) {
  unpend(t);
  // Straight from the ring: announce_before is what called us.
  TraceEvent* e = events_ ? events_->claim(TraceEvent::Type::kSyscall, t.tid) : nullptr;
  if (!e) return;  // lost: the exit will be one whole line
  DecodedCall* d = &t.entry_decoded;
  if (!t.have_entry_decode) {
    // The thread is in the kernel: its arguments are read as they are now,
    // output buffers as pointers (kNoReturn).
    VmReader mem(t.tid);
    decode_args_into(scratch_, t.tid, t.nr, t.args, kNoReturn, mem,
                     opts_.decode.annotate_fds ? &fds_ : nullptr, opts_.decode);
    d = &scratch_;
  }
  e->nr = t.nr;
  e->returned = false;
  e->part = TraceEvent::Part::kUnfinished;
  e->ts_ns = t.entry_real;
  e->injected = t.injected;
  e->args_text.assign(d->args_text);
  fix_restart_text(t, e->args_text);
  if (opts_.decode.structured) e->args = t.have_entry_decode ? d->args : std::move(d->args);
  // Dropped (counted lost): the exit is one whole line.
  t.unfinished = publish();
}

namespace {

// Announces, oldest entry first, the waiting calls `due` picks.
template <class Due>
void announce_picked(std::vector<pid_t>& waiting, std::unordered_map<pid_t, Task>& tasks, Due due,
                     const std::function<void(Task&)>& announce) {
  std::vector<Task*> picked;
  for (size_t i = 0; i < waiting.size(); ++i) {
    auto it = tasks.find(waiting[i]);
    if (it != tasks.end() && due(it->second)) picked.push_back(&it->second);
  }
  std::sort(picked.begin(), picked.end(),
            [](const Task* a, const Task* b) { return a->entry_real < b->entry_real; });
  for (Task* t : picked) announce(*t);
}

}  // namespace

void Tracer::announce_before(int64_t ts, pid_t except) {
  announce_picked(
      unfinished_, tasks_, [&](const Task& t) { return t.tid != except && t.entry_real < ts; },
      [this](Task& t) { announce(t); });
}

void Tracer::announce_due() {
  int64_t now = mono_ns();
  announce_picked(
      unfinished_, tasks_, [&](const Task& t) { return t.entry_mono + kUnfinishedNs <= now; },
      [this](Task& t) { announce(t); });
  int64_t oldest = 0;
  for (pid_t tid : unfinished_)
    if (auto it = tasks_.find(tid); it != tasks_.end())
      if (!oldest || it->second.entry_mono < oldest) oldest = it->second.entry_mono;
  unfinished_due_ = oldest ? oldest + kUnfinishedNs : 0;
}

void Tracer::announce_all() {
  announce_picked(
      unfinished_, tasks_, [](const Task&) { return true; }, [this](Task& t) { announce(t); });
  unfinished_.clear();
  unfinished_due_ = 0;
}

}  // namespace sonde::ptrace
