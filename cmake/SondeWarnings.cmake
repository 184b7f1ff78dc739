# Our own targets build with -Wall -Wextra -Werror; third-party headers are
# included as system headers by their imported targets.
add_library(sonde_flags INTERFACE)
target_compile_options(sonde_flags INTERFACE -Wall -Wextra -Werror -Wno-missing-field-initializers)
if(SONDE_ASAN)
  target_compile_options(sonde_flags INTERFACE -fsanitize=address -fno-omit-frame-pointer)
  target_link_options(sonde_flags INTERFACE -fsanitize=address)
endif()
if(SONDE_UBSAN)
  target_compile_options(sonde_flags INTERFACE -fsanitize=undefined -fno-sanitize-recover=undefined)
  target_link_options(sonde_flags INTERFACE -fsanitize=undefined)
endif()
