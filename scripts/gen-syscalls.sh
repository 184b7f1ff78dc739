#!/usr/bin/env bash
# Generates the body of ptrace/src/syscall_table.cpp (the kSyscalls array) on
# stdout. Run once by hand when the kernel headers gain syscalls; the output
# is committed. Names come from the UAPI header; argument counts and strace
# class membership are measured by running strace (the oracle) over a probe
# that issues every syscall number with zero arguments under a seccomp filter
# returning ENOSYS, so nothing actually executes.
set -euo pipefail
hdr=${1:-/usr/include/x86_64-linux-gnu/asm/unistd_64.h}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/probe.c" <<'EOF'
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>
int main(int argc, char** argv) {
  int lo = atoi(argv[1]), hi = atoi(argv[2]);
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 231, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 38),
  };
  struct sock_fprog p = {sizeof f / sizeof f[0], f};
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p);
  for (int nr = lo; nr <= hi; nr++)
    if (nr != 231) syscall(nr, 0, 0, 0, 0, 0, 0);
  syscall(231, 0);
  return 0;
}
EOF
cc -O0 -o "$tmp/probe" "$tmp/probe.c"
run() {  # $1 = strace -e trace= set; prints "name<TAB>line" of probed calls
  : >"$tmp/out"
  for range in "0 334" "424 470"; do
    # shellcheck disable=SC2086
    strace -e trace="$1" -o "$tmp/r" "$tmp/probe" $range >/dev/null 2>&1 || true
    grep ' = -1 ENOSYS' "$tmp/r" | grep -v '^syscall_0x' >>"$tmp/out" || true
  done
  cat "$tmp/out"
}
run all >"$tmp/all"
for c in file network process memory signal desc ipc; do
  run "%$c" | sed 's/(.*//' | sort -u >"$tmp/class_$c"
done
echo exit_group >>"$tmp/class_process"
python3 - "$hdr" "$tmp" <<'EOF'
import re, sys, os
hdr, tmp = sys.argv[1], sys.argv[2]
names = {}
for line in open(hdr):
    m = re.match(r'#define __NR_(\w+)\s+(\d+)', line)
    if m: names[int(m.group(2))] = m.group(1)
# Newer than these headers: strace 6.1 does not know them either.
extra = {451: 'cachestat', 452: 'fchmodat2', 453: 'map_shadow_stack', 454: 'futex_wake',
         455: 'futex_wait', 456: 'futex_requeue', 457: 'statmount', 458: 'listmount',
         459: 'lsm_get_self_attr', 460: 'lsm_set_self_attr', 461: 'lsm_list_modules',
         462: 'mseal', 463: 'setxattrat', 464: 'getxattrat', 465: 'listxattrat',
         466: 'removexattrat', 467: 'open_tree_attr'}
extra_cls = {'cachestat': ['desc'], 'fchmodat2': ['desc', 'file'], 'map_shadow_stack': ['memory'],
             'mseal': ['memory'], 'setxattrat': ['desc', 'file'], 'getxattrat': ['desc', 'file'],
             'listxattrat': ['desc', 'file'], 'removexattrat': ['desc', 'file'],
             'open_tree_attr': ['desc', 'file']}
extra_nargs = {'cachestat': 4, 'fchmodat2': 4, 'map_shadow_stack': 3, 'futex_wake': 4,
               'futex_wait': 6, 'futex_requeue': 4, 'statmount': 4, 'listmount': 4,
               'lsm_get_self_attr': 4, 'lsm_set_self_attr': 4, 'lsm_list_modules': 3,
               'mseal': 3, 'setxattrat': 6, 'getxattrat': 6, 'listxattrat': 4,
               'removexattrat': 3, 'open_tree_attr': 5}
for k, v in extra.items(): names.setdefault(k, v)
def toplevel_args(s):
    depth, q, n, empty = 0, False, 1, True
    i = 0
    while i < len(s):
        ch = s[i]
        if q:
            if ch == '\\': i += 1
            elif ch == '"': q = False
        elif ch == '"': q = True
        elif ch in '([{': depth += 1
        elif ch in ')]}': depth -= 1
        elif ch == ',' and depth == 0: n += 1
        if not ch.isspace(): empty = False
        i += 1
    return 0 if empty else n
nargs = {}
for line in open(os.path.join(tmp, 'all')):
    m = re.match(r'(\w+)\((.*)\)\s+= -1 ENOSYS', line)
    if m and m.group(1) not in nargs: nargs[m.group(1)] = toplevel_args(m.group(2))
# strace abbreviates these: the kernel takes more (clone) or none (sigreturn).
nargs.update({'clone': 5, 'rt_sigreturn': 0, 'restart_syscall': 0, 'exit_group': 1,
              'futex': 6, 'mremap': 5})
nargs.update(extra_nargs)
cls = {}
for c in ['file', 'network', 'process', 'memory', 'signal', 'desc', 'ipc']:
    for n in open(os.path.join(tmp, 'class_' + c)).read().split():
        cls.setdefault(n, []).append(c)
for n, cs in extra_cls.items(): cls[n] = cs
bit = {'file': 'F', 'network': 'N', 'process': 'P', 'memory': 'M', 'signal': 'S', 'desc': 'D', 'ipc': 'I'}
top = max(names)
for nr in range(top + 1):
    n = names.get(nr)
    if n is None:
        print('    {nullptr, 6, 0},  // %d' % nr)
        continue
    c = '|'.join(bit[x] for x in cls.get(n, [])) or '0'
    print('    {"%s", %d, %s},  // %d' % (n, nargs.get(n, 6), c, nr))
EOF
