// Where tests find their data: the repository's assets/ and tests/data/, and ../shared when present.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace sp::test {

inline std::string source_path(const std::string& rel) { return std::string(SP_SOURCE_DIR) + "/" + rel; }
inline std::string shared_path(const std::string& rel) { return std::string(SP_SHARED_DIR) + "/" + rel; }
inline bool shared_available() { return std::filesystem::exists(SP_SHARED_DIR "/README.md"); }

}  // namespace sp::test

// Skips the current test with a visible message when ../shared is absent (it is not part of the repo).
#define SP_REQUIRE_SHARED()                                                                         \
  do {                                                                                              \
    if (!::sp::test::shared_available()) GTEST_SKIP() << "../shared is absent: skipping " << __func__; \
  } while (0)
