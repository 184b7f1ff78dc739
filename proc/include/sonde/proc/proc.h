// libsonde_proc: /proc readers behind `ps` and `inspect`.
#pragma once

#include "sonde/proc/inspect.h"
#include "sonde/proc/ps.h"
