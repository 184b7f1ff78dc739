#include "sonde/common/protocol.h"

namespace sonde {

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kHello:
      return "hello";
    case Kind::kRequest:
      return "request";
    case Kind::kEvent:
      return "event";
    case Kind::kResult:
      return "result";
    case Kind::kError:
      return "error";
    case Kind::kCancel:
      return "cancel";
  }
  return "?";
}

namespace {

Error bad(const std::string& what) {
  return Error{errc::kProtocol, "malformed message: " + what, {}};
}

std::optional<Kind> kind_from(const std::string& s) {
  if (s == "hello") return Kind::kHello;
  if (s == "request") return Kind::kRequest;
  if (s == "event") return Kind::kEvent;
  if (s == "result") return Kind::kResult;
  if (s == "error") return Kind::kError;
  if (s == "cancel") return Kind::kCancel;
  return std::nullopt;
}

}  // namespace

Result<Message> parse_message(const json& j) {
  if (!j.is_object()) return bad(fmt::format("expected a map, got {}", j.type_name()));
  auto id = j.find("id");
  if (id == j.end()) return bad("no `id`");
  if (!id->is_number_unsigned())
    return bad(fmt::format("`id` is {}, not unsigned", id->type_name()));
  auto kind = j.find("kind");
  if (kind == j.end()) return bad("no `kind`");
  if (!kind->is_string()) return bad(fmt::format("`kind` is {}, not a string", kind->type_name()));
  auto k = kind_from(kind->get<std::string>());
  if (!k) return bad("unknown kind `" + kind->get<std::string>() + "`");

  Message m;
  m.id = id->get<uint64_t>();
  m.kind = *k;
  switch (m.kind) {
    case Kind::kRequest: {
      auto op = j.find("op");
      if (op == j.end() || !op->is_string()) return bad("request without a string `op`");
      m.op = op->get<std::string>();
      auto args = j.find("args");
      if (args == j.end() || args->is_null()) {
        m.args = json::object();
      } else if (!args->is_object()) {
        return bad(fmt::format("request `args` is {}, not a map", args->type_name()));
      } else {
        m.args = *args;
      }
      if (m.id == 0) return bad("request id 0 is reserved for the connection");
      break;
    }
    case Kind::kError: {
      auto code = j.find("code");
      auto msg = j.find("message");
      if (code == j.end() || !code->is_string()) return bad("error without a string `code`");
      if (msg == j.end() || !msg->is_string()) return bad("error without a string `message`");
      m.error.code = code->get<std::string>();
      m.error.message = msg->get<std::string>();
      if (auto h = j.find("hint"); h != j.end()) {
        if (!h->is_string()) return bad("error `hint` is not a string");
        m.error.hint = h->get<std::string>();
      }
      if (auto e = j.find("errno"); e != j.end()) {
        if (!e->is_number_integer()) return bad("error `errno` is not an integer");
        m.error.sys_errno = e->get<int>();
      }
      break;
    }
    case Kind::kHello: {
      auto data = j.find("data");
      if (data == j.end() || !data->is_object()) return bad("hello without a `data` map");
      auto pv = data->find("protocol");
      if (pv == data->end() || !pv->is_number_integer()) return bad("hello without `protocol`");
      m.data = *data;
      break;
    }
    case Kind::kEvent:
    case Kind::kResult: {
      auto data = j.find("data");
      m.data = data == j.end() ? json(nullptr) : *data;
      break;
    }
    case Kind::kCancel:
      break;
  }
  return m;
}

json make_hello(const json& data) {
  return {{"id", 0u}, {"kind", "hello"}, {"data", data}};
}

json make_request(uint64_t id, const std::string& op, const json& args) {
  return {{"id", id}, {"kind", "request"}, {"op", op}, {"args", args}};
}

json make_event(uint64_t id, const json& data) {
  return {{"id", id}, {"kind", "event"}, {"data", data}};
}

json make_result(uint64_t id, const json& data) {
  return {{"id", id}, {"kind", "result"}, {"data", data}};
}

json make_error(uint64_t id, const Error& e) {
  json j = {{"id", id}, {"kind", "error"}, {"code", e.code}, {"message", e.message}};
  if (!e.hint.empty()) j["hint"] = e.hint;
  if (e.sys_errno != 0) j["errno"] = e.sys_errno;
  return j;
}

json make_cancel(uint64_t id) {
  return {{"id", id}, {"kind", "cancel"}};
}

Error error_from_message(const Message& m) {
  return m.error;
}

}  // namespace sonde
