// Note [Replay must pay]
// Replaying a loop (or co-executing it) is worth it only when an iteration takes less time than
// the same iteration run eagerly. Where the ops are tiny and Python reads a value every step, the
// replay path can cost more per op than eager dispatch with its kernel (tools/bench/RESULTS.md),
// and `terra run` would make the program slower than `--mode eager`. So the session times whole
// iterations (from one iteration's start to the next's) and PayCheck compares: after kSamples
// replayed iterations (past a warm-up: kWarmup, which may compile, and in co-execution as many
// more as Python may run ahead of the graph, Options::max_spans_ahead, so that the measured
// iterations pay for the graph's work instead of queueing it), the next kSamples + 1 run eagerly,
// untraced (the first is not counted: it settles what replay left queued); if the eager median
// times kMargin is still below the replayed median, a stretch of eager iterations follows (64,
// doubling up to 1024 each time replay loses again), after which replay is measured again
// against the stretch's own last iterations. Once replay wins twice in a row, each time against
// fresh samples of both (a second probe follows a first win), the loop replays unchecked for
// kFirstTrust iterations, then both are measured again; each further win doubles the trust (up to
// kLongestTrust), a loss starts a stretch. On a noisy machine a win can be chance: the digits CNN
// once settled with co-executed iterations taking 1.5x eager's, and the regression benchmark,
// with replayed iterations ~10% slower than eager ones, won twice against eager samples a noise
// burst had slowed (2026-11-27), when a win settled for good. A check costs kSamples + 1 eager
// iterations, under 2% of the replayed ones that follow it. The
// TraceGraph and the plans stay: coming back to replay compiles nothing. Eager and replayed
// iterations compute the same values (DESIGN.md §10), so this changes speed only; --explain lists
// each verdict. TERRA_REPLAY_MUST_PAY=0 (Options::replay_must_pay) turns it off.
#pragma once
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace terra::trace {

class PayCheck {
 public:
  // `bursty`: replayed iterations are judged by their mean, not their median. In co-execution
  // Python runs ahead of the graph and then waits for all it queued, so a few fast iterations
  // alternate with one slow one; their median sees only the fast ones (the digits CNN stayed
  // co-executed at 1.1x eager's time per iteration), their mean is the time per iteration.
  explicit PayCheck(int warmup = kWarmup, bool bursty = false)
      : warmup_(warmup), bursty_(bursty), skip_replayed_(warmup) {}

  static constexpr int kSamples = 8;
  static constexpr int kWarmup = 2;
  // A tie band for noise only: the bar is never slower than eager (the digits CNN, whose
  // co-executed iterations took 1.1x eager's, stayed co-executed under a margin of 1.1).
  static constexpr double kMargin = 1.02;
  static constexpr int kWinsToTrust = 2;
  static constexpr int kFirstStretch = 64;
  static constexpr int kLongestStretch = 1024;
  static constexpr int kFirstTrust = 512;
  static constexpr int kLongestTrust = 16384;

  // At the start of an iteration that would replay: whether it runs eagerly instead.
  bool wants_eager() const { return eager_left_ > 0; }
  // At the start of the next iteration, the time the last one took, by how it ran: replayed to
  // its end, or eagerly because wants_eager() said so.
  void replayed(double seconds);
  void ran_eagerly(double seconds);
  // The verdict that just sent the loop to eager, for the fallback list; empty otherwise.
  std::string take_verdict() { return std::exchange(verdict_, std::string()); }
  const std::string& verdict() const { return verdict_; }
  // Replay won kWinsToTrust times in a row: the iterations to come replay unmeasured.
  bool trusted() const { return trusted_left_ > 0; }
  // Note [Dormant stretches] in iteration.cpp: how many of the eager iterations to come may go
  // untimed, so that the stretch's last kSamples + 1 are still measured; skip_eager takes them.
  int untimed_allowance() const { return probing_ ? 0 : std::max(0, eager_left_ - (kSamples + 1)); }
  void skip_eager(int n) { eager_left_ -= n; }

 private:
  void decide();

  int trusted_left_ = 0;   // replayed iterations before the next check
  int trust_ = 0;          // how many the latest win granted (0: none yet)
  int wins_ = 0;           // replay's wins in a row
  bool probing_ = false;   // the eager iterations running are the first measurement of eager
  int warmup_;  // replayed iterations not measured after a start or a stretch
  bool bursty_;
  int skip_replayed_, skip_eager_ = 0;
  int eager_left_ = 0, stretch_ = 0;
  std::vector<double> replayed_, eager_;  // the latest samples of each
  std::string verdict_;
};

}  // namespace terra::trace
