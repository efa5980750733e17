// What every AMX kernel of the engine shares: the palette-1 limits, the 64-byte tile configuration
// and the ONE configuration all kernels use, and how a thread gets it loaded — on the CPU
// (amx_tiles_amx.cpp) or in the emulator (amx_tiles.cpp).
//
// One fixed configuration: all 8 tiles are 16 rows x 64 bytes. tmm0..3 hold a 2 x 2 block of
// accumulators (16 pixels x 16 int32 or fp32 channels each), tmm4..5 two A tiles (16 pixels x 64 bytes
// of the reduction: 64 u8 or 32 bf16), tmm6..7 two B tiles (16 groups of 4 bytes of the reduction x 16
// output channels). With one configuration no kernel ever reconfigures, so it is loaded once per thread.
//
// Plain data and declarations only (shared by baseline and AMX translation units).
#pragma once

#include <cstdint>

namespace sp::kernels::amx {

constexpr int kNumTiles = 8;      // palette 1: max_names
constexpr int kMaxRows = 16;      // palette 1: max_rows
constexpr int kBytesPerRow = 64;  // palette 1: bytes_per_row
constexpr int kTmulMaxK = 16;     // CPUID 1EH.EBX[7:0]: rows of B (dwords of an A row) per TMUL op
constexpr int kTmulMaxN = 64;     // CPUID 1EH.EBX[23:8]: bytes of a C (and B) row per TMUL op

// The engine's tile numbering in its fixed configuration.
constexpr int kTileC00 = 0, kTileC01 = 1, kTileC10 = 2, kTileC11 = 3;  // C[a row tile][b column tile]
constexpr int kTileA0 = 4, kTileA1 = 5;
constexpr int kTileB0 = 6, kTileB1 = 7;

// The 64-byte LDTILECFG / STTILECFG memory operand (SDM Table 3-10 "Memory Area Layout").
struct alignas(64) TileConfig {
  uint8_t palette = 0;
  uint8_t start_row = 0;
  uint8_t reserved0[14] = {};  // bytes 2..15, must be zero
  uint16_t colsb[16] = {};     // bytes 16..31: tiles 0..7; bytes 32..47 reserved (entries 8..15), zero
  uint8_t rows[16] = {};       // bytes 48..55: tiles 0..7; bytes 56..63 reserved (entries 8..15), zero
};
static_assert(sizeof(TileConfig) == 64, "LDTILECFG reads exactly 64 bytes");

// Palette 1, tiles 0..7 all 16 rows x 64 bytes, start_row 0.
const TileConfig& engine_tile_config();

// Make sure this thread's tiles hold engine_tile_config(), with LDTILECFG only when they do not.
// A thread_local "already loaded" flag would do if the engine were the only AMX user in the process;
// but other AMX code on the same thread (oneDNN in the peer benchmark configures its own palettes and
// releases the tiles) can change or drop the configuration behind our back. So each kernel call reads
// the current one back with STTILECFG (a 64-byte store) and compares: the ldtilecfg itself still runs
// once per thread in the engine's own runs.
void ensure_engine_tiles_hw();        // amx_tiles_amx.cpp: the CPU's tiles (AMX granted by Linux)
void ensure_engine_tiles_emulated();  // amx_tiles.cpp: this thread's emulated TileMachine

// This thread's scratch of at least `bytes` bytes, 64-byte aligned, kept for the thread's lifetime (grown,
// never shrunk: no allocation once the largest layer has run) — gathered A rows and stored C tiles of the
// AMX kernels, which run on thread-pool workers.
uint8_t* thread_scratch(int64_t bytes);

// How many LDTILECFGs this thread has issued through the functions above (for tests: it must stay 1
// across many kernel calls).
int64_t tile_config_loads_hw();
int64_t tile_config_loads_emulated();

}  // namespace sp::kernels::amx
