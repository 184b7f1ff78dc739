// Only in the static agent. libunwind's remote unwinder (libunwind-x86_64.a)
// drags in its resume code, which wants setcontext from the local-unwinding
// libunwind.a; that archive also defines _Unwind_Resume and clashes with
// libgcc_eh. sonde never resumes a remote cursor (its resume accessor
// refuses), so this is unreachable: fail loudly if it ever is not.
#include <cstdlib>

extern "C" int _Ux86_64_setcontext(const void*) { std::abort(); }
