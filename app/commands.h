// The subcommands. Each registers itself on the CLI11 app and runs from its callback.
#pragma once

#include <CLI/CLI.hpp>

namespace sp::app {

void add_predict_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_optimize_command(CLI::App& app);

inline void register_commands(CLI::App& app) {
  add_run_command(app);
  add_predict_command(app);
  add_bench_command(app);
  add_eval_command(app);
  add_info_command(app);
  add_optimize_command(app);
}

// A command that finished but with a partial failure (e.g. one unreadable image of many) sets this.
void set_exit_code(int code);
int exit_code();

}  // namespace sp::app
