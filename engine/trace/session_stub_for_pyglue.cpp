// TEMPORARY STUB (branch pyglue only; drop at merge): trivial definitions of the tracing session
// (session.hpp) and of the location describer hook (record.hpp), so that the Python glue links
// until engine/trace/session.cpp and record.cpp land. No session ever becomes active.
#include "engine/trace/record.hpp"
#include "engine/trace/session.hpp"

namespace terra::trace {

Options options_from_env() { return Options{}; }
void set_location_provider(LocationProvider) {}
void start(const Options&) {}
void stop() {}
bool active() { return false; }
void begin_iteration() {}
void end_iteration() {}
void sync() {}
void note_read(const Tensor&) {}
Stats stats() { return Stats{}; }
std::string report() { return "tracing session: stub (engine/trace/session.cpp has not landed)"; }
void dump(const std::string&) {}
void set_location_describer(LocationDescriber) {}

}  // namespace terra::trace
