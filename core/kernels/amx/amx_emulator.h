// An exact software model of the Intel AMX tile instructions the engine uses (AMX-TILE, AMX-INT8,
// AMX-BF16; palette 1 as Sapphire Rapids implements it), written from the "Operation" sections of the
// Intel SDM (Vol. 2) and its exception classes AMX-E1..E6 (Vol. 2A, 2.10). It lets the AMX kernels'
// packing, tiling and epilogues run bit-exact in the unit tests on CPUs without AMX (and routes whole
// sessions through it with SP_AMX=emulate), so the code that will run on real tiles is the code tested.
//
// What is modelled, and how (amx_emulator.cpp quotes the SDM rule next to each):
//  - TILECFG: palette 0 (INIT) or 1 (8 tiles of <= 16 rows x <= 64 bytes), start_row; LDTILECFG
//    validates the 64 bytes as the CPU does and faults (#GP) where it would; it zeroes all tile data.
//  - TILELOADD/TILELOADDT1/TILESTORED: row r at base + r * stride (any stride, 0 included), colsb bytes
//    per row; bytes past colsb and rows past `rows` are zeroed on load; restart from start_row.
//  - TDPBSSD/TDPBSUD/TDPBUSD/TDPBUUD: int32 dot products of byte quadruples, accumulated with
//    WRAP-AROUND (modulo 2^32; the SDM's `c := c + p0 + p1 + p2 + p3` on dwords, no saturation).
//  - TDPBF16PS: per row, separate fp32 accumulators for the even and the odd bf16 of each pair over the
//    whole K of the instruction (FMA, one rounding each), then even + odd, then added to the
//    destination; round-to-nearest-even, input denormals treated as zero (DAZ), output denormals
//    flushed to zero (FTZ, tininess after rounding as MXCSR.FTZ defines it); MXCSR neither read nor set.
//  - #UD where the CPU raises it: tiles not configured, an invalid/unconfigured tile, colsb not a
//    multiple of 4, start_row >= rows, operand tiles not distinct, operand shapes that do not chain
//    (C.colsb == B.colsb, C.rows == A.rows, A.colsb / 4 == B.rows) or exceed tmul_maxk / tmul_maxn.
// Faults are thrown as AmxFault (an sp::Error) naming the instruction and the rule; the state is left
// as the CPU would leave it (unchanged: every check precedes the first write).
// Not modelled: the OS side (XFD #NM, XCR0), TSX aborts, memory faults mid-instruction (start_row is
// honoured when set through LDTILECFG, but an access is never interrupted), and the NaN payloads of
// TDPBF16PS (a NaN input gives a quiet NaN, the first of x, y, acc, as IEEE suggests; unverified).
//
// One TileMachine per thread, like the architectural state: thread_tile_machine(). Out-of-line member
// functions only (see conv_f32_internal.h for why ISA-shared headers carry no inline code).
#pragma once

#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/kernels/amx/amx_tiles.h"

namespace sp::kernels::amx {

// A fault the CPU would raise: "#GP" (LDTILECFG's bad configuration) or "#UD" (everything else).
class AmxFault : public Error {
 public:
  AmxFault(const std::string& vector, const std::string& message);
  const std::string& vector() const;

 private:
  std::string vector_;
};

class TileMachine {
 public:
  TileMachine();  // the INIT state: no palette, all tile data zero (a fresh thread's state)

  void ldtilecfg(const void* config64);
  void sttilecfg(void* config64) const;
  void tilerelease();
  void tilezero(int tile);
  void tileloadd(int tile, const void* base, int64_t stride);
  void tileloaddt1(int tile, const void* base, int64_t stride);  // a cache hint on the CPU: same result
  void tilestored(int tile, void* base, int64_t stride);
  void tdpbssd(int dst, int src1, int src2);  // s8 x s8
  void tdpbsud(int dst, int src1, int src2);  // s8 x u8
  void tdpbusd(int dst, int src1, int src2);  // u8 x s8
  void tdpbuud(int dst, int src1, int src2);  // u8 x u8
  void tdpbf16ps(int dst, int src1, int src2);

  bool configured() const;  // TILES_CONFIGURED
  int rows(int tile) const;
  int colsb(int tile) const;
  int start_row() const;
  // The tile's architectural 16 x 64 bytes (rows past `rows` and bytes past `colsb` read as zero).
  const uint8_t* data(int tile) const;

 private:
  template <bool kSrc1Signed, bool kSrc2Signed>
  void dot_bytes(const char* name, int dst, int src1, int src2);
  void check_e3(const char* name, int tile) const;
  void check_e4(const char* name, int dst, int src1, int src2) const;
  void check_e5(const char* name, int tile) const;
  void zero_all_tile_data();

  uint8_t palette_ = 0;  // 0: TILES_CONFIGURED == 0
  uint8_t start_row_ = 0;
  uint16_t colsb_[kNumTiles] = {};
  uint8_t rows_[kNumTiles] = {};
  alignas(64) uint8_t tiles_[kNumTiles][kMaxRows][kBytesPerRow] = {};
};

// This thread's tile state (thread_local, INIT until its first ldtilecfg).
TileMachine& thread_tile_machine();

// The arithmetic of TDPBF16PS, exposed for tests and for scalar references that model the instruction:
// fp32 x * y + acc with one rounding (RNE), DAZ on x, y and acc, FTZ on the result (a result that is
// tiny after rounding with an unbounded exponent becomes a zero of its sign). x and y are widened bf16.
float tdpbf16ps_fma(float x, float y, float acc);
// a + b, RNE, DAZ, FTZ: the instruction's horizontal and accumulating additions.
float tdpbf16ps_add(float a, float b);

}  // namespace sp::kernels::amx
