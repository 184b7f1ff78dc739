# Our own targets build with -Wall -Wextra; third-party headers are included
# as system headers by their imported targets. -Werror only with SONDE_WERROR
# (scripts/build.sh and so CI turn it on): a packager's plain build with
# another compiler or build type must not fail on a new warning.
add_library(sonde_warnings INTERFACE)
target_compile_options(sonde_warnings INTERFACE -Wall -Wextra -Wno-missing-field-initializers)
if(SONDE_WERROR)
  target_compile_options(sonde_warnings INTERFACE -Werror)
endif()
# In a unity build every .cpp is included into a unit, and GCC's
# -Wsubobject-linkage then takes a class holding a file-local type for one
# defined in a header. It is not: the unit is still one translation unit, and
# the same check never fires for a .cpp compiled on its own.
if(SONDE_UNITY AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(sonde_warnings INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Wno-subobject-linkage>)
endif()
# Our code: warnings plus the sanitizers when asked for. Tracee programs under
# tests/targets take only the warnings: a sanitized tracee misbehaves under
# ptrace (LeakSanitizer refuses to run there) and would not be the program
# the tests mean to trace.
add_library(sonde_flags INTERFACE)
target_link_libraries(sonde_flags INTERFACE sonde_warnings)
if(SONDE_ASAN)
  target_compile_options(sonde_flags INTERFACE -fsanitize=address -fno-omit-frame-pointer)
  target_link_options(sonde_flags INTERFACE -fsanitize=address)
endif()
# Fuzzing: our libraries get libFuzzer's coverage hooks and both sanitizers;
# fuzz/ links each target with -fsanitize=fuzzer (it brings main).
if(SONDE_FUZZ)
  target_compile_options(sonde_flags INTERFACE -fsanitize=fuzzer-no-link,address,undefined
                                               -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(sonde_flags INTERFACE -fsanitize=address,undefined)
endif()
if(SONDE_UBSAN)
  target_compile_options(sonde_flags INTERFACE -fsanitize=undefined -fno-sanitize-recover=undefined)
  target_link_options(sonde_flags INTERFACE -fsanitize=undefined)
endif()
