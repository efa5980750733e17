#include "app/sources_list.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "core/error.h"

namespace sp::app {
namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// What VideoSource::open (pipeline/video_source.cpp) reads as a file path rather than a camera index,
// a device, a URL, the test pattern or a custom pipeline.
bool is_file_path(const std::string& s) {
  return s != "test" && s.rfind("gst:", 0) != 0 && s.find("://") == std::string::npos && !all_digits(s) &&
         s.rfind("/dev/video", 0) != 0;
}

// The key two sources are compared by: URLs and pipelines as written, paths lexically normalised.
std::string compare_key(const std::string& s) {
  return s.find("://") == std::string::npos && s.rfind("gst:", 0) != 0
             ? std::filesystem::path(s).lexically_normal().string() : s;
}

}  // namespace

std::vector<SourceEntry> read_sources_list(const std::string& file) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(file, ec)) throw Error("--sources " + file + ": is a directory, not a list of sources");
  std::ifstream in(file);
  if (!in) {
    const std::string why = fs::exists(file, ec) ? "cannot be read" : "no such file";
    throw Error("--sources " + file + ": " + why);
  }
  const fs::path dir = fs::path(file).parent_path();
  std::vector<SourceEntry> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (n == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // a UTF-8 byte order mark
    std::string s = trim(line);
    if (s.empty() || s[0] == '#') continue;
    if (is_file_path(s) && fs::path(s).is_relative()) s = (dir / s).lexically_normal().string();
    out.push_back({s, "line " + std::to_string(n) + " of --sources " + file});
  }
  if (in.bad()) throw Error("--sources " + file + ": read error");
  if (out.empty()) throw Error("--sources " + file + ": no sources in the list (only blank lines and # comments)");
  return out;
}

void check_distinct_sources(const std::vector<SourceEntry>& sources) {
  for (size_t i = 0; i < sources.size(); ++i)
    for (size_t j = 0; j < i; ++j) {
      if (compare_key(sources[i].source) != compare_key(sources[j].source)) continue;
      const SourceEntry& a = sources[j];
      const SourceEntry& b = sources[i];
      const std::string streams = "streams " + std::to_string(j) + " and " + std::to_string(i);
      if (a.origin == "--source" && b.origin == "--source")  // the message --source has always given
        throw Error("--source " + b.source + " is given more than once (" + streams + ")");
      throw Error("source " + b.source + " is given more than once (" + streams + ": " + a.origin + ", " + b.origin +
                  ")");
    }
}

}  // namespace sp::app
