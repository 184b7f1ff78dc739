// An interactive flame graph as one self-contained SVG: the stacks merged
// root-first into a tree, one box per node, and a small script for hover,
// zoom and search. Nothing is loaded from outside the file, so it opens from
// a mail attachment or a case folder the same way.
#include <algorithm>
#include <cmath>
#include <functional>
#include <unordered_map>

#include <fmt/format.h>

#include "sonde/common/markup.h"
#include "sonde/profiler/export.h"

namespace sonde::profiler {
namespace {

constexpr double kPad = 10;     // left and right margin
constexpr double kFrameH = 16;  // one stack level
constexpr double kTop = 60;     // title, subtitle and buttons
constexpr double kBottom = 28;  // hover details and the matched share
constexpr double kFontSize = 12;
constexpr double kCharW = 0.59;  // monospace glyph width per font size
constexpr double kMinWidth =
    0.1;  // narrower boxes are not drawn (their parent holds their samples)

// Colour families: a reader tells user code from kernel and unknown frames
// at a glance, and from the inlined functions that have no frame of their own.
enum class Family : uint8_t { kRoot, kHost, kThread, kCode, kInline, kKernel, kUnknown };

Family family_of(const Frame& f) {
  switch (f.kind) {
    case FrameKind::kSyscall:
      return Family::kKernel;
    case FrameKind::kUnknown:
    case FrameKind::kTruncated:
      return Family::kUnknown;
    case FrameKind::kCode:
      break;
  }
  if (f.module.starts_with("[kernel") || f.function.ends_with("_[k]")) return Family::kKernel;
  if (f.function.empty() && f.module.empty()) return Family::kUnknown;
  return f.inlined ? Family::kInline : Family::kCode;
}

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string hsl(double h, double s, double l) {
  // The standard HSL to RGB mapping, h in degrees.
  double c = (1 - std::fabs(2 * l - 1)) * s;
  double hp = std::fmod(h, 360.0) / 60.0;
  double x = c * (1 - std::fabs(std::fmod(hp, 2.0) - 1));
  double r = 0, g = 0, b = 0;
  if (hp < 1)
    r = c, g = x;
  else if (hp < 2)
    r = x, g = c;
  else if (hp < 3)
    g = c, b = x;
  else if (hp < 4)
    g = x, b = c;
  else if (hp < 5)
    r = x, b = c;
  else
    r = c, b = x;
  double m = l - c / 2;
  auto ch = [m](double v) { return static_cast<int>(std::lround((v + m) * 255)); };
  return fmt::format("rgb({},{},{})", ch(r), ch(g), ch(b));
}

// Same name, same colour, in every graph: two flame graphs compare by eye.
std::string colour(Family fam, std::string_view name) {
  uint64_t h = fnv1a(name);
  double a = static_cast<double>(h & 0xffff) / 65535.0;
  double b = static_cast<double>((h >> 16) & 0xffff) / 65535.0;
  double c = static_cast<double>((h >> 32) & 0xffff) / 65535.0;
  switch (fam) {
    case Family::kRoot:
      return "rgb(200,200,200)";
    case Family::kHost:
      return hsl(90 + 40 * a, 0.30 + 0.2 * b, 0.68 + 0.08 * c);
    case Family::kThread:
      return hsl(265 + 25 * a, 0.35 + 0.2 * b, 0.70 + 0.08 * c);
    case Family::kCode:
      return hsl(5 + 45 * a, 0.75 + 0.2 * b, 0.55 + 0.1 * c);
    case Family::kInline:
      return hsl(170 + 25 * a, 0.45 + 0.2 * b, 0.55 + 0.1 * c);
    case Family::kKernel:
      return hsl(205 + 25 * a, 0.55 + 0.2 * b, 0.62 + 0.1 * c);
    case Family::kUnknown:
      return hsl(0, 0, 0.62 + 0.12 * a);
  }
  return "rgb(200,200,200)";
}

std::string xml(std::string_view s) {
  std::string out;
  append_xml_escaped(out, s);
  return out;
}

// The label that fits in a box of width w: the name, cut with "..", or
// nothing. The script applies the same rule after a zoom.
std::string fit_label(const std::string& name, double w) {
  double fit = (w - 6) / (kFontSize * kCharW);
  if (fit < 3) return {};
  auto chars = static_cast<size_t>(fit);
  size_t cps = 0, cut = std::string::npos;
  for (size_t i = 0; i < name.size(); ++i) {
    if ((static_cast<unsigned char>(name[i]) & 0xc0) == 0x80) continue;
    if (cps == chars - 2) cut = i;
    ++cps;
  }
  if (cps <= chars) return name;
  return name.substr(0, cut) + "..";
}

std::string grouped(uint64_t v) {
  std::string d = std::to_string(v), out;
  for (size_t i = 0; i < d.size(); ++i) {
    if (i && (d.size() - i) % 3 == 0) out += ',';
    out += d[i];
  }
  return out;
}

struct Node {
  uint32_t name = 0;  // index into Tree::names
  Family family = Family::kCode;
  uint64_t value = 0;
  uint64_t base = 0;  // a differential graph: the base profile's samples here
  std::vector<uint32_t> children;
};

struct Tree {
  std::vector<std::string> names;
  std::vector<Node> nodes;
  // (parent node, name) -> child node; one map for the whole tree keeps
  // the per-node cost to a vector.
  std::unordered_map<uint64_t, uint32_t> child_of;
  std::unordered_map<std::string, uint32_t> name_id;

  Tree() { nodes.push_back(Node{intern("all"), Family::kRoot, 0, 0, {}}); }

  uint32_t intern(std::string s) {
    auto [it, fresh] = name_id.try_emplace(s, static_cast<uint32_t>(names.size()));
    if (fresh) names.push_back(std::move(s));
    return it->second;
  }

  uint32_t child(uint32_t parent, uint32_t name, Family fam) {
    uint64_t key = (static_cast<uint64_t>(parent) << 32) | name;
    auto [it, fresh] = child_of.try_emplace(key, static_cast<uint32_t>(nodes.size()));
    if (fresh) {
      nodes.push_back(Node{name, fam, 0, 0, {}});
      nodes[parent].children.push_back(it->second);
    }
    return it->second;
  }
};

// Adds p's stacks to the tree: to each node's value, or (as_base) to its
// base. host_frame: a fleet profile's host is a frame above the thread.
void add_profile(Tree& t, const Profile& p, bool host_frame, bool as_base) {
  std::vector<uint32_t> frame_name(p.frames.size());
  std::vector<Family> frame_family(p.frames.size());
  for (size_t i = 0; i < p.frames.size(); ++i) {
    frame_name[i] = t.intern(display_name(p.frames[i]));
    frame_family[i] = family_of(p.frames[i]);
  }
  std::vector<uint32_t> thread_name(p.threads.size() + 1);
  std::vector<int64_t> host_name(p.threads.size() + 1, -1);
  for (size_t i = 0; i <= p.threads.size(); ++i) {
    thread_name[i] = t.intern(thread_label(p, static_cast<uint32_t>(i)));
    if (std::string h = thread_host(p, static_cast<uint32_t>(i)); host_frame && !h.empty())
      host_name[i] = t.intern(std::move(h));
  }
  uint32_t bad_frame = t.intern("[bad frame]");
  auto add = [as_base](Node& n, uint64_t c) { (as_base ? n.base : n.value) += c; };

  for (const auto& s : p.stacks) {
    if (s.count == 0 || s.frames.empty()) continue;
    uint32_t at = 0;
    add(t.nodes[0], s.count);
    if (!p.threads.empty()) {
      size_t th = std::min<size_t>(s.thread, p.threads.size());
      if (host_name[th] >= 0) {
        at = t.child(at, static_cast<uint32_t>(host_name[th]), Family::kHost);
        add(t.nodes[at], s.count);
      }
      at = t.child(at, thread_name[th], Family::kThread);
      add(t.nodes[at], s.count);
    }
    for (auto it = s.frames.rbegin(); it != s.frames.rend(); ++it) {
      bool valid = *it < p.frames.size();
      at = t.child(at, valid ? frame_name[*it] : bad_frame,
                   valid ? frame_family[*it] : Family::kUnknown);
      add(t.nodes[at], s.count);
    }
  }
}

// Alphabetical children, as flamegraph.pl lays them out: the same code
// lands in the same place in every graph.
void sort_children(Tree& t) {
  for (auto& n : t.nodes)
    std::sort(n.children.begin(), n.children.end(), [&t](uint32_t a, uint32_t b) {
      return t.names[t.nodes[a].name] < t.names[t.nodes[b].name];
    });
}

struct Box {
  uint32_t node;
  uint32_t depth;
  double x, w;
};

// Boxes wide enough to draw, root first. Iterative: a hostile profile may
// hold one stack a million frames deep.
std::vector<Box> layout(const Tree& t, double width) {
  std::vector<Box> boxes;
  uint64_t total = t.nodes[0].value;
  if (total == 0) return boxes;
  double scale = width / static_cast<double>(total);
  std::vector<Box> todo{{0, 0, kPad, width}};
  while (!todo.empty()) {
    Box b = todo.back();
    todo.pop_back();
    boxes.push_back(b);
    double x = b.x;
    size_t mark = todo.size();
    for (uint32_t c : t.nodes[b.node].children) {
      double w = static_cast<double>(t.nodes[c].value) * scale;
      if (w >= kMinWidth) todo.push_back(Box{c, b.depth + 1, x, w});
      x += w;
    }
    std::reverse(todo.begin() + static_cast<std::ptrdiff_t>(mark), todo.end());
  }
  return boxes;
}

// Written for sonde: hover details, click to zoom (ancestors stretch across
// and fade), search by regular expression with the matched share of samples.
constexpr const char* kScript = R"JS(
var frames = [], details, matched, resetBtn, searchBtn, searchTerm = "";
function label(name, w) {
  var fit = Math.floor((w - 6) / (FONT * CHARW));
  if (fit < 3) return "";
  var cps = Array.from(name);
  return cps.length <= fit ? name : cps.slice(0, fit - 2).join("") + "..";
}
function init(evt) {
  details = document.getElementById("details");
  matched = document.getElementById("matched");
  resetBtn = document.getElementById("reset");
  searchBtn = document.getElementById("search");
  var gs = document.getElementById("frames").getElementsByTagName("g");
  for (var i = 0; i < gs.length; i++) {
    var g = gs[i], r = g.getElementsByTagName("rect")[0];
    var title = g.getElementsByTagName("title")[0].textContent;
    g.sondeIndex = i;
    frames.push({g: g, r: r, t: g.getElementsByTagName("text")[0], title: title,
                 name: title.slice(0, title.lastIndexOf(" (")),
                 x: +r.getAttribute("x"), w: +r.getAttribute("width"),
                 y: +r.getAttribute("y"), n: +g.getAttribute("data-s"),
                 fill: r.getAttribute("fill")});
  }
  var box = document.getElementById("frames");
  function frameOf(e) {
    var el = e.target;
    while (el && el !== box && el.sondeIndex === undefined) el = el.parentNode;
    return el && el.sondeIndex !== undefined ? frames[el.sondeIndex] : null;
  }
  box.addEventListener("click", function(e) { var f = frameOf(e); if (f) zoom(f); });
  box.addEventListener("mouseover", function(e) {
    var f = frameOf(e); details.textContent = f ? f.title : "";
  });
  box.addEventListener("mouseout", function() { details.textContent = " "; });
  resetBtn.addEventListener("click", unzoom);
  searchBtn.addEventListener("click", search);
  matched.addEventListener("click", function() { mark(""); });
  document.addEventListener("keydown", function(e) {
    if ((e.ctrlKey || e.metaKey) && (e.key === "f" || e.key === "F")) {
      e.preventDefault();
      search();
    } else if (e.key === "Escape") {
      unzoom();
      mark("");
    }
  });
}
function place(f, x, w, parent) {
  f.g.style.display = "";
  f.g.setAttribute("class", parent ? "parent" : "");
  f.r.setAttribute("x", x.toFixed(2));
  f.r.setAttribute("width", w.toFixed(2));
  f.t.setAttribute("x", (x + 3).toFixed(2));
  f.t.textContent = label(f.name, w);
}
function zoom(z) {
  var e = 0.05, scale = (WIDTH - 2 * PAD) / z.w;
  frames.forEach(function(f) {
    if (f.y > z.y) {
      if (f.x <= z.x + e && f.x + f.w >= z.x + z.w - e) place(f, PAD, WIDTH - 2 * PAD, true);
      else f.g.style.display = "none";
    } else if (f.x >= z.x - e && f.x + f.w <= z.x + z.w + e) {
      place(f, PAD + (f.x - z.x) * scale, f.w * scale, false);
    } else {
      f.g.style.display = "none";
    }
  });
  resetBtn.style.display = "";
}
function unzoom() {
  frames.forEach(function(f) { place(f, f.x, f.w, false); });
  resetBtn.style.display = "none";
}
function search() {
  var term = prompt("Search frames (regular expression)", searchTerm);
  if (term !== null) mark(term);
}
function mark(term) {
  searchTerm = term;
  var re = null;
  if (term) { try { re = new RegExp(term); } catch (err) { re = null; } }
  var hits = [];
  frames.forEach(function(f) {
    var hit = term !== "" && (re ? re.test(f.name) : f.name.indexOf(term) >= 0);
    f.r.setAttribute("fill", hit ? "rgb(230,0,230)" : f.fill);
    if (hit) hits.push(f);
  });
  // A match inside a matching ancestor is already in the ancestor's samples.
  hits.sort(function(a, b) { return a.x - b.x || b.y - a.y; });
  var end = -Infinity, n = 0;
  hits.forEach(function(f) {
    if (f.x + 0.05 >= end) { n += f.n; end = f.x + f.w; }
  });
  matched.textContent = term === "" ? " " : "Matched: " + (100 * n / TOTAL).toFixed(1) + "% (click to clear)";
  searchBtn.textContent = term === "" ? "Search" : "Search: " + term;
}
)JS";

constexpr const char* kStyle = R"CSS(
text { font-family: monospace; font-size: 12px; fill: rgb(0,0,0); }
#title { font-size: 17px; text-anchor: middle; }
#subtitle { text-anchor: middle; fill: rgb(80,80,80); }
#frames g { cursor: pointer; }
#frames text { pointer-events: none; }
#frames g:hover rect { stroke: rgb(0,0,0); stroke-width: 0.5; }
#frames .parent rect { opacity: 0.5; }
.button { cursor: pointer; fill: rgb(40,40,160); }
.button:hover { text-decoration: underline; }
)CSS";

}  // namespace

namespace {

// How one box looks: its fill and the words after its name in the hover title.
struct Look {
  std::string fill;
  std::string detail;
};
using LookFn = std::function<Look(const Node&, const std::string& name)>;

std::string draw(const Tree& tree, const SvgOptions& o, const std::string& subtitle,
                 const LookFn& look) {
  double width = std::max(o.width, 200);
  double inner = width - 2 * kPad;
  std::vector<Box> boxes = layout(tree, inner);
  uint32_t max_depth = 0;
  for (const auto& b : boxes) max_depth = std::max(max_depth, b.depth);
  double height = kTop + (boxes.empty() ? 2 : max_depth + 1) * kFrameH + kBottom;
  uint64_t total = tree.nodes[0].value;

  std::string out;
  out.reserve(512 * boxes.size() + 8192);
  out += fmt::format(
      "<?xml version=\"1.0\" standalone=\"no\"?>\n"
      "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" onload=\"init(evt)\">\n",
      width, height);
  out += "<style type=\"text/css\"><![CDATA[" + std::string(kStyle) + "]]></style>\n";
  out += fmt::format(
      "<script type=\"text/ecmascript\"><![CDATA[\nvar WIDTH = {}, PAD = {}, FONT = {}, CHARW = "
      "{}, TOTAL = {};{}]]></script>\n",
      width, kPad, kFontSize, kCharW, std::max<uint64_t>(total, 1), kScript);
  out +=
      fmt::format("<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"rgb(248,248,245)\"/>\n",
                  width, height);
  out += fmt::format("<text id=\"title\" x=\"{}\" y=\"24\">{}</text>\n", width / 2, xml(o.title));
  out +=
      fmt::format("<text id=\"subtitle\" x=\"{}\" y=\"42\">{}</text>\n", width / 2, xml(subtitle));
  out += fmt::format(
      "<text id=\"reset\" class=\"button\" x=\"{}\" y=\"24\" style=\"display:none\">Reset "
      "zoom</text>\n",
      kPad);
  out += fmt::format(
      "<text id=\"search\" class=\"button\" x=\"{}\" y=\"24\" "
      "style=\"text-anchor:end\">Search</text>\n",
      width - kPad);
  out += fmt::format("<text id=\"details\" x=\"{}\" y=\"{}\"> </text>\n", kPad, height - 10);
  out += fmt::format(
      "<text id=\"matched\" class=\"button\" x=\"{}\" y=\"{}\" style=\"text-anchor:end\"> "
      "</text>\n",
      width - kPad, height - 10);
  if (boxes.empty())
    out += fmt::format("<text x=\"{}\" y=\"{}\" style=\"text-anchor:middle\">no samples</text>\n",
                       width / 2, kTop + kFrameH);

  out += "<g id=\"frames\">\n";
  for (const auto& b : boxes) {
    const Node& n = tree.nodes[b.node];
    const std::string& name = tree.names[n.name];
    double y = kTop + static_cast<double>(max_depth - b.depth) * kFrameH;
    Look l = look(n, name);
    out += fmt::format("<g data-s=\"{}\"><title>", n.value);
    append_xml_escaped(out, name);
    out += " (";
    append_xml_escaped(out, l.detail);
    out += ")</title>";
    out += fmt::format(
        "<rect x=\"{:.2f}\" y=\"{}\" width=\"{:.2f}\" height=\"{}\" rx=\"2\" fill=\"{}\"/>", b.x, y,
        b.w, kFrameH - 1, l.fill);
    out += fmt::format("<text x=\"{:.2f}\" y=\"{}\">", b.x + 3, y + kFrameH - 4.5);
    append_xml_escaped(out, fit_label(name, b.w));
    out += "</text></g>\n";
  }
  out += "</g>\n</svg>\n";
  return out;
}

double share(uint64_t v, uint64_t total) {
  return total ? 100.0 * static_cast<double>(v) / static_cast<double>(total) : 0.0;
}

}  // namespace

std::string export_svg(const Profile& p, const SvgOptions& o) {
  Tree tree;
  add_profile(tree, p, o.host_frame, false);
  sort_children(tree);
  uint64_t total = tree.nodes[0].value;
  std::string sub = o.subtitle;
  if (sub.empty()) {
    sub = fmt::format("{} (pid {}), {}, {} Hz, {} samples", p.comm, p.pid, p.mode, p.hz,
                      grouped(p.samples ? p.samples : total));
    if (p.lost) sub += fmt::format(", {} lost", grouped(p.lost));
    if (!p.sampler.empty()) sub += ", " + p.sampler;
  }
  return draw(tree, o, sub, [total](const Node& n, const std::string& name) {
    return Look{colour(n.family, name),
                fmt::format("{} sample{}, {:.2f}%", grouped(n.value), n.value == 1 ? "" : "s",
                            share(n.value, total))};
  });
}

std::string export_diff_svg(const Profile& base, const Profile& target, const SvgOptions& o) {
  Tree tree;
  add_profile(tree, target, false, false);
  add_profile(tree, base, false, true);
  sort_children(tree);
  const uint64_t total = tree.nodes[0].value, base_total = tree.nodes[0].base;
  // The colour scale: the largest change of any frame's share is full red
  // (grew) or full blue (shrank); no change is near white.
  double most = 0;
  for (const auto& n : tree.nodes)
    most = std::max(most, std::fabs(share(n.value, total) - share(n.base, base_total)));
  std::string sub = o.subtitle.empty()
                        ? "width: the profile; red grew and blue shrank against the base"
                        : o.subtitle;
  return draw(tree, o, sub, [&](const Node& n, const std::string& /*name*/) {
    double now = share(n.value, total), before = share(n.base, base_total);
    double d = now - before;
    double k = most > 0 ? std::fabs(d) / most : 0;
    std::string fill = n.family == Family::kRoot ? "rgb(200,200,200)"
                       : d >= 0                  ? hsl(0, 0.8, 0.96 - 0.46 * k)
                                                 : hsl(220, 0.8, 0.96 - 0.46 * k);
    return Look{fill, fmt::format("{:.2f}%, base {:.2f}%, {:+.2f} points", now, before, d)};
  });
}

}  // namespace sonde::profiler
