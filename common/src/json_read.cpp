#include "sonde/common/json_read.h"

namespace sonde {

std::string JsonPath::str() const {
  std::string s;
  for (size_t i = 0; i < std::min(n_, kMaxDepth); ++i) {
    const Seg& g = segs_[i];
    if (g.key)
      s += fmt::format("{}{}", s.empty() ? "" : ".", g.key);
    else
      s += fmt::format("[{}]", g.index);
  }
  if (n_ > kMaxDepth) s += "…";
  return s;
}

JsonReader JsonReader::args(std::string_view op) {
  return JsonReader(errc::kBadArgs, fmt::format("bad `{}` arguments", op));
}

JsonReader JsonReader::reply(std::string_view op, std::string_view kind) {
  return JsonReader(errc::kProtocol, fmt::format("malformed `{}` {} from the agent", op, kind),
                    kPeerMismatchHint);
}

Status JsonReader::status() const {
  if (error_) return *error_;
  return ok_status();
}

void JsonReader::fail(const JsonPath& at, const std::string& why) {
  if (error_) return;
  std::string path = at.str();
  error_ =
      Error{code_, fmt::format("{}: {}{}{}", what_, path, path.empty() ? "" : ": ", why), hint_};
}

bool JsonReader::object(const json& j, const JsonPath& at) {
  if (failed()) return false;
  if (j.is_object()) return true;
  fail(at, fmt::format("expected a map, got {}", j.type_name()));
  return false;
}

const json* JsonReader::field(const json& o, const char* key, const JsonPath& at, Need need) {
  if (failed()) return nullptr;
  if (!o.is_object()) {
    fail(at, fmt::format("expected a map, got {}", o.type_name()));
    return nullptr;
  }
  auto it = o.find(key);
  if (it != o.end() && !it->is_null()) return &*it;
  if (need == Need::kRequired) fail(at / key, "missing");
  return nullptr;
}

void JsonReader::number(const json& o, const char* key, const JsonPath& at, double& out,
                        Need need) {
  const json* v = field(o, key, at, need);
  if (!v) return;
  if (!v->is_number())
    return fail(at / key, fmt::format("expected a number, got {}", v->type_name()));
  out = v->get<double>();
}

void JsonReader::string(const json& o, const char* key, const JsonPath& at, std::string& out,
                        Need need) {
  const json* v = field(o, key, at, need);
  if (!v) return;
  if (!v->is_string())
    return fail(at / key, fmt::format("expected a string, got {}", v->type_name()));
  out = v->get<std::string>();
}

void JsonReader::boolean(const json& o, const char* key, const JsonPath& at, bool& out, Need need) {
  const json* v = field(o, key, at, need);
  if (!v) return;
  if (!v->is_boolean())
    return fail(at / key, fmt::format("expected a boolean, got {}", v->type_name()));
  out = v->get<bool>();
}

const json* JsonReader::array(const json& o, const char* key, const JsonPath& at, Need need) {
  const json* v = field(o, key, at, need);
  if (!v) return nullptr;
  if (!v->is_array()) {
    fail(at / key, fmt::format("expected an array, got {}", v->type_name()));
    return nullptr;
  }
  return v;
}

const json* JsonReader::bounded_array(const json& o, const char* key, const JsonPath& at,
                                      size_t max_items, Need need) {
  const json* v = array(o, key, at, need);
  if (v && v->size() > max_items) {
    fail(at / key, fmt::format("{} items, more than the {} allowed", v->size(), max_items));
    return nullptr;
  }
  return v;
}

const json* JsonReader::map(const json& o, const char* key, const JsonPath& at, Need need) {
  const json* v = field(o, key, at, need);
  if (!v) return nullptr;
  if (!v->is_object()) {
    fail(at / key, fmt::format("expected a map, got {}", v->type_name()));
    return nullptr;
  }
  return v;
}

void JsonReader::strings(const json& o, const char* key, const JsonPath& at,
                         std::vector<std::string>& out, Need need) {
  const json* a = array(o, key, at, need);
  if (!a) return;
  out.reserve(a->size());
  for (size_t i = 0; i < a->size(); ++i) {
    const json& s = (*a)[i];
    if (!s.is_string())
      return fail((at / key)[i], fmt::format("expected a string, got {}", s.type_name()));
    out.push_back(s.get<std::string>());
  }
}

}  // namespace sonde
