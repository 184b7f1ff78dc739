# Every dependency comes from a Debian package. A missing one stops configure
# and names the package that provides it.
find_package(PkgConfig QUIET)
if(NOT PkgConfig_FOUND)
  message(FATAL_ERROR "pkg-config not found: apt-get install pkg-config")
endif()

macro(sonde_require_pkg var module debpkg)
  pkg_check_modules(${var} QUIET IMPORTED_TARGET ${module})
  if(NOT ${var}_FOUND)
    message(FATAL_ERROR "${module} not found: apt-get install ${debpkg}  (or run ./scripts/setup.sh)")
  endif()
endmacro()

macro(sonde_require_cmake name debpkg)
  find_package(${name} ${ARGN} QUIET)
  if(NOT ${name}_FOUND)
    message(FATAL_ERROR "${name} not found: apt-get install ${debpkg}  (or run ./scripts/setup.sh)")
  endif()
endmacro()

sonde_require_pkg(LIBSSH libssh libssh-dev)
sonde_require_pkg(LIBUNWIND libunwind libunwind-dev)
sonde_require_pkg(LIBUNWIND_PTRACE libunwind-ptrace libunwind-dev)
sonde_require_pkg(LIBDW libdw libdw-dev)
sonde_require_pkg(LIBELF libelf libelf-dev)
sonde_require_pkg(LIBPCAP libpcap libpcap-dev)
sonde_require_cmake(Boost libboost-program-options-dev 1.74 COMPONENTS program_options)
sonde_require_cmake(fmt libfmt-dev)
sonde_require_cmake(spdlog libspdlog-dev)
sonde_require_cmake(nlohmann_json nlohmann-json3-dev)
sonde_require_cmake(OpenSSL libssl-dev)
sonde_require_cmake(Threads libc6-dev)
if(SONDE_TESTS)
  sonde_require_cmake(GTest libgtest-dev)
endif()

# spdlog header-only over fmt, so the agent links fully statically (Debian
# ships both as shared libraries only). fmt's compiled part is built once,
# in sonde_common (common/src/fmt_lib.cpp), not with FMT_HEADER_ONLY: that
# compiled it into every file, about 5 of a typical file's 11 s at -O2.
# spdlog's own header-only target still drags in the shared libfmt, hence
# this one.
add_library(sonde_log_deps INTERFACE)
target_compile_definitions(sonde_log_deps INTERFACE SPDLOG_FMT_EXTERNAL)
target_link_libraries(sonde_log_deps INTERFACE Threads::Threads)
