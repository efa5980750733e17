// ONNX → graph IR, with the protobuf classes of libonnx-dev. Rejects what is malformed or unsupported
// with one line naming the file, node and op type.
#pragma once

#include <string>

#include "core/graph.h"

namespace sp {

// Reads and checks an ONNX model file. Throws sp::Error.
Graph load_onnx_file(const std::string& path);
// Same, from bytes in memory (used by the fuzzer and tests). `origin` names the source in messages.
Graph load_onnx_bytes(const void* data, size_t size, const std::string& origin);

// The op types the engine can run (default domain); anything else is rejected at load.
bool is_supported_op(const std::string& op_type);

}  // namespace sp
