// The on-screen sink (`run --show`): an OpenCV highgui window showing the annotated frames.
// Keys: `h` toggles the HUD, `q` or Esc quits; closing the window quits too.
//
// Headless is the default and never crashes: the GUI toolkit behind highgui (Qt 5 on Debian) aborts
// the process when it cannot reach a display, so display_available() checks first without touching
// highgui: a GUI backend is compiled in, and the X server named by DISPLAY accepts a connection
// (libxcb, loaded at run time, with the same authorization Qt uses) or, for Wayland toolkits, the
// compositor socket of WAYLAND_DISPLAY accepts one. The constructor throws sp::Error otherwise.
//
// highgui is not thread-safe: construct, show() and destroy the sink on one thread (the render thread).
#pragma once

#include <opencv2/core.hpp>

#include <string>

namespace sp::pipeline {

enum class WindowEvent { kNone, kToggleHud, kQuit };

class WindowSink {
 public:
  // Opens a resizable window. Throws sp::Error with the reason when no display can be used.
  explicit WindowSink(std::string title = "sparsepose");
  ~WindowSink();
  WindowSink(const WindowSink&) = delete;
  WindowSink& operator=(const WindowSink&) = delete;

  // Shows the frame (CV_8UC3; a wrong type throws sp::Error), handles window events for ~1 ms and
  // reports a key press or the window being closed.
  WindowEvent show(const cv::Mat& bgr);

  bool hud_visible() const { return hud_visible_; }  // starts true, flipped by `h`
  bool quit_requested() const { return quit_; }      // `q`, Esc or window closed

  // Whether a window can be opened now (see above). Cheap enough to call at start-up; never aborts.
  static bool display_available();
  // Why display_available() is false (one line), or "" when it is true.
  static std::string display_problem();

 private:
  std::string title_;
  bool shown_ = false;
  bool hud_visible_ = true;
  bool quit_ = false;
};

}  // namespace sp::pipeline
