// `run --sources FILE`: a text file naming one source per line, for callers that start sparsepose from
// their own programs with many streams (issue 11). Each entry is anything --source takes.
#pragma once

#include <string>
#include <vector>

namespace sp::app {

// One stream and where it was asked for, so a refusal (a duplicate, say) can point at the line.
struct SourceEntry {
  std::string source;
  std::string origin;  // "--source", or "line N of --sources FILE"
};

// The entries of the list FILE, in order: surrounding whitespace trimmed, blank lines and lines whose
// first non-blank character is '#' skipped (a '#' later in a line is kept: URLs have fragments).
// A relative file path is taken relative to FILE's directory, as a playlist does, so one list works
// from any working directory; camera indices, /dev/video*, URLs ("://"), "test" and "gst:..." are
// taken as written. Throws sp::Error naming FILE if it cannot be read or lists no source.
std::vector<SourceEntry> read_sources_list(const std::string& file);

// Refuses a source given twice (it would be read twice and counted as two streams). File paths are
// compared as written, lexically normalised: a symlink or a copy is a stream of its own. The message
// names the duplicate and where both copies came from.
void check_distinct_sources(const std::vector<SourceEntry>& sources);

}  // namespace sp::app
