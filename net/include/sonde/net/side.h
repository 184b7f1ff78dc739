// One side of a check run from several places at once (`sonde connect`,
// `tls`): the label the user knows it by ("local", "via", a --from target)
// and what its agent answered, read into the op's result type.
#pragma once

#include <string>

namespace sonde::net {

template <typename R>
struct Side {
  std::string label;
  R result;
};

}  // namespace sonde::net
