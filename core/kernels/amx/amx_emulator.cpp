// The AMX tile model (see amx_emulator.h). Baseline x86-64 code: it must run on any CPU. Each
// instruction follows the SDM's Operation section; the quoted lines are the rules implemented.
#include "core/kernels/amx/amx_emulator.h"

#include <cmath>
#include <cstring>
#include <string>

namespace sp::kernels::amx {

AmxFault::AmxFault(const std::string& vector, const std::string& message)
    : Error("AMX emulator: " + vector + " in " + message), vector_(vector) {}

const std::string& AmxFault::vector() const { return vector_; }

namespace {

[[noreturn]] void fault_gp(const std::string& what) { throw AmxFault("#GP", "ldtilecfg: " + what); }
[[noreturn]] void fault_ud(const char* name, const std::string& what) {
  throw AmxFault("#UD", std::string(name) + ": " + what);
}

std::string tile_name(int t) { return "tmm" + std::to_string(t); }

// ---- TDPBF16PS arithmetic --------------------------------------------------------------------------

constexpr uint32_t kQnanIndefinite = 0xFFC00000u;  // the x86 default NaN (invalid operations)

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
bool is_denormal(float f) { return f != 0.0f && std::fabs(f) < 0x1p-126f; }
// "input denormals are always treated as zero": a zero of the same sign.
float daz(float f) { return is_denormal(f) ? std::copysign(0.0f, f) : f; }
float quiet(float nan) { return from_bits(bits(nan) | 0x00400000u); }

// FTZ as MXCSR.FTZ defines it (SDM Vol. 1, 10.2.3.3 / 11.5.2.5): a result whose rounding to 24 bits
// with an UNBOUNDED exponent is below 2^-126 in magnitude becomes a zero with the sign of the true
// result. `r` is the IEEE result (rounded with gradual underflow) of the exact value hi + lo.
// - r denormal: the exact value is below 2^-126 - 2^-150 (else it would have rounded to 2^-126), so
//   its unbounded rounding is at most 2^-126 - 2^-150: tiny.
// - |r| == 2^-126: tiny iff |hi + lo| < 2^-126 - 2^-151, the midpoint below 2^-126 (a tie rounds to
//   even, which is 2^-126: not tiny). hi + lo is exact (two doubles from an error-free sum).
float flush_tiny(float r, double hi, double lo) {
  const float a = std::fabs(r);
  if (a > 0x1p-126f || a == 0.0f || !std::isfinite(r)) return r;
  if (a < 0x1p-126f) return std::copysign(0.0f, r);
  const double t = 0x1p-126 - 0x1p-151;
  const double ah = std::fabs(hi);
  const bool tiny = ah < t || (ah == t && lo != 0.0 && std::signbit(lo) != std::signbit(hi));
  return tiny ? std::copysign(0.0f, r) : r;
}

// Error-free sum (Knuth's TwoSum): s + e == a + b exactly, for doubles that do not overflow.
void two_sum(double a, double b, double& s, double& e) {
  s = a + b;
  const double bb = s - a;
  e = (a - (s - bb)) + (b - bb);
}

// "FP32 FMA with DAZ=FTZ=1, RNE rounding. MXCSR is neither consulted nor updated." (TDPBF16PS)
// NaN inputs: the first NaN of x, y, acc, made quiet; inf * 0 and inf - inf: the QNaN indefinite.
inline float fma_daz_ftz(float x, float y, float acc) {
  x = daz(x), y = daz(y), acc = daz(acc);
  if (std::isnan(x)) return quiet(x);
  if (std::isnan(y)) return quiet(y);
  if (std::isnan(acc)) return quiet(acc);
  if ((std::isinf(x) && y == 0.0f) || (std::isinf(y) && x == 0.0f)) return from_bits(kQnanIndefinite);
  if ((std::isinf(x) || std::isinf(y)) && std::isinf(acc) &&
      std::signbit(acc) != (std::signbit(x) != std::signbit(y)))
    return from_bits(kQnanIndefinite);
  // x and y are widened bf16 (8 significant bits each): their product has at most 16 significant bits,
  // so x * y in float is exact whenever it stays in float's normal range (or is a true zero). Then one
  // float addition of two exact normal-or-zero values is the once-rounded FMA, and since both are
  // multiples of 2^-149, a sum below 2^-126 is exact: it is tiny exactly when it is denormal.
  const float p = x * y;
  if (std::isfinite(p) && (std::fabs(p) >= 0x1p-126f || x == 0.0f || y == 0.0f)) {
    const float r = p + acc;
    return is_denormal(r) ? std::copysign(0.0f, r) : r;
  }
  // The product left float's normal range: std::fmaf rounds once (glibc's is correctly rounded), the
  // exact value is the error-free sum of the exact double product and acc.
  const float r = std::fmaf(x, y, acc);
  double hi, lo;
  two_sum(static_cast<double>(x) * static_cast<double>(y), static_cast<double>(acc), hi, lo);
  return flush_tiny(r, hi, lo);
}

// "DAZ=FTZ=1, RNE rounding": tmpf32 := temp1.fp32[2*n] + temp1.fp32[2*n+1] and the accumulation into
// the destination. With denormal inputs zeroed both operands are multiples of 2^-149, so a sum below
// 2^-126 is exact and tiny exactly when denormal.
inline float add_daz_ftz(float a, float b) {
  a = daz(a), b = daz(b);
  if (std::isnan(a)) return quiet(a);
  if (std::isnan(b)) return quiet(b);
  if (std::isinf(a) && std::isinf(b) && std::signbit(a) != std::signbit(b)) return from_bits(kQnanIndefinite);
  const float r = a + b;
  return is_denormal(r) ? std::copysign(0.0f, r) : r;
}

}  // namespace

float tdpbf16ps_fma(float x, float y, float acc) { return fma_daz_ftz(x, y, acc); }
float tdpbf16ps_add(float a, float b) { return add_daz_ftz(a, b); }

// ---- state ------------------------------------------------------------------------------------------

TileMachine::TileMachine() = default;

bool TileMachine::configured() const { return palette_ != 0; }
int TileMachine::rows(int t) const { return t >= 0 && t < kNumTiles ? rows_[t] : 0; }
int TileMachine::colsb(int t) const { return t >= 0 && t < kNumTiles ? colsb_[t] : 0; }
int TileMachine::start_row() const { return start_row_; }
const uint8_t* TileMachine::data(int t) const { return &tiles_[t][0][0]; }

void TileMachine::zero_all_tile_data() { std::memset(tiles_, 0, sizeof tiles_); }

// LDTILECFG (SDM Operation, in order):
//   "if temp_tilecfg.palette_id > max_palette: error"                  (max_palette = 1)
//   "if buf.byte[2..15] is nonzero: error"
//   "if temp_tilecfg.t[n].colsb > palette_table[..].bytes_per_row: error"   (64)
//   "if nonzero(buf[p...47]): error"                                     (colsb of tiles 8..15)
//   "if temp_tilecfg.t[n].rows > palette_table[..].max_rows: error"     (16)
//   "if nonzero(buf[p...63]): error"                                     (rows of tiles 8..15)
//   "one of rows or colsb was 0 but not both": error
//   error -> #GP; palette 0 -> TILES_CONFIGURED := 0, tilecfg := 0; either way zero_all_tile_data().
// start_row is taken as given (no check in LDTILECFG; loads and stores check it against rows).
void TileMachine::ldtilecfg(const void* config64) {
  uint8_t buf[64];
  std::memcpy(buf, config64, 64);
  const int palette = buf[0];
  if (palette > 1) fault_gp("palette " + std::to_string(palette) + " not supported (max_palette is 1)");
  if (palette == 0) {
    palette_ = 0, start_row_ = 0;
    std::memset(colsb_, 0, sizeof colsb_);
    std::memset(rows_, 0, sizeof rows_);
    zero_all_tile_data();
    return;
  }
  for (int i = 2; i < 16; ++i)
    if (buf[i]) fault_gp("reserved byte " + std::to_string(i) + " is nonzero");
  uint16_t colsb[kNumTiles];
  uint8_t rows[kNumTiles];
  for (int n = 0; n < kNumTiles; ++n) {
    colsb[n] = static_cast<uint16_t>(buf[16 + 2 * n] | (buf[17 + 2 * n] << 8));
    if (colsb[n] > kBytesPerRow)
      fault_gp(tile_name(n) + " colsb " + std::to_string(colsb[n]) + " exceeds 64 bytes per row");
  }
  for (int i = 32; i < 48; ++i)
    if (buf[i]) fault_gp("reserved byte " + std::to_string(i) + " (colsb of a tile past tmm7) is nonzero");
  for (int n = 0; n < kNumTiles; ++n) {
    rows[n] = buf[48 + n];
    if (rows[n] > kMaxRows) fault_gp(tile_name(n) + " rows " + std::to_string(rows[n]) + " exceeds 16");
  }
  for (int i = 56; i < 64; ++i)
    if (buf[i]) fault_gp("reserved byte " + std::to_string(i) + " (rows of a tile past tmm7) is nonzero");
  for (int n = 0; n < kNumTiles; ++n)
    if ((rows[n] == 0) != (colsb[n] == 0))
      fault_gp(tile_name(n) + " has rows " + std::to_string(rows[n]) + " but colsb " + std::to_string(colsb[n]) +
               " (both or neither must be zero)");
  palette_ = 1;
  start_row_ = buf[1];
  std::memcpy(colsb_, colsb, sizeof colsb_);
  std::memcpy(rows_, rows, sizeof rows_);
  zero_all_tile_data();
}

// STTILECFG: "If the tiles are not configured, then STTILECFG stores 64B of zeros"; else palette,
// start_row, colsb and rows of the 8 tiles, reserved bytes zero.
void TileMachine::sttilecfg(void* config64) const {
  uint8_t buf[64] = {};
  if (configured()) {
    buf[0] = palette_;
    buf[1] = start_row_;
    for (int n = 0; n < kNumTiles; ++n) {
      buf[16 + 2 * n] = static_cast<uint8_t>(colsb_[n] & 0xFF);
      buf[17 + 2 * n] = static_cast<uint8_t>(colsb_[n] >> 8);
      buf[48 + n] = rows_[n];
    }
  }
  std::memcpy(config64, buf, 64);
}

// TILERELEASE: "zero_all_tile_data(); tilecfg := 0 (64B of zeros); TILES_CONFIGURED := 0".
void TileMachine::tilerelease() {
  palette_ = 0, start_row_ = 0;
  std::memset(colsb_, 0, sizeof colsb_);
  std::memset(rows_, 0, sizeof rows_);
  zero_all_tile_data();
}

// AMX-E3 (TILELOADD, TILELOADDT1, TILESTORED): #UD if TILES_CONFIGURED == 0, if the tile is not valid
// or >= max_names, if its colsb is not a multiple of 4, or if TILECFG.start_row >= its rows.
void TileMachine::check_e3(const char* name, int t) const {
  if (!configured()) fault_ud(name, "tiles not configured (no ldtilecfg)");
  if (t < 0 || t >= kNumTiles || rows_[t] == 0) fault_ud(name, "tile " + std::to_string(t) + " is not configured");
  if (colsb_[t] % 4 != 0) fault_ud(name, tile_name(t) + " colsb " + std::to_string(colsb_[t]) + " is not a multiple of 4");
  if (start_row_ >= rows_[t])
    fault_ud(name, "start_row " + std::to_string(start_row_) + " >= " + tile_name(t) + " rows " + std::to_string(rows_[t]));
}

// AMX-E5 (TILEZERO): #UD if TILES_CONFIGURED == 0 or the tile is not valid / >= max_names.
void TileMachine::check_e5(const char* name, int t) const {
  if (!configured()) fault_ud(name, "tiles not configured (no ldtilecfg)");
  if (t < 0 || t >= kNumTiles || rows_[t] == 0) fault_ud(name, "tile " + std::to_string(t) + " is not configured");
}

// AMX-E4 (TDP*): #UD if srcdest == src1 or src1 == src2 or srcdest == src2; if TILES_CONFIGURED == 0;
// if any operand is not valid / >= max_names or has colsb % 4 != 0; if srcdest.colsb != src2.colsb
// (N), srcdest.rows != src1.rows (M), src1.colsb / 4 != src2.rows (K); if srcdest.colsb or src2.colsb
// > tmul_maxn, or src1.colsb / 4 or src2.rows > tmul_maxk.
void TileMachine::check_e4(const char* name, int d, int s1, int s2) const {
  if (d == s1 || s1 == s2 || d == s2)
    fault_ud(name, "operand tiles must be distinct (" + tile_name(d) + ", " + tile_name(s1) + ", " + tile_name(s2) + ")");
  if (!configured()) fault_ud(name, "tiles not configured (no ldtilecfg)");
  for (int t : {d, s1, s2}) {
    if (t < 0 || t >= kNumTiles || rows_[t] == 0) fault_ud(name, "tile " + std::to_string(t) + " is not configured");
    if (colsb_[t] % 4 != 0) fault_ud(name, tile_name(t) + " colsb " + std::to_string(colsb_[t]) + " is not a multiple of 4");
  }
  if (colsb_[d] != colsb_[s2])
    fault_ud(name, "N mismatch: dst colsb " + std::to_string(colsb_[d]) + " != src2 colsb " + std::to_string(colsb_[s2]));
  if (rows_[d] != rows_[s1])
    fault_ud(name, "M mismatch: dst rows " + std::to_string(rows_[d]) + " != src1 rows " + std::to_string(rows_[s1]));
  if (colsb_[s1] / 4 != rows_[s2])
    fault_ud(name, "K mismatch: src1 colsb / 4 = " + std::to_string(colsb_[s1] / 4) + " != src2 rows " +
                       std::to_string(rows_[s2]));
  if (colsb_[d] > kTmulMaxN || colsb_[s2] > kTmulMaxN) fault_ud(name, "N exceeds tmul_maxn");
  if (colsb_[s1] / 4 > kTmulMaxK || rows_[s2] > kTmulMaxK) fault_ud(name, "K exceeds tmul_maxk");
}

// TILEZERO: all 16 x 64 bytes of the tile := 0; zero_tilecfg_start().
void TileMachine::tilezero(int t) {
  check_e5("tilezero", t);
  std::memset(tiles_[t], 0, sizeof tiles_[t]);
  start_row_ = 0;
}

// TILELOADD[,T1]: "start := tilecfg.start_row; zero_upper_rows(tdest, start); nbytes := tdest.colsb;
// while start < tdest.rows: memptr := membegin + start * stride;
// write_row_and_zero(tdest, start, read_memory(memptr, nbytes), nbytes); start++; zero_tilecfg_start()"
// (zero_upper_rows(t, r) zeroes rows r..max_rows-1; write_row_and_zero zeroes bytes nbytes..63.)
void TileMachine::tileloadd(int t, const void* base, int64_t stride) {
  check_e3("tileloadd", t);
  const int start = start_row_;
  for (int r = start; r < kMaxRows; ++r) std::memset(tiles_[t][r], 0, kBytesPerRow);
  const auto* b = static_cast<const uint8_t*>(base);
  for (int r = start; r < rows_[t]; ++r) std::memcpy(tiles_[t][r], b + r * stride, colsb_[t]);
  start_row_ = 0;
}

void TileMachine::tileloaddt1(int t, const void* base, int64_t stride) {
  check_e3("tileloaddt1", t);
  tileloadd(t, base, stride);
}

// TILESTORED: "while start < tdest.rows: write_memory(membegin + start * stride, tsrc.colsb,
// tsrc.row[start]); start++; zero_tilecfg_start()" — only colsb bytes of each row are written.
void TileMachine::tilestored(int t, void* base, int64_t stride) {
  check_e3("tilestored", t);
  auto* b = static_cast<uint8_t*>(base);
  for (int r = start_row_; r < rows_[t]; ++r) std::memcpy(b + r * stride, tiles_[t][r], colsb_[t]);
  start_row_ = 0;
}

// TDPB[SU][SU]D: "for m in 0 ... tsrcdest.rows-1: tmp := tsrcdest.row[m]; for k in 0 ...
// tsrc1.colsb/4-1: for n in 0 ... tsrcdest.colsb/4-1: DPBD(tmp.dword[n], tsrc1.row[m].dword[k],
// tsrc2.row[k].dword[n]); write_row_and_zero(tsrcdest, m, tmp, tsrcdest.colsb);
// zero_upper_rows(tsrcdest, tsrcdest.rows); zero_tilecfg_start()", with
// "DPBD(c,x,y): p_i := extend_src1(x.byte[i]) * extend_src2(y.byte[i]); c := c + p0 + p1 + p2 + p3"
// on dwords: the sum wraps modulo 2^32 (there is no saturating form). The products of one quadruple
// fit in int32; the running sum is kept in uint32 so the wrap is defined behaviour in C++.
template <bool kSrc1Signed, bool kSrc2Signed>
void TileMachine::dot_bytes(const char* name, int d, int s1, int s2) {
  check_e4(name, d, s1, s2);
  const int m_n = rows_[d], k_n = colsb_[s1] / 4, n_n = colsb_[d] / 4;
  // B widened once per instruction: 16 rows x 64 bytes as int32.
  int32_t b[kMaxRows][kBytesPerRow];
  for (int k = 0; k < k_n; ++k)
    for (int j = 0; j < 4 * n_n; ++j)
      b[k][j] = kSrc2Signed ? static_cast<int8_t>(tiles_[s2][k][j]) : tiles_[s2][k][j];
  for (int m = 0; m < m_n; ++m) {
    uint32_t tmp[kBytesPerRow / 4];
    std::memcpy(tmp, tiles_[d][m], sizeof tmp);
    for (int k = 0; k < k_n; ++k) {
      int32_t a[4];
      for (int i = 0; i < 4; ++i)
        a[i] = kSrc1Signed ? static_cast<int8_t>(tiles_[s1][m][4 * k + i]) : tiles_[s1][m][4 * k + i];
      const int32_t* bk = b[k];
      for (int n = 0; n < n_n; ++n) {
        const int32_t dot = a[0] * bk[4 * n] + a[1] * bk[4 * n + 1] + a[2] * bk[4 * n + 2] + a[3] * bk[4 * n + 3];
        tmp[n] += static_cast<uint32_t>(dot);
      }
    }
    std::memcpy(tiles_[d][m], tmp, static_cast<size_t>(n_n) * 4);
    std::memset(tiles_[d][m] + n_n * 4, 0, static_cast<size_t>(kBytesPerRow - n_n * 4));
  }
  for (int m = m_n; m < kMaxRows; ++m) std::memset(tiles_[d][m], 0, kBytesPerRow);
  start_row_ = 0;
}

void TileMachine::tdpbssd(int d, int s1, int s2) { dot_bytes<true, true>("tdpbssd", d, s1, s2); }
void TileMachine::tdpbsud(int d, int s1, int s2) { dot_bytes<true, false>("tdpbsud", d, s1, s2); }
void TileMachine::tdpbusd(int d, int s1, int s2) { dot_bytes<false, true>("tdpbusd", d, s1, s2); }
void TileMachine::tdpbuud(int d, int s1, int s2) { dot_bytes<false, false>("tdpbuud", d, s1, s2); }

// TDPBF16PS (current SDM Operation):
//   "for m in 0 ... tsrcdest.rows-1:
//      temp1[0 ... elements_temp-1] := 0                       (elements_temp := tsrcdest.colsb / 2)
//      for k in 0 ... elements_src1-1:  for n in 0 ... elements_dest-1:
//        // FP32 FMA with DAZ=FTZ=1, RNE rounding. MXCSR is neither consulted nor updated.
//        temp1.fp32[2*n+0] += make_fp32(tsrc1.row[m].bfloat16[2*k+0]) * make_fp32(tsrc2.row[k].bfloat16[2*n+0])
//        temp1.fp32[2*n+1] += make_fp32(tsrc1.row[m].bfloat16[2*k+1]) * make_fp32(tsrc2.row[k].bfloat16[2*n+1])
//      for n in 0 ... elements_dest-1:
//        // DAZ=FTZ=1, RNE rounding.
//        tmpf32 := temp1.fp32[2*n] + temp1.fp32[2*n+1]
//        tsrcdest.row[m].fp32[n] := tsrcdest.row[m].fp32[n] + tmpf32
//      write_row_and_zero(tsrcdest, m, tmp, tsrcdest.colsb)
//    zero_upper_rows(tsrcdest, tsrcdest.rows); zero_tilecfg_start()"
// So the even and the odd elements of the pairs are summed separately over the instruction's whole K
// (up to 16 pairs), starting from +0, and only then combined and added to the accumulator. (The older
// intrinsics-guide text, `tmp.fp32[n] += even product; tmp.fp32[n] += odd product` straight into the
// destination, rounds differently; the SDM's is what is modelled here.)
void TileMachine::tdpbf16ps(int d, int s1, int s2) {
  check_e4("tdpbf16ps", d, s1, s2);
  const int m_n = rows_[d], k_n = colsb_[s1] / 4, n_n = colsb_[d] / 4;
  auto bf16 = [](const uint8_t* p) {
    const uint32_t u = static_cast<uint32_t>(p[0] | (p[1] << 8)) << 16;  // make_fp32: bits 31:16
    return from_bits(u);
  };
  for (int m = 0; m < m_n; ++m) {
    float temp[kBytesPerRow / 2] = {};
    for (int k = 0; k < k_n; ++k) {
      const float a0 = bf16(&tiles_[s1][m][4 * k]), a1 = bf16(&tiles_[s1][m][4 * k + 2]);
      for (int n = 0; n < n_n; ++n) {
        temp[2 * n] = fma_daz_ftz(a0, bf16(&tiles_[s2][k][4 * n]), temp[2 * n]);
        temp[2 * n + 1] = fma_daz_ftz(a1, bf16(&tiles_[s2][k][4 * n + 2]), temp[2 * n + 1]);
      }
    }
    float row[kBytesPerRow / 4];
    std::memcpy(row, tiles_[d][m], sizeof row);
    for (int n = 0; n < n_n; ++n) row[n] = add_daz_ftz(row[n], add_daz_ftz(temp[2 * n], temp[2 * n + 1]));
    std::memcpy(tiles_[d][m], row, static_cast<size_t>(n_n) * 4);
    std::memset(tiles_[d][m] + n_n * 4, 0, static_cast<size_t>(kBytesPerRow - n_n * 4));
  }
  for (int m = m_n; m < kMaxRows; ++m) std::memset(tiles_[d][m], 0, kBytesPerRow);
  start_row_ = 0;
}

TileMachine& thread_tile_machine() {
  thread_local TileMachine machine;
  return machine;
}

}  // namespace sp::kernels::amx
