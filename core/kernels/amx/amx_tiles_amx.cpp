// Loading the engine's tile configuration into the CPU's tiles (compiled with the AMX flags; only
// called once Linux has granted the process AMX tile data, see core/cpu_features.cpp).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "core/kernels/amx/amx_tiles.h"

namespace sp::kernels::amx {

namespace {
thread_local int64_t hw_loads = 0;
}  // namespace

void ensure_engine_tiles_hw() {
  alignas(64) TileConfig current;
  _tile_storeconfig(&current);
  if (std::memcmp(&current, &engine_tile_config(), sizeof current) != 0) {
    _tile_loadconfig(&engine_tile_config());
    ++hw_loads;
  }
}

int64_t tile_config_loads_hw() { return hw_loads; }

}  // namespace sp::kernels::amx
