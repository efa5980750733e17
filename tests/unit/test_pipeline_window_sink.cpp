// The window sink without a display: it says so and throws a clear error instead of letting the GUI
// toolkit abort the process.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "core/error.h"
#include "pipeline/window_sink.h"

namespace sp::pipeline {
namespace {

// Sets (or unsets) an environment variable for the scope of the test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) setenv(name, value, 1);
    else unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) setenv(name_, old_->c_str(), 1);
    else unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(PipelineWindowSink, NoDisplayMeansHeadless) {
  ScopedEnv display("DISPLAY", nullptr);
  ScopedEnv wayland("WAYLAND_DISPLAY", nullptr);
  EXPECT_FALSE(WindowSink::display_available());
  EXPECT_FALSE(WindowSink::display_problem().empty());
  try {
    WindowSink sink;
    FAIL() << "expected sp::Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("cannot open a window"), std::string::npos) << msg;
    EXPECT_NE(msg.find("DISPLAY"), std::string::npos) << msg;
  }
}

TEST(PipelineWindowSink, UnreachableDisplayIsDetectedWithoutCrashing) {
  ScopedEnv display("DISPLAY", ":4711");  // no X server there
  ScopedEnv wayland("WAYLAND_DISPLAY", "sparsepose-no-such-wayland-0");
  ScopedEnv qpa("QT_QPA_PLATFORM", nullptr);
  EXPECT_FALSE(WindowSink::display_available());
  EXPECT_THROW(WindowSink sink, Error);
}

}  // namespace
}  // namespace sp::pipeline
