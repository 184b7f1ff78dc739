#include "sonde/common/log.h"

#include <cstdlib>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace sonde {

void setup_logging(const char* program, int verbosity) {
  auto logger = spdlog::stderr_color_mt(program);
  logger->set_pattern("%^%n: %l:%$ %v");
  spdlog::level::level_enum lvl = spdlog::level::warn;
  if (verbosity == 1) lvl = spdlog::level::info;
  if (verbosity == 2) lvl = spdlog::level::debug;
  if (verbosity >= 3) lvl = spdlog::level::trace;
  if (const char* env = std::getenv("SONDE_LOG"); env && *env) lvl = spdlog::level::from_str(env);
  logger->set_level(lvl);
  spdlog::set_default_logger(logger);
}

}  // namespace sonde
