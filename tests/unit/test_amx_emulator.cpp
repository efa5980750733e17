// The AMX tile model (core/kernels/amx/amx_emulator.h) against the SDM: LDTILECFG's checks and #GP,
// the #UD conditions, load/store zeroing and strides, hand-computed TDPB*D and TDPBF16PS cases (the
// wrap-around, the separate even/odd sums, DAZ, FTZ with tininess after rounding, RNE), and random
// tiles against plain loops written here from the pseudocode.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "core/kernels/amx/amx_emulator.h"
#include "core/kernels/amx/amx_tiles.h"

namespace sp::kernels::amx {
namespace {

TileConfig config(std::initializer_list<std::pair<int, int>> rows_colsb) {
  TileConfig c;
  c.palette = 1;
  int t = 0;
  for (auto [r, cb] : rows_colsb) {
    c.rows[t] = static_cast<uint8_t>(r);
    c.colsb[t] = static_cast<uint16_t>(cb);
    ++t;
  }
  return c;
}

// Expects `fn` to raise the fault `vector` ("#GP" / "#UD") with `what` in the message.
template <typename Fn>
void expect_fault(Fn fn, const std::string& vector, const std::string& what) {
  try {
    fn();
    ADD_FAILURE() << "no fault, expected " << vector << " (" << what << ")";
  } catch (const AmxFault& f) {
    EXPECT_EQ(f.vector(), vector) << f.what();
    EXPECT_NE(std::string(f.what()).find(what), std::string::npos) << f.what();
  }
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
uint16_t bf16(float f) { return static_cast<uint16_t>(bits(f) >> 16); }  // exact for the values used
int32_t dword(const TileMachine& tm, int t, int row, int col) {
  int32_t v;
  std::memcpy(&v, tm.data(t) + row * 64 + col * 4, 4);
  return v;
}
float fp32(const TileMachine& tm, int t, int row, int col) {
  float v;
  std::memcpy(&v, tm.data(t) + row * 64 + col * 4, 4);
  return v;
}

TEST(AmxEmulator, LdtilecfgChecksLikeTheCpu) {
  TileMachine tm;
  EXPECT_FALSE(tm.configured());
  TileConfig ok = config({{16, 64}, {3, 12}, {1, 4}});
  ok.start_row = 0;
  tm.ldtilecfg(&ok);
  EXPECT_TRUE(tm.configured());
  EXPECT_EQ(tm.rows(1), 3);
  EXPECT_EQ(tm.colsb(1), 12);
  EXPECT_EQ(tm.rows(3), 0);
  TileConfig back;
  tm.sttilecfg(&back);
  EXPECT_EQ(std::memcmp(&back, &ok, 64), 0) << "sttilecfg must give back what ldtilecfg took";

  uint8_t pattern[64] = {1, 2, 3, 4};  // tile 0 rows are 64 bytes: a load reads all of them
  tm.tileloadd(0, pattern, 0);
  auto bad = [&](TileConfig c, const std::string& what) {
    expect_fault([&] { tm.ldtilecfg(&c); }, "#GP", what);
    EXPECT_TRUE(tm.configured()) << "a faulting ldtilecfg leaves the state alone";
    EXPECT_EQ(tm.data(0)[1], 2) << "a faulting ldtilecfg leaves the tile data alone";
  };
  TileConfig c = ok;
  c.palette = 2;
  bad(c, "palette 2");
  c = ok, c.reserved0[3] = 1;  // byte 5
  bad(c, "reserved byte 5");
  c = ok, c.colsb[2] = 65;
  bad(c, "colsb 65");
  c = ok, c.colsb[8] = 4;  // byte 32: a ninth tile
  bad(c, "reserved byte 32");
  c = ok, c.rows[0] = 17;
  bad(c, "rows 17");
  c = ok, c.rows[9] = 1;  // byte 57
  bad(c, "reserved byte 57");
  c = ok, c.colsb[5] = 8;  // rows 0
  bad(c, "both or neither");
  c = ok, c.rows[5] = 2;  // colsb 0
  bad(c, "both or neither");

  // A configuration the CPU accepts although no instruction can use the tile: colsb not a multiple of 4.
  c = config({{2, 6}});
  EXPECT_NO_THROW(tm.ldtilecfg(&c));
  for (int i = 0; i < 16 * 64; ++i) ASSERT_EQ(tm.data(0)[i], 0) << "ldtilecfg zeroes all tile data";
  TileConfig zero;  // palette 0: the INIT state
  tm.ldtilecfg(&zero);
  EXPECT_FALSE(tm.configured());
  tm.sttilecfg(&back);
  EXPECT_EQ(std::memcmp(&back, &zero, 64), 0) << "unconfigured: sttilecfg stores 64 zero bytes";
}

TEST(AmxEmulator, UndefinedOpcodeConditions) {
  TileMachine tm;
  uint8_t mem[64 * 16] = {};
  expect_fault([&] { tm.tileloadd(0, mem, 64); }, "#UD", "not configured");
  expect_fault([&] { tm.tilezero(0); }, "#UD", "not configured");
  expect_fault([&] { tm.tdpbusd(0, 1, 2); }, "#UD", "not configured");
  TileConfig c = config({{4, 16}, {4, 8}, {2, 16}, {2, 6}});
  c.start_row = 3;
  tm.ldtilecfg(&c);
  expect_fault([&] { tm.tileloadd(3, mem, 8); }, "#UD", "not a multiple of 4");
  expect_fault([&] { tm.tileloadd(5, mem, 8); }, "#UD", "tile 5 is not configured");
  expect_fault([&] { tm.tileloadd(2, mem, 8); }, "#UD", "start_row 3 >= tmm2 rows 2");
  expect_fault([&] { tm.tilestored(2, mem, 8); }, "#UD", "start_row 3 >= tmm2 rows 2");
  EXPECT_NO_THROW(tm.tilezero(2)) << "tilezero (AMX-E5) does not check start_row";
  EXPECT_EQ(tm.start_row(), 0) << "and resets it";
  // C 4x4 dwords, A 4 x 2 dwords, B 2 x 4 dwords: chains.
  EXPECT_NO_THROW(tm.tdpbusd(0, 1, 2));
  expect_fault([&] { tm.tdpbusd(0, 0, 2); }, "#UD", "distinct");
  expect_fault([&] { tm.tdpbusd(0, 1, 1); }, "#UD", "distinct");
  expect_fault([&] { tm.tdpbf16ps(2, 1, 2); }, "#UD", "distinct");
  expect_fault([&] { tm.tdpbusd(1, 0, 2); }, "#UD", "N mismatch");  // C colsb 8 vs B colsb 16
  c = config({{4, 16}, {3, 8}, {2, 16}});
  tm.ldtilecfg(&c);
  expect_fault([&] { tm.tdpbusd(0, 1, 2); }, "#UD", "M mismatch");
  c = config({{4, 16}, {4, 12}, {2, 16}});
  tm.ldtilecfg(&c);
  expect_fault([&] { tm.tdpbssd(0, 1, 2); }, "#UD", "K mismatch");
  expect_fault([&] { tm.tdpbusd(0, 1, 6); }, "#UD", "tile 6 is not configured");
  expect_fault([&] { tm.tdpbusd(0, 1, 8); }, "#UD", "tile 8 is not configured");  // 8 >= max_names
}

TEST(AmxEmulator, LoadsAndStoresRowsWithStrideAndZeroTheRest) {
  TileMachine tm;
  TileConfig c = config({{16, 64}, {3, 8}});
  tm.ldtilecfg(&c);
  std::vector<uint8_t> mem(16 * 64);
  for (size_t i = 0; i < mem.size(); ++i) mem[i] = static_cast<uint8_t>(i * 7 + 1);
  tm.tileloadd(0, mem.data(), 64);  // full tile of nonzero bytes
  ASSERT_EQ(tm.data(0)[16 * 64 - 1], mem[16 * 64 - 1]);
  tm.tileloadd(1, mem.data() + 5, 100);  // 3 rows x 8 bytes, rows 100 bytes apart
  for (int r = 0; r < 16; ++r)
    for (int j = 0; j < 64; ++j) {
      const uint8_t want = r < 3 && j < 8 ? mem[5 + r * 100 + j] : 0;
      ASSERT_EQ(tm.data(1)[r * 64 + j], want) << "row " << r << " byte " << j;
    }
  tm.tileloaddt1(1, mem.data() + 40, 0);  // stride 0: every row reads the same 8 bytes
  for (int r = 0; r < 3; ++r) EXPECT_EQ(std::memcmp(tm.data(1) + r * 64, mem.data() + 40, 8), 0);
  tm.tileloadd(1, mem.data() + 200, -64);  // a negative stride walks backwards
  EXPECT_EQ(std::memcmp(tm.data(1) + 2 * 64, mem.data() + 200 - 128, 8), 0);

  std::vector<uint8_t> out(400, 0xEE);
  tm.tilestored(1, out.data() + 10, 120);
  for (size_t i = 0; i < out.size(); ++i) {
    const int64_t off = static_cast<int64_t>(i) - 10;
    const bool written = off >= 0 && off % 120 < 8 && off / 120 < 3;
    if (!written) ASSERT_EQ(out[i], 0xEE) << "tilestored wrote outside rows x colsb at " << i;
    else ASSERT_EQ(out[i], tm.data(1)[(off / 120) * 64 + off % 120]);
  }
  // start_row restarts a load: rows below it are not loaded (here still zero from ldtilecfg).
  c = config({{4, 64}});
  c.start_row = 2;
  tm.ldtilecfg(&c);
  tm.tileloadd(0, mem.data(), 64);
  EXPECT_EQ(tm.data(0)[0], 0);
  EXPECT_EQ(tm.data(0)[64], 0);
  EXPECT_EQ(tm.data(0)[128], mem[128]);
  EXPECT_EQ(tm.start_row(), 0) << "zero_tilecfg_start() after the load";
}

TEST(AmxEmulator, DotProductsOfBytesHandComputed) {
  TileMachine tm;
  TileConfig c = config({{1, 8}, {1, 4}, {1, 8}});  // C 1x2 dwords, A 1x1 dword, B 1x2 dwords
  tm.ldtilecfg(&c);
  const uint8_t a[4] = {1, 2, 3, 255};
  const int8_t b[8] = {-1, 2, -3, 4, 127, 127, 127, 127};
  const int32_t c0[2] = {1000, INT32_MAX};
  auto run = [&](void (TileMachine::*op)(int, int, int)) {
    tm.tileloadd(0, c0, 8);
    tm.tileloadd(1, a, 4);
    tm.tileloadd(2, b, 8);
    (tm.*op)(0, 1, 2);
    return std::pair<int32_t, int32_t>{dword(tm, 0, 0, 0), dword(tm, 0, 0, 1)};
  };
  // u8 x s8: 1*-1 + 2*2 + 3*-3 + 255*4 = 1014; 127*(1+2+3+255) = 33147 added to INT32_MAX WRAPS (no saturation).
  auto [u_s0, u_s1] = run(&TileMachine::tdpbusd);
  EXPECT_EQ(u_s0, 1000 + 1014);
  EXPECT_EQ(u_s1, static_cast<int32_t>(static_cast<uint32_t>(INT32_MAX) + 33147u));
  EXPECT_LT(u_s1, 0);
  // s8 x s8: 255 is -1: -1 + 4 - 9 - 4 = -10; 127 * (1 + 2 + 3 - 1) = 635.
  auto [s_s0, s_s1] = run(&TileMachine::tdpbssd);
  EXPECT_EQ(s_s0, 1000 - 10);
  EXPECT_EQ(s_s1, static_cast<int32_t>(static_cast<uint32_t>(INT32_MAX) + 635u));
  // s8 x u8: b bytes as unsigned: 255, 2, 253, 4: 255 + 4 + 759 - 4 = 1014.
  EXPECT_EQ(run(&TileMachine::tdpbsud).first, 1000 + 1 * 255 + 2 * 2 + 3 * 253 - 1 * 4);
  // u8 x u8: 255 + 4 + 759 + 1020.
  EXPECT_EQ(run(&TileMachine::tdpbuud).first, 1000 + 255 + 4 + 759 + 1020);
  // write_row_and_zero: C's bytes past colsb 8 are zero, its rows past 1 too.
  for (int j = 8; j < 64; ++j) EXPECT_EQ(tm.data(0)[j], 0);
  for (int j = 64; j < 16 * 64; ++j) ASSERT_EQ(tm.data(0)[j], 0);
}

// Random tiles of random shapes: all four byte dot products against int64 arithmetic reduced mod 2^32.
TEST(AmxEmulator, DotProductsOfBytesMatchPlainLoops) {
  std::mt19937 rng(9);
  TileMachine tm;
  for (int rep = 0; rep < 60; ++rep) {
    const int m = 1 + static_cast<int>(rng() % 16), k = 1 + static_cast<int>(rng() % 16), n = 1 + static_cast<int>(rng() % 16);
    TileConfig c = config({{m, 4 * n}, {m, 4 * k}, {k, 4 * n}});
    tm.ldtilecfg(&c);
    std::vector<uint8_t> cm(64 * 16), am(64 * 16), bm(64 * 16);
    for (auto* v : {&cm, &am, &bm})
      for (auto& x : *v) x = static_cast<uint8_t>(rng());
    const int variant = rep % 4;
    const bool a_signed = variant == 0 || variant == 1, b_signed = variant == 0 || variant == 2;
    tm.tileloadd(0, cm.data(), 64);
    tm.tileloadd(1, am.data(), 64);
    tm.tileloadd(2, bm.data(), 64);
    switch (variant) {
      case 0: tm.tdpbssd(0, 1, 2); break;
      case 1: tm.tdpbsud(0, 1, 2); break;
      case 2: tm.tdpbusd(0, 1, 2); break;
      default: tm.tdpbuud(0, 1, 2); break;
    }
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        int32_t c0;
        std::memcpy(&c0, &cm[i * 64 + j * 4], 4);
        int64_t s = c0;
        for (int q = 0; q < 4 * k; ++q) {
          const int64_t x = a_signed ? static_cast<int8_t>(am[i * 64 + q]) : am[i * 64 + q];
          const int64_t y = b_signed ? static_cast<int8_t>(bm[(q / 4) * 64 + j * 4 + q % 4]) : bm[(q / 4) * 64 + j * 4 + q % 4];
          s += x * y;
        }
        ASSERT_EQ(dword(tm, 0, i, j), static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(s))))
            << "variant " << variant << " m" << m << " k" << k << " n" << n << " at " << i << "," << j;
      }
  }
}

// One TDPBF16PS with C = c0 (1 x 1), A = 1 row of `pairs` bf16 pairs, B = `pairs` rows of 1 pair.
float bf16_dot(TileMachine& tm, float c0, const std::vector<std::pair<float, float>>& a,
               const std::vector<std::pair<float, float>>& b) {
  const int k = static_cast<int>(a.size());
  TileConfig c = config({{1, 4}, {1, 4 * k}, {k, 4}});
  tm.ldtilecfg(&c);
  std::vector<uint16_t> am, bm;
  for (auto [e, o] : a) am.push_back(bf16(e)), am.push_back(bf16(o));
  for (auto [e, o] : b) bm.push_back(bf16(e)), bm.push_back(bf16(o));
  tm.tileloadd(0, &c0, 4);
  tm.tileloadd(1, am.data(), 4 * k);
  tm.tileloadd(2, bm.data(), 4);
  tm.tdpbf16ps(0, 1, 2);
  return fp32(tm, 0, 0, 0);
}

TEST(AmxEmulator, Bf16DotHandComputed) {
  TileMachine tm;
  // Even and odd products are summed SEPARATELY over the instruction's K, then combined, then added to C.
  // Pair 0: even 2^12 * 2^12 = 2^24, odd 1 * 1; pair 1: even 1 * 1, odd 1 * 1.
  // SDM: even = 2^24 + 1 -> 2^24 (tie, to even); odd = 2; 2^24 + 2 exact.
  // (A single running sum in pair order would give 2^24 + 1 + 1 + 1 -> 2^24.)
  EXPECT_EQ(bf16_dot(tm, 0.0f, {{0x1p12f, 1.0f}, {1.0f, 1.0f}}, {{0x1p12f, 1.0f}, {1.0f, 1.0f}}), 0x1p24f + 2.0f);
  // Then C is added last: 2^24 + (1 + 1): the products first (2), then C.
  EXPECT_EQ(bf16_dot(tm, 0x1p24f, {{1.0f, 1.0f}}, {{1.0f, 1.0f}}), 0x1p24f + 2.0f);
  // RNE on each FMA: 1 + 2^-24 -> 1 (tie to even), 1 + 3 * 2^-25... in steps: even 1 + 2^-24 = 1.
  EXPECT_EQ(bf16_dot(tm, 0.0f, {{1.0f, 0.0f}, {0x1p-12f, 0.0f}}, {{1.0f, 0.0f}, {0x1p-12f, 0.0f}}), 1.0f);
  // DAZ: a bf16 denormal input counts as zero (2^-133 * 2^100 would be 2^-33).
  EXPECT_EQ(bf16_dot(tm, 0.0f, {{0x1p-133f, 0.0f}}, {{0x1p100f, 0.0f}}), 0.0f);
  // ... and so does a denormal accumulator loaded from memory.
  EXPECT_EQ(bits(bf16_dot(tm, 0x1p-140f, {{0.0f, 0.0f}}, {{0.0f, 0.0f}})), 0u);
  // FTZ: a denormal result (-2^-70 * 2^-60 = -2^-130) is flushed to a zero of its sign, -0; the odd
  // sum (+0) added to it gives +0, and C (+0) + (+0) = +0; with both sums -0 and C -0 the sign survives.
  EXPECT_EQ(bits(tdpbf16ps_fma(-0x1p-70f, 0x1p-60f, 0.0f)), 0x80000000u);
  EXPECT_EQ(bits(bf16_dot(tm, 0.0f, {{-0x1p-70f, 0.0f}}, {{0x1p-60f, 0.0f}})), 0u);
  EXPECT_EQ(bits(bf16_dot(tm, -0.0f, {{-0x1p-70f, -0x1p-70f}}, {{0x1p-60f, 0x1p-60f}})), 0x80000000u);
  // inf * 0: the x86 default NaN.
  EXPECT_EQ(bits(bf16_dot(tm, 0.0f, {{INFINITY, 0.0f}}, {{0.0f, 0.0f}})), 0xFFC00000u);
}

TEST(AmxEmulator, Bf16FlushUsesTininessAfterRounding) {
  // x * y + acc = 2^-126 - 0.75 * 2^-150. IEEE rounding (gradual underflow, spacing 2^-149) gives 2^-126,
  // but rounded to 24 bits with an unbounded exponent (spacing 2^-150 below 2^-126) it is 2^-126 - 2^-150:
  // tiny, so FTZ gives zero.
  const float x = 0x1p-70f, y = -0x1.8p-81f, acc = 0x1p-126f;  // x * y = -0.75 * 2^-150
  EXPECT_EQ(std::fmaf(x, y, acc), 0x1p-126f) << "IEEE rounds up to the smallest normal";
  EXPECT_EQ(bits(tdpbf16ps_fma(x, y, acc)), 0u) << "FTZ (tininess after rounding) flushes it";
  // 2^-126 - 0.25 * 2^-150: rounds to 2^-126 even with an unbounded exponent: not tiny, kept.
  EXPECT_EQ(tdpbf16ps_fma(0x1p-70f, -0x1p-82f, 0x1p-126f), 0x1p-126f);
  // Exactly the midpoint 2^-126 - 2^-151: the tie goes to even, 2^-126: not tiny.
  EXPECT_EQ(tdpbf16ps_fma(0x1p-70f, -0x1p-81f, 0x1p-126f), 0x1p-126f);
  // Exact cancellation gives +0 (RNE); -0 + -0 stays -0.
  EXPECT_EQ(bits(tdpbf16ps_fma(2.0f, 3.0f, -6.0f)), 0u);
  EXPECT_EQ(bits(tdpbf16ps_add(-0.0f, -0.0f)), 0x80000000u);
  EXPECT_EQ(bits(tdpbf16ps_add(0x1.8p-126f, -0x1p-126f)), 0u) << "a denormal sum is flushed";
}

// Random bf16 tiles in a well-scaled range (no denormals, no overflow) against the SDM loop written here
// with std::fmaf: separate even/odd accumulators from +0, then even + odd, then C + that.
TEST(AmxEmulator, Bf16DotMatchesPlainLoop) {
  std::mt19937 rng(21);
  std::uniform_real_distribution<float> u(-4.0f, 4.0f);
  TileMachine tm;
  for (int rep = 0; rep < 30; ++rep) {
    const int m = 1 + static_cast<int>(rng() % 16), k = 1 + static_cast<int>(rng() % 16), n = 1 + static_cast<int>(rng() % 16);
    TileConfig c = config({{m, 4 * n}, {m, 4 * k}, {k, 4 * n}});
    tm.ldtilecfg(&c);
    std::vector<float> cm(16 * 16);
    std::vector<uint16_t> am(16 * 32), bm(16 * 32);
    for (auto& v : cm) v = u(rng) * 100.0f;
    for (auto& v : am) v = bf16(u(rng));
    for (auto& v : bm) v = bf16(u(rng));
    tm.tileloadd(0, cm.data(), 64);
    tm.tileloadd(1, am.data(), 64);
    tm.tileloadd(2, bm.data(), 64);
    tm.tdpbf16ps(0, 1, 2);
    auto f = [](uint16_t h) {
      const uint32_t w = static_cast<uint32_t>(h) << 16;
      float v;
      std::memcpy(&v, &w, 4);
      return v;
    };
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        float even = 0.0f, odd = 0.0f;
        for (int q = 0; q < k; ++q) {
          even = std::fmaf(f(am[i * 32 + 2 * q]), f(bm[q * 32 + 2 * j]), even);
          odd = std::fmaf(f(am[i * 32 + 2 * q + 1]), f(bm[q * 32 + 2 * j + 1]), odd);
        }
        const float want = cm[i * 16 + j] + (even + odd);
        ASSERT_EQ(bits(fp32(tm, 0, i, j)), bits(want)) << "m" << m << " k" << k << " n" << n << " at " << i << "," << j;
      }
  }
}

TEST(AmxEmulator, EngineConfigurationLoadsOncePerThread) {
  thread_tile_machine().tilerelease();
  const int64_t before = tile_config_loads_emulated();
  for (int i = 0; i < 5; ++i) ensure_engine_tiles_emulated();
  EXPECT_EQ(tile_config_loads_emulated(), before + 1);
  for (int t = 0; t < kNumTiles; ++t) {
    EXPECT_EQ(thread_tile_machine().rows(t), 16);
    EXPECT_EQ(thread_tile_machine().colsb(t), 64);
  }
  // Someone else (another AMX library on this thread) changes or releases the tiles: reloaded once.
  thread_tile_machine().tilerelease();
  ensure_engine_tiles_emulated();
  ensure_engine_tiles_emulated();
  EXPECT_EQ(tile_config_loads_emulated(), before + 2);
}

}  // namespace
}  // namespace sp::kernels::amx
