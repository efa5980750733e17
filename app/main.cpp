// sparsepose: real-time pose estimation on CPUs with a sparse, quantized engine of its own.
// One thin file per subcommand (app/cmd_*.cpp); this file wires them and turns errors into one line
// on stderr and a non-zero exit.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "app/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"sparsepose: real-time human pose estimation on CPUs"};
  app.set_version_flag("--version", std::string("sparsepose ") + SP_VERSION);
  app.require_subcommand(1);
  sp::app::register_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const sp::Error& e) {
    std::fprintf(stderr, "sparsepose: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sparsepose: error: %s\n", e.what());
    return 1;
  }
  return sp::app::exit_code();
}
