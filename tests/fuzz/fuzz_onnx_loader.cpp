// Fuzzes the ONNX loader and the Session compiler: any byte string must either load and compile or be
// rejected with sp::Error — never crash, hang or leak. Inputs are capped by -max_len in scripts/test.sh.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "core/onnx_import.h"
#include "core/session.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    sp::Graph g = sp::load_onnx_bytes(data, size, "fuzz");
    // Compiling exercises shape inference and folding on whatever the graph claims. Keep inputs small so
    // a shape like [1, 3, 100000, 100000] is refused rather than allocated.
    for (int in : g.inputs) {
      int64_t n = 1;
      for (int64_t d : g.values[in].shape) n = sp::saturating_mul(n, d > 0 ? d : 1);
      if (n > (1 << 20)) return 0;
    }
    sp::SessionOptions o;
    o.threads = 1;
    o.isa = sp::Isa::kScalar;
    o.max_arena_bytes = size_t{256} << 20;  // libFuzzer's malloc limit is the RSS limit
    sp::Session s(g, o);
  } catch (const sp::Error&) {
  }
  return 0;
}
