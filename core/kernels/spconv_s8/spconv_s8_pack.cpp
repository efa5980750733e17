// Repacks NHWC u8 input rows into the cell planes of the sparse integer convolution (layout in
// spconv_s8_internal.h), and writes the padding cells of a band's segment. Baseline code: a cell is one 4-byte move (unit 4) or two bytes widened to int16
// (unit 2); the compiler vectorizes neither well, but the whole pass costs a few percent of a
// convolution (measured in README.md).
#include <cstdint>
#include <algorithm>
#include <cstring>

#include "core/kernels/spconv_s8/spconv_s8_internal.h"

namespace sp::kernels::spconv_s8_internal {

void spconv_s8_pack_rows(const SpPlan& p, const uint8_t* in, int64_t ips, uint8_t* packed, int row0, int ih_begin,
                         int ih_end) {
  const int full = p.in_c / p.unit, rem = p.in_c - full * p.unit;
  const int64_t phase_planes = p.groups * p.plane_cells;  // cells between column phases
  for (int ih = ih_begin; ih < ih_end; ++ih) {
    const int r = ih + p.pad_top;
    const int64_t row_cell = static_cast<int64_t>(r / p.stride_h - row0) * p.wq;
    const int64_t row_phase = static_cast<int64_t>(r % p.stride_h) * p.stride_w * phase_planes;
    for (int iw = 0; iw < p.in_w; ++iw) {
      const int c = iw + p.pad_left;
      const uint8_t* src = in + (static_cast<int64_t>(ih) * p.in_w + iw) * ips;
      uint8_t* dst = packed + (row_phase + (c % p.stride_w) * phase_planes + row_cell + c / p.stride_w) * 4;
      const int64_t step = p.plane_cells * 4;  // bytes between channel groups
      if (p.unit == 4) {
        for (int g = 0; g < full; ++g) std::memcpy(dst + g * step, src + g * 4, 4);
        if (rem) {
          uint8_t cell[4] = {0, 0, 0, 0};
          for (int i = 0; i < rem; ++i) cell[i] = src[full * 4 + i];
          std::memcpy(dst + full * step, cell, 4);
        }
      } else {
        for (int g = 0; g < full; ++g) {
          const uint32_t cell = static_cast<uint32_t>(src[g * 2]) | static_cast<uint32_t>(src[g * 2 + 1]) << 16;
          std::memcpy(dst + g * step, &cell, 4);
        }
        if (rem) {
          const uint32_t cell = src[full * 2];
          std::memcpy(dst + full * step, &cell, 4);
        }
      }
    }
  }
}

void spconv_s8_fill_padding(const SpPlan& p, uint8_t* segment, int row0) {
  uint32_t* const cells = reinterpret_cast<uint32_t*>(segment);
  const int64_t phase_planes = static_cast<int64_t>(p.groups) * p.plane_cells;
  const int padded_w = p.pad_left + p.in_w + p.pad_right;
  for (int j = 0; j < p.seg_rows && row0 + j < p.hq; ++j)
    for (int ph = 0; ph < p.stride_h; ++ph) {
      const int r = (row0 + j) * p.stride_h + ph;  // padded input row
      const bool pad_row = r < p.pad_top || r >= p.pad_top + p.in_h;
      for (int pw = 0; pw < p.stride_w; ++pw) {
        uint32_t* row = cells + (static_cast<int64_t>(ph) * p.stride_w + pw) * phase_planes + static_cast<int64_t>(j) * p.wq;
        for (int g = 0; g < p.groups; ++g, row += p.plane_cells) {
          if (pad_row) {
            std::fill_n(row, p.wq, p.zx_cell);
            continue;
          }
          // Padded columns c = col * stride_w + pw left and right of the input.
          for (int col = 0; col * p.stride_w + pw < p.pad_left; ++col) row[col] = p.zx_cell;
          for (int col = (p.pad_left + p.in_w - pw + p.stride_w - 1) / p.stride_w; col * p.stride_w + pw < padded_w; ++col)
            row[col] = p.zx_cell;
        }
      }
    }
}

}  // namespace sp::kernels::spconv_s8_internal
