// sonde links libunwind's remote unwinder from its static archive (it needs
// a libunwind-internal FDE parser for .debug_frame that the shared library
// does not export). That archive's resume code wants setcontext from the
// local-unwinding libunwind, which would also bring an _Unwind_Resume that
// clashes with libgcc's. sonde never resumes a remote cursor (its resume
// accessor refuses), so this is unreachable: fail loudly if it ever is not.
#include <cstdlib>

extern "C" int _Ux86_64_setcontext(const void*) {
  std::abort();
}
