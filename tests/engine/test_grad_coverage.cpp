// After the whole engine suite ran: every op with a gradient formula had that formula checked
// against finite differences by some gradcheck (the gradchecks record the ops they went through).
// Skipped when a filter selects only some tests.
#define CATCH_CONFIG_EXTERNAL_INTERFACES  // listeners
#include "gradcheck.hpp"

#include <cstdio>
#include <cstdlib>

namespace {

struct GradCoverageListener : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;

  void testRunEnded(const Catch::TestRunStats& stats) override {
    if (m_config->hasTestFilters() || stats.totals.testCases.failed > 0) return;
    std::vector<std::string> missing;
    for (const terra::OpDef* op : terra::Registry::instance().all())
      if (op->grad_state == terra::GradState::Formula && !terra::test::gradchecked_ops().count(op->name()))
        missing.push_back(op->name());
    if (missing.empty()) return;
    std::string list;
    for (const std::string& m : missing) list += " " + m;
    // A listener cannot fail the run through Catch2, so it reports and exits non-zero; tools/test
    // counts the missing summary as a failure.
    std::fprintf(stderr, "gradient formulas never gradchecked:%s\n", list.c_str());
    std::fflush(stderr);
    std::_Exit(1);
  }
};

}  // namespace

CATCH_REGISTER_LISTENER(GradCoverageListener)
