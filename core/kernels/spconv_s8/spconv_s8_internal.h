// Internal to the sparse integer convolution: the plain-data plan that spconv_s8.cpp (baseline code)
// builds at create() time and the ISA translation units execute. Only plain structs, constants and
// out-of-line function declarations here (no inline functions, no templates): every ISA TU includes it,
// and an inline function compiled with AVX-512 flags in one TU could be the copy the linker keeps for all.
//
// Layout. The input is repacked once per run into "cell planes": a cell is 4 bytes holding `unit` input
// channels of one padded input pixel — 4 u8 (unit 4, the vpdpbusd operand) or 2 int16 (unit 2, the
// vpmaddwd operand, u8 zero-extended). There is one plane per (row phase, column phase, channel group):
// the padded input (pad_top + in_h + pad_bottom rows, pad_left + in_w + pad_right columns, padding = zx)
// split by row and column parity modulo the stride, so that for every tap the cells of consecutive
// output pixels are consecutive in one plane:
//   padded pixel (r, c) -> plane (r % stride_h, c % stride_w, g), cell (r / stride_h) * wq + c / stride_w
//   output pixel (oh, ow) is q = oh * wq + ow ("q-space"); tap (kh, kw) of channel group g reads
//   cell q + ((kh * dil_h) / stride_h) * wq + (kw * dil_w) / stride_w of plane ((kh*dil_h) % stride_h,
//   (kw*dil_w) % stride_w, g).
// q-space has wq - out_w "garbage" columns per output row (computed, never stored) and the kernels run
// whole tiles past the last q, so no tap needs a bounds check.
//
// Bands. The input is packed and consumed band by band, in a workspace that is reused (per thread, across
// bands and layers: it stays in cache): band b covers tiles [b * band_tiles, (b + 1) * band_tiles) and its
// segment (seg_bytes) holds the phase rows [row0, row0 + seg_rows) that those tiles read, row0 = (first q
// of the band) / wq; the band's q are stored relative to q_origin = row0 * wq. Rows a band shares with
// its neighbour are packed for both. Small inputs are one band. Since a segment is reused, every cell a
// valid output reads is rewritten per band: the input pixels by a pack function, the padding (zx) by
// spconv_s8_fill_padding; other cells (past the padded input, garbage columns) hold anything.
//
// Weights. Output channels are taken in groups of oc_block (1, 2 or 4; the last group padded with
// channels of zero weights); per group, the units where any of its channels has a nonzero weight are its
// entries [row_start[gr], row_start[gr+1]), sorted by offset: offsets[e] = byte offset of the unit's
// cell for q = 0, weights[e * oc_block + c] = channel c's weights of the unit packed like a cell. One load
// of cells then serves oc_block channels (oc_block 1: the plain 4-along-K format; larger blocks pay off
// when the pruning pattern zeroes the same units in oc_block consecutive channels).
// acc(q) = bias'[o] + sum over entries of dot(cell at offset + 4q, weight), where
// bias'[o] = bias[o] - zx * sum(w[o]) (mod 2^32): padded cells hold zx, so they cancel it, exactly as in
// the dense kernels (conv_s8_internal.h).
#pragma once

#include <cstdint>

namespace sp::kernels::spconv_s8_internal {

struct SpPlan {
  int in_h = 0, in_w = 0, in_c = 0, out_h = 0, out_w = 0, out_c = 0;
  int stride_h = 1, stride_w = 1, pad_top = 0, pad_left = 0, pad_right = 0;
  int unit = 4;                 // input channels per cell: 4 (u8) or 2 (int16)
  int groups = 0;               // channel groups: ceil(in_c / unit)
  int hq = 0, wq = 0;           // the padded input in phase rows: hq rows of wq cells
  int seg_rows = 0;             // phase rows per plane of a band's segment
  int64_t plane_cells = 0;      // cells between consecutive planes (>= seg_rows * wq and every read)
  int64_t seg_bytes = 0;        // bytes between bands' segments
  int bands = 1;
  int64_t band_tiles = 0;       // tiles per band (the last band may have fewer)
  uint32_t zx_cell = 0;         // a padding cell: zx in every channel slot
  int64_t q_count = 0;          // out_h * wq
  bool out_f32 = false;
  bool silu = false;
  int zy = 0;
  float inv_out_scale = 1.0f;
  int oc_block = 1;                    // output channels per group: 1, 2 or 4
  int oc_groups = 0;                   // ceil(out_c / oc_block)
  const int32_t* row_start = nullptr;  // oc_groups + 1
  const uint32_t* offsets = nullptr;   // per entry: bytes into the packed input, for q = 0
  const int32_t* weights = nullptr;    // per entry, oc_block cells of weights: unit 4: 4 s8 (channel
                                       // g*4+i in byte i); unit 2: 2 int16 (channel g*2+i in half i)
  // Per output channel, oc_groups * oc_block entries (padding channels: 0):
  const int32_t* bias = nullptr;       // compensation folded in
  const float* requant = nullptr;      // sx * sw[o] / sy
  const float* dequant = nullptr;      // sx * sw[o]
};

// Output channels are finished in blocks of kChannelBlock (one 16-byte store per pixel after the
// transpose from channel-major to NHWC).
constexpr int kChannelBlock = 16;
// Largest tile (output pixels per micro-tile) any kernel uses.
constexpr int kMaxTilePixels = 128;

// Computes q in [tile_begin * tile_pixels, tile_end * tile_pixels) (clipped to q_count, garbage columns
// not stored) for output channels [oc_begin, oc_end); oc_begin is a multiple of kChannelBlock. The tiles
// are in one band, `segment` is its packed cells (filled by a pack_rows function) and q_origin its first
// q (cells are at q - q_origin). tile_pixels is one the kernel supports (spconv_s8.cpp picks it).
void spconv_s8_avx512vnni_tiles(const SpPlan& plan, const uint8_t* segment, int64_t q_origin, void* out,
                                int64_t out_pixel_stride, int tile_pixels, int64_t tile_begin, int64_t tile_end,
                                int oc_begin, int oc_end);
void spconv_s8_avxvnni_tiles(const SpPlan& plan, const uint8_t* segment, int64_t q_origin, void* out,
                             int64_t out_pixel_stride, int tile_pixels, int64_t tile_begin, int64_t tile_end,
                             int oc_begin, int oc_end);
void spconv_s8_avx2_tiles(const SpPlan& plan, const uint8_t* segment, int64_t q_origin, void* out,
                          int64_t out_pixel_stride, int tile_pixels, int64_t tile_begin, int64_t tile_end,
                          int oc_begin, int oc_end);
// The portable implementation of the format (spconv_s8_scalar.cpp): the reference the format's SIMD
// kernels are tested through, and the kScalar path.
void spconv_s8_scalar_tiles(const SpPlan& plan, const uint8_t* segment, int64_t q_origin, void* out,
                            int64_t out_pixel_stride, int tile_pixels, int64_t tile_begin, int64_t tile_end,
                            int oc_begin, int oc_end);

// Writes the cells of input rows [ih_begin, ih_end) into a band's segment whose first phase row is row0
// (the rows must map to phase rows [row0, row0 + seg_rows)). The baseline version (spconv_s8_pack.cpp) handles every plan; the SIMD ones
// (transposes of 16x16 or 8x8 cells, in the ISA translation units) handle stride_w 1 and 2 and call the
// baseline one otherwise. The AVX-512 and AVX-VNNI ones pack unit 4, the AVX2 one unit 2.
void spconv_s8_pack_rows(const SpPlan& plan, const uint8_t* in, int64_t in_pixel_stride, uint8_t* segment, int row0,
                         int ih_begin, int ih_end);
// Writes zx into the padding cells of the phase rows [row0, row0 + seg_rows) of a segment: whole rows above
// and below the input, the columns left and right of it (spconv_s8_pack.cpp).
void spconv_s8_fill_padding(const SpPlan& plan, uint8_t* segment, int row0);
void spconv_s8_avx512vnni_pack_rows(const SpPlan& plan, const uint8_t* in, int64_t in_pixel_stride, uint8_t* segment,
                                    int row0, int ih_begin, int ih_end);
void spconv_s8_avxvnni_pack_rows(const SpPlan& plan, const uint8_t* in, int64_t in_pixel_stride, uint8_t* segment,
                                 int row0, int ih_begin, int ih_end);
void spconv_s8_avx2_pack_rows(const SpPlan& plan, const uint8_t* in, int64_t in_pixel_stride, uint8_t* segment,
                              int row0, int ih_begin, int ih_end);

}  // namespace sp::kernels::spconv_s8_internal
