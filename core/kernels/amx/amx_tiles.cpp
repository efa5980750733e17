// The engine's fixed tile configuration and its loading into the emulator (baseline code).
#include "core/kernels/amx/amx_tiles.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "core/kernels/amx/amx_emulator.h"

namespace sp::kernels::amx {

namespace {
TileConfig make_engine_config() {
  TileConfig c;
  c.palette = 1;
  for (int t = 0; t < kNumTiles; ++t) {
    c.rows[t] = kMaxRows;
    c.colsb[t] = kBytesPerRow;
  }
  return c;
}

thread_local int64_t emulated_loads = 0;
}  // namespace

const TileConfig& engine_tile_config() {
  static const TileConfig config = make_engine_config();
  return config;
}

void ensure_engine_tiles_emulated() {
  TileMachine& tm = thread_tile_machine();
  TileConfig current;
  tm.sttilecfg(&current);
  if (std::memcmp(&current, &engine_tile_config(), sizeof current) != 0) {
    tm.ldtilecfg(&engine_tile_config());
    ++emulated_loads;
  }
}

int64_t tile_config_loads_emulated() { return emulated_loads; }

uint8_t* thread_scratch(int64_t bytes) {
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  struct Scratch {
    std::unique_ptr<uint8_t, Free> data;
    int64_t size = 0;
  };
  thread_local Scratch scratch;
  if (bytes > scratch.size) {
    const size_t rounded = static_cast<size_t>((bytes + 63) / 64 * 64);
    scratch.data.reset(static_cast<uint8_t*>(std::aligned_alloc(64, rounded)));
    if (!scratch.data) throw std::bad_alloc();
    scratch.size = bytes;
  }
  return scratch.data.get();
}

}  // namespace sp::kernels::amx
