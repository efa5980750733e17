#include "api/bundled_assets.h"

#include <dlfcn.h>

#include <filesystem>
#include <system_error>

#include "sparsepose/error.h"

namespace sp::api {
namespace fs = std::filesystem;

namespace {

// The file this code was loaded from: libsparsepose.so, or the executable it is linked into.
fs::path this_module() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<const void*>(&this_module), &info) == 0 || info.dli_fname == nullptr) return {};
  std::error_code ec;
  fs::path p = fs::canonical(info.dli_fname, ec);
  return ec ? fs::path(info.dli_fname) : p;
}

bool has_models(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir / "models", ec);
}

}  // namespace

std::string bundled_assets_dir() {
  const fs::path module = this_module();
  // Walking up from the module: <prefix>/lib[/<multiarch>]/libsparsepose.so reaches <prefix>, whose
  // share/sparsepose/assets holds the installed copy; build/<dir>/libsparsepose.so reaches the source
  // tree's assets/.
  for (fs::path dir = module.parent_path(); !dir.empty(); dir = dir.parent_path()) {
    if (has_models(dir / "share" / "sparsepose" / "assets")) return (dir / "share" / "sparsepose" / "assets").string();
    if (has_models(dir / "assets")) return (dir / "assets").string();
    if (dir == dir.root_path()) break;
  }
  // Where `cmake --install` put them for the prefix this library was configured with.
  if (has_models(SP_INSTALL_ASSETS_DIR)) return SP_INSTALL_ASSETS_DIR;
  throw sparsepose::Error("model: no model given and the bundled models were not found (looked above " + module.string() +
                  " and in " SP_INSTALL_ASSETS_DIR "); set Options::model to an ONNX pose model",
              "model");
}

}  // namespace sp::api
