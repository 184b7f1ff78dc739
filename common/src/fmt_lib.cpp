// fmt's compiled part, once for the whole build. Debian ships libfmt as a
// shared library only, and the static agent needs every byte in archives:
// format-inl.h holds the out-of-line functions (FMT_FUNC, empty when not
// header-only), and the templates format.h declares `extern` are
// instantiated here for the character types it names.
#include <fmt/format.h>
// After format.h, which defines FMT_FUNC.
#include <fmt/format-inl.h>

#include <locale>

namespace fmt {
FMT_BEGIN_DETAIL_NAMESPACE

template FMT_API auto thousands_sep_impl<char>(locale_ref) -> thousands_sep_result<char>;
template FMT_API auto thousands_sep_impl<wchar_t>(locale_ref) -> thousands_sep_result<wchar_t>;
template FMT_API auto decimal_point_impl(locale_ref) -> char;
template FMT_API auto decimal_point_impl(locale_ref) -> wchar_t;
template FMT_API locale_ref::locale_ref(const std::locale& loc);
template FMT_API auto locale_ref::get<std::locale>() const -> std::locale;
template FMT_API auto dragonbox::to_decimal(float x) noexcept -> dragonbox::decimal_fp<float>;
template FMT_API auto dragonbox::to_decimal(double x) noexcept -> dragonbox::decimal_fp<double>;

FMT_END_DETAIL_NAMESPACE
}  // namespace fmt
