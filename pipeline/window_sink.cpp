#include "pipeline/window_sink.h"

#include <dlfcn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <opencv2/highgui.hpp>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <thread>

#include "core/error.h"

namespace sp::pipeline {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// The "GUI:" entry of OpenCV's build information: "QT5", "GTK3", "WIN32UI", ... or "NONE".
const std::string& gui_backend() {
  static const std::string backend = [] {
    std::istringstream in(cv::getBuildInformation());
    std::string line;
    while (std::getline(in, line)) {
      const auto pos = line.find("GUI:");
      if (pos == std::string::npos) continue;
      std::istringstream rest(line.substr(pos + 4));
      std::string name;
      rest >> name;
      return name;
    }
    return std::string();
  }();
  return backend;
}

// A connection to the X server made the way Qt's xcb platform plugin will make it (DISPLAY,
// XAUTHORITY), through libxcb loaded at run time so nothing links against X.
//
// An X server without a session (Xvfb, xvfb-run) resets when its last client disconnects and refuses
// connections for a moment meanwhile, so: connecting retries briefly, and the window sink keeps this
// connection open until highgui has made its own (Qt aborts when it cannot connect).
class XConnection {
 public:
  XConnection() {
    lib_ = dlopen("libxcb.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib_) return;
    connect_ = reinterpret_cast<connect_fn>(dlsym(lib_, "xcb_connect"));
    has_error_ = reinterpret_cast<has_error_fn>(dlsym(lib_, "xcb_connection_has_error"));
    disconnect_ = reinterpret_cast<disconnect_fn>(dlsym(lib_, "xcb_disconnect"));
  }
  ~XConnection() {
    if (conn_) disconnect_(conn_);
    if (lib_) dlclose(lib_);
  }
  XConnection(const XConnection&) = delete;
  XConnection& operator=(const XConnection&) = delete;

  bool open(std::string* why) {
    if (!lib_) {
      *why = "libxcb.so.1 is not installed";
      return false;
    }
    if (!connect_ || !has_error_ || !disconnect_) {
      *why = "libxcb.so.1 lacks xcb_connect";
      return false;
    }
    for (int attempt = 0; attempt < 5; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(40 * attempt));
      int screen = 0;
      void* c = connect_(nullptr, &screen);
      if (c && has_error_(c) == 0) {
        conn_ = c;
        return true;
      }
      if (c) disconnect_(c);  // also frees a connection in the error state
    }
    *why = "cannot connect to X display '" + env("DISPLAY") + "'";
    return false;
  }

 private:
  using connect_fn = void* (*)(const char*, int*);
  using has_error_fn = int (*)(void*);
  using disconnect_fn = void (*)(void*);
  void* lib_ = nullptr;
  void* conn_ = nullptr;
  connect_fn connect_ = nullptr;
  has_error_fn has_error_ = nullptr;
  disconnect_fn disconnect_ = nullptr;
};

// Whether the Wayland compositor's socket accepts a connection.
bool wayland_accepts(std::string* why) {
  const std::string name = env("WAYLAND_DISPLAY");
  std::string path = name;
  if (!starts_with(name, "/")) {
    const std::string dir = env("XDG_RUNTIME_DIR");
    if (dir.empty()) {
      *why = "WAYLAND_DISPLAY is set but XDG_RUNTIME_DIR is not";
      return false;
    }
    path = dir + "/" + name;
  }
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    *why = "Wayland socket path too long";
    return false;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *why = "cannot create a socket";
    return false;
  }
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  if (!ok) *why = "cannot connect to Wayland display '" + name + "'";
  return ok;
}

// Why no window can be opened ("" when one can). When the X server is the one to use and `keep` is
// given, the probe connection is left open in it.
std::string probe_display(std::unique_ptr<XConnection>* keep) {
  const std::string& backend = gui_backend();
  if (backend.empty() || backend == "NONE") return "OpenCV was built without a GUI backend (highgui)";
  const bool has_x = !env("DISPLAY").empty();
  const bool has_wayland = !env("WAYLAND_DISPLAY").empty();
  if (!has_x && !has_wayland) return "no display (neither DISPLAY nor WAYLAND_DISPLAY is set)";

  const bool qt = starts_with(backend, "QT");
  bool try_x = true, try_wayland = true;  // GTK tries Wayland, then X11
  if (qt) {
    const std::string qpa = env("QT_QPA_PLATFORM");
    if (!qpa.empty() && !starts_with(qpa, "xcb") && !starts_with(qpa, "wayland"))
      return "";  // offscreen, vnc, eglfs ...: the user chose a platform explicitly
    try_wayland = starts_with(qpa, "wayland");
    try_x = !try_wayland;
  }
  std::string why;
  if (try_wayland && has_wayland && wayland_accepts(&why)) return "";
  if (try_x && has_x) {
    auto x = std::make_unique<XConnection>();
    if (x->open(&why)) {
      if (keep) *keep = std::move(x);
      return "";
    }
  }
  if (why.empty()) {
    why = qt ? "Qt needs an X display (DISPLAY) unless QT_QPA_PLATFORM=wayland" : "cannot connect to the display";
  }
  return why;
}

}  // namespace

std::string WindowSink::display_problem() { return probe_display(nullptr); }

bool WindowSink::display_available() { return display_problem().empty(); }

WindowSink::WindowSink(std::string title) : title_(std::move(title)) {
  std::unique_ptr<XConnection> hold;  // keeps an X server without a session from resetting meanwhile
  const std::string problem = probe_display(&hold);
  if (!problem.empty()) throw Error("cannot open a window: " + problem + " (run without --show to stay headless)");
  try {
    cv::namedWindow(title_, cv::WINDOW_NORMAL | cv::WINDOW_KEEPRATIO | cv::WINDOW_GUI_NORMAL);
    cv::waitKey(1);  // the toolkit connects and maps the window before our probe lets go
  } catch (const cv::Exception& e) {
    throw Error("cannot open a window: " + std::string(e.what()));
  }
}

WindowSink::~WindowSink() {
  try {
    cv::destroyWindow(title_);
    cv::waitKey(1);  // let the toolkit process the destruction
  } catch (...) {
  }
}

WindowEvent WindowSink::show(const cv::Mat& bgr) {
  if (bgr.empty() || bgr.type() != CV_8UC3) throw Error("WindowSink::show: expected an 8-bit BGR image (CV_8UC3)");
  if (quit_) return WindowEvent::kQuit;
  if (!shown_) {
    // Large frames start at a size that fits common screens; the window stays resizable.
    constexpr int kMaxW = 1280, kMaxH = 800;
    if (bgr.cols > kMaxW || bgr.rows > kMaxH) {
      const double s = std::min(static_cast<double>(kMaxW) / bgr.cols, static_cast<double>(kMaxH) / bgr.rows);
      cv::resizeWindow(title_, static_cast<int>(bgr.cols * s), static_cast<int>(bgr.rows * s));
    } else {
      cv::resizeWindow(title_, bgr.cols, bgr.rows);
    }
  }
  cv::imshow(title_, bgr);
  const int key = cv::waitKey(1);
  shown_ = true;
  if (key >= 0) {
    const int k = key & 0xFF;
    if (k == 'h' || k == 'H') {
      hud_visible_ = !hud_visible_;
      return WindowEvent::kToggleHud;
    }
    if (k == 'q' || k == 'Q' || k == 27) {
      quit_ = true;
      return WindowEvent::kQuit;
    }
  }
  // Closed by the user (window manager's close button): the window is gone or hidden.
  double visible = -1.0;
  try {
    visible = cv::getWindowProperty(title_, cv::WND_PROP_VISIBLE);
  } catch (const cv::Exception&) {
    visible = -1.0;
  }
  if (visible < 1.0) {
    quit_ = true;
    return WindowEvent::kQuit;
  }
  return WindowEvent::kNone;
}

}  // namespace sp::pipeline
