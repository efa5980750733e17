#include "core/prune/pattern.h"

#include <cctype>

#include "core/error.h"

namespace sp::prune {
namespace {

constexpr int kMaxTile = 64;

// Reads a positive decimal number at text[pos], advancing pos; -1 when there is none or it is too big.
int read_count(const std::string& text, size_t& pos) {
  size_t start = pos;
  int v = 0;
  while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])) && pos - start < 3) {
    v = v * 10 + (text[pos] - '0');
    ++pos;
  }
  if (pos == start || (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])))) return -1;
  return v >= 1 && v <= kMaxTile ? v : -1;
}

}  // namespace

std::string PrunePattern::name() const {
  if (unstructured()) return "unstructured";
  // Appended piecewise: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string here.
  std::string s = "block-";
  if (rows > 1) {
    s += 'o';
    s += std::to_string(rows);
  }
  if (cols > 1) {
    s += 'k';
    s += std::to_string(cols);
  }
  return s;
}

PrunePattern PrunePattern::parse(const std::string& text) {
  const std::string bad = "--pattern: unknown pattern '" + text +
                          "' (unstructured, block-kN: N input channels of one tap, block-oN: N output channels, "
                          "block-oRkC: both; N in 1.." + std::to_string(kMaxTile) + ")";
  if (text == "unstructured") return {};
  if (text.rfind("block-", 0) != 0) throw Error(bad);
  PrunePattern p;
  size_t pos = 6;
  bool any = false;
  if (pos < text.size() && text[pos] == 'o') {
    ++pos;
    p.rows = read_count(text, pos);
    if (p.rows < 0) throw Error(bad);
    any = true;
  }
  if (pos < text.size() && text[pos] == 'k') {
    ++pos;
    p.cols = read_count(text, pos);
    if (p.cols < 0) throw Error(bad);
    any = true;
  }
  if (!any || pos != text.size()) throw Error(bad);
  return p;
}

std::string PrunePattern::misfit(int64_t out_channels, int64_t in_channels) const {
  if (out_channels % rows != 0) {
    return std::to_string(out_channels) + " output channels are not a multiple of " + std::to_string(rows);
  }
  if (in_channels % cols != 0) {
    return std::to_string(in_channels) + " input channels are not a multiple of " + std::to_string(cols);
  }
  return {};
}

}  // namespace sp::prune
