#include "local/bus_source.hpp"

namespace local {

BusSource::BusSource(SourceSpec spec, SourceOptions options, BusLimits limits)
    : state_(limits, spec.display_name()),
      source_(std::move(spec), options,
              LineHandlers{
                  [this](std::string_view line, ReceiveTime received) {
                    state_.apply_line(line, received);
                  },
                  [this] { state_.note_oversized_line(); },
                  [this] { state_.note_partial_line(); },
                  [this](bool connected) { state_.set_connected(connected); },
              }) {}

BusSource::~BusSource() { stop(); }

void BusSource::start() { source_.start(); }

void BusSource::stop() { source_.stop(); }

}  // namespace local
