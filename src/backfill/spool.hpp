// Regroups backfill lines on disk so the output is valid OpenMetrics whatever order the data
// came in, with memory bounded for any time range.
//
// Data arrives system by system, and per system chunk of time by chunk of time, each chunk holding
// every family and series of the system. OpenMetrics (and promtool) want each family in one block,
// each series' samples together, in time order, then `# EOF`. So a system's lines go to a scratch
// file in segments (family, series, bytes); when the system is done they are copied, grouped by
// family and series (chunks in the order added), to one file per family; commit() writes the
// families in order to a temp file beside the output, then renames it over the output.
// Memory: one small index entry per (family, series, chunk) of the current system, and copy
// buffers. Disk: about twice the output while running. Scratch files are unlinked at creation, so
// nothing is left behind; the temp output is removed unless committed. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backfill/openmetrics.hpp"
#include "util/result.hpp"

namespace backfill {

class Spool {
 public:
  // Creates the temp output (OUTPUT.tmp-XXXXXX) and the scratch files in the output's directory,
  // so a directory that cannot be written fails here, before any API call.
  static util::Result<std::unique_ptr<Spool>> create(const std::string& output,
                                                     std::vector<Family> families);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Complete sample lines of one series of family `family` (an index into `families`), in time
  // order and after anything added earlier for that series. Series numbers are the caller's,
  // per system.
  std::optional<util::Error> add(std::size_t family, std::uint32_t series, std::string_view lines);
  // The current system is complete: its series join their families.
  std::optional<util::Error> end_system();
  // Families with samples in the order given, each with its header, then `# EOF`; synced and
  // renamed over the output. Call after the last end_system().
  std::optional<util::Error> commit();

  std::uint64_t bytes_written() const { return output_bytes_; }
  const std::string& temp_path() const { return temp_path_; }

 private:
  class File;
  struct Segment {
    std::uint32_t family;
    std::uint32_t series;
    std::uint64_t offset;
    std::uint64_t length;
  };
  Spool() = default;

  std::string output_;
  std::string temp_path_;
  std::vector<Family> families_;
  std::unique_ptr<File> out_;
  std::unique_ptr<File> scratch_;
  std::vector<std::unique_ptr<File>> family_files_;
  std::vector<Segment> segments_;
  std::string buffer_;
  std::uint64_t output_bytes_ = 0;
  bool committed_ = false;
};

}  // namespace backfill
