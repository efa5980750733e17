// sparsepose: real-time pose estimation on CPUs with a sparse, quantized engine of its own.
// One thin file per subcommand (app/cmd_*.cpp); this file wires them and turns errors into one line
// on stderr and a non-zero exit.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <string>

#include "app/commands.h"
#include "core/error.h"

namespace {

// A command line that does not parse: one line on stderr, as every other error, naming what was wrong and
// where the help is (CLI11's own report, app.exit, is two lines), and exit status 2, the shells' usage error.
int usage_error(const CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  std::string what = e.what();
  std::string help = "sparsepose --help";
  bool known = false;
  std::string commands;
  const std::string first = argc > 1 ? argv[1] : "";
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    known |= sub->get_name() == first;
    commands += (commands.empty() ? "" : ", ") + sub->get_name();
  }
  if (known) {
    help = "sparsepose " + first + " --help";
  } else if (!first.empty() && first[0] != '-') {
    what = "unknown command '" + first + "' (commands: " + commands + ")";
  } else if (!first.empty()) {
    // --help and --version never get here; CLI11 reports the missing command before the stray option.
    what = "unknown option '" + first + "' before the command (commands: " + commands + ")";
  } else if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::RequiredError)) {
    what = "no command given (commands: " + commands + ")";
  }
  std::fprintf(stderr, "sparsepose: error: %s (see %s)\n", what.c_str(), help.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sparsepose: real-time human pose estimation on CPUs"};
  app.set_version_flag("--version", std::string("sparsepose ") + SP_VERSION);
  app.require_subcommand(1);
  sp::app::register_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);  // --help, --version
    return usage_error(app, e, argc, argv);
  } catch (const sp::Error& e) {
    std::fprintf(stderr, "sparsepose: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sparsepose: error: %s\n", e.what());
    return 1;
  }
  return sp::app::exit_code();
}
