#include "maps.h"

#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "sonde/common/io.h"

namespace sonde::profiler {

std::shared_ptr<ElfImage> ImageCache::get(const std::string& key, const std::string& open_path,
                                          std::string* err) {
  if (auto it = images_.find(key); it != images_.end()) return it->second;
  if (auto it = failed_.find(key); it != failed_.end()) {
    *err = it->second;
    return nullptr;
  }
  auto img = ElfImage::open_file(open_path, err);
  if (!img) {
    failed_[key] = *err;
    return nullptr;
  }
  images_[key] = img;
  return img;
}

std::shared_ptr<ElfImage> ImageCache::vdso(std::string* path_out) {
  if (vdso_) {
    *path_out = vdso_path_;
    return vdso_;
  }
  auto base = static_cast<uint64_t>(::getauxval(AT_SYSINFO_EHDR));
  if (!base) return nullptr;
  auto text = read_file("/proc/self/maps");
  if (!text) return nullptr;
  for (const auto& m : parse_maps(*text)) {
    if (m.path != "[vdso]" || m.start != base) continue;
    std::vector<uint8_t> bytes(reinterpret_cast<const uint8_t*>(m.start),
                               reinterpret_cast<const uint8_t*>(m.end));
    // The symbolizer opens files: give it the bytes as one.
    vdso_fd_ = ::memfd_create("sonde-vdso", MFD_CLOEXEC);
    if (vdso_fd_ >= 0 &&
        write_all(vdso_fd_,
                  std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()))
            .ok())
      vdso_path_ = "/proc/self/fd/" + std::to_string(vdso_fd_);
    std::string err;
    vdso_ = ElfImage::from_bytes(std::move(bytes), &err);
    *path_out = vdso_path_;
    return vdso_;
  }
  return nullptr;
}

Status ProcessView::refresh() {
  auto text = read_file("/proc/" + std::to_string(pid_) + "/maps");
  if (!text) return text.error();
  last_refresh_ms_ = monotonic_ms();
  auto maps = parse_maps(*text);
  // A process that exited (a zombie) shows no mappings: keep what we knew,
  // its samples still need symbols.
  if (maps.empty() && !ranges_.empty()) return ok_status();
  maps_ = std::move(maps);
  // Files are opened through the target's root only when that root is not
  // ours (a container): a plain path still works after the target is gone.
  struct stat theirs = {}, ours = {};
  bool same_root = ::stat(fmt::format("/proc/{}/root/", pid_).c_str(), &theirs) == 0 &&
                   ::stat("/", &ours) == 0 && theirs.st_dev == ours.st_dev &&
                   theirs.st_ino == ours.st_ino;
  std::map<std::string, std::shared_ptr<Module>> modules;  // one per file
  ranges_.clear();
  for (const auto& m : maps_) {
    Range r{m.start, m.end, nullptr};
    bool file = !m.path.empty() && m.path[0] == '/';
    if (m.path == "[vdso]") {
      std::string path;
      auto img = cache_.vdso(&path);
      if (img && !path.empty()) {
        auto mod = std::make_shared<Module>();
        mod->image = img;
        mod->ref = ModuleRef{path, "[vdso]", img->build_id()};
        mod->bias = m.start - img->vaddr_of_offset(0).value_or(0);
        r.module = mod;
      }
    } else if (file && m.read) {
      std::string key = m.path + "#" + std::to_string(m.inode);
      auto& mod = modules[key];
      if (!mod) {
        // Through the target's root, so a containerised target's files are
        // the ones it maps; map_files also covers deleted ones.
        std::string open_path =
            m.deleted   ? fmt::format("/proc/{}/map_files/{:x}-{:x}", pid_, m.start, m.end)
            : same_root ? m.path
                        : fmt::format("/proc/{}/root{}", pid_, m.path);
        std::string err;
        auto img = cache_.get(key, open_path, &err);
        if (!img) {
          if (m.exec && noted_.emplace(m.path, true).second)
            notes_.push_back(
                fmt::format("cannot read {}: {}; its frames stay unnamed", m.path, err));
          ranges_.push_back(r);
          continue;
        }
        mod = std::make_shared<Module>();
        mod->image = img;
        mod->ref = ModuleRef{open_path, m.path, img->build_id()};
        auto v = img->vaddr_of_offset(m.offset);
        mod->bias = v ? m.start - *v : m.start;
      }
      r.module = mod;
    }
    ranges_.push_back(r);
  }
  std::sort(ranges_.begin(), ranges_.end(),
            [](const Range& a, const Range& b) { return a.start < b.start; });
  return ok_status();
}

const ProcessView::Range* ProcessView::find(uint64_t addr) const {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), addr,
                             [](uint64_t a, const Range& r) { return a < r.start; });
  if (it == ranges_.begin()) return nullptr;
  --it;
  return addr < it->end ? &*it : nullptr;
}

const Module* ProcessView::module_at(uint64_t addr) {
  const Range* r = find(addr);
  if (!r && monotonic_ms() - last_refresh_ms_ >= 100) {
    (void)refresh();
    r = find(addr);
  }
  return r && r->module ? r->module.get() : nullptr;
}

bool ProcessView::read(uint64_t addr, void* out, size_t n) {
  const Module* m = module_at(addr);
  return m && m->image->read(addr - m->bias, out, n);
}

uint64_t ProcessView::region_end(uint64_t sp) const {
  const Range* r = find(sp);
  return r ? r->end : 0;
}

std::vector<std::string> ProcessView::take_notes() {
  return std::exchange(notes_, {});
}

}  // namespace sonde::profiler
