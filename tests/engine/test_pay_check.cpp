// Note [Replay must pay] (engine/trace/pay_check.hpp) on made-up iteration times: when replay
// loses, the probe, the stretches and their doubling; when it wins or ties within the margin twice
// in a row, it is trusted for a while, then checked again; the warm-up iterations and the first
// eager one are not counted.
#include <catch2/catch.hpp>

#include <string>

#include "engine/trace/pay_check.hpp"

using terra::trace::PayCheck;

namespace {

// Feeds replayed iterations of `replayed` seconds until PayCheck asks for eager ones (or trusts
// replay, or `limit` is reached); returns how many it took.
int replay_until_eager(PayCheck& p, double replayed, int limit = 100) {
  int n = 0;
  while (!p.wants_eager() && !p.trusted() && n < limit) {
    p.replayed(replayed);
    ++n;
  }
  return n;
}

// Runs the eager iterations PayCheck asks for, each of `eager` seconds, until it asks no more or
// gives a verdict (which starts a stretch of its own); returns how many ran.
int run_eager_stretch(PayCheck& p, double eager) {
  int n = 0;
  while (p.wants_eager()) {
    p.ran_eagerly(eager);
    ++n;
    if (!p.wants_eager() || !p.verdict().empty()) break;
  }
  return n;
}

}  // namespace

TEST_CASE("replay that is slower than eager runs eagerly in doubling stretches", "[pay_check]") {
  PayCheck p;
  CHECK(replay_until_eager(p, 100e-6) == PayCheck::kWarmup + PayCheck::kSamples);
  CHECK(p.take_verdict().empty());  // a probe, not a verdict yet
  CHECK(run_eager_stretch(p, 60e-6) == PayCheck::kSamples + 1);
  // The probe decided: a first stretch, with the medians in the verdict.
  const std::string verdict = p.take_verdict();
  CHECK(verdict.find("replayed iterations took 100 us (median), eager ones 60 us") != std::string::npos);
  CHECK(verdict.find("the next 64 run eagerly") != std::string::npos);
  CHECK(run_eager_stretch(p, 60e-6) == PayCheck::kFirstStretch);
  // Replay is measured again (warm-up included) against the stretch, loses again: twice as long.
  CHECK(replay_until_eager(p, 100e-6) == PayCheck::kWarmup + PayCheck::kSamples);
  CHECK(p.take_verdict().find("the next 128 run eagerly") != std::string::npos);
  CHECK(run_eager_stretch(p, 60e-6) == 128);
  for (int round = 0; round < 8; ++round) {
    replay_until_eager(p, 100e-6);
    p.take_verdict();
    run_eager_stretch(p, 60e-6);
  }
  replay_until_eager(p, 100e-6);
  CHECK(p.take_verdict().find("the next 1024 run eagerly") != std::string::npos);  // the longest
  CHECK(!p.trusted());
}

// Replays n iterations of `replayed` seconds while replay is trusted; returns how many were.
int replay_while_trusted(PayCheck& p, double replayed, int n) {
  int trusted = 0;
  for (int i = 0; i < n; ++i) {
    trusted += p.trusted();
    p.replayed(replayed);
  }
  return trusted;
}

TEST_CASE("replay that wins twice, or ties within the margin, is trusted, then checked again", "[pay_check]") {
  for (double replayed : {40e-6, 61e-6}) {  // against 60 µs eager: faster, and within 2%
    PayCheck p;
    replay_until_eager(p, replayed);
    run_eager_stretch(p, 60e-6);
    CHECK(!p.trusted());  // one win: measured again, from fresh samples of both
    CHECK(p.take_verdict().empty());
    CHECK(replay_until_eager(p, replayed) == PayCheck::kWarmup + PayCheck::kSamples);
    CHECK(run_eager_stretch(p, 60e-6) == PayCheck::kSamples + 1);
    CHECK(p.trusted());
    CHECK(p.take_verdict().empty());
    // Trusted: nothing is asked for kFirstTrust iterations, however slow they are.
    CHECK(replay_while_trusted(p, 1.0, PayCheck::kFirstTrust) == PayCheck::kFirstTrust);
    CHECK(!p.trusted());
    // Then checked again (no warm-up: replay never stopped); one more win doubles the trust.
    CHECK(replay_until_eager(p, replayed) == PayCheck::kSamples);
    CHECK(run_eager_stretch(p, 60e-6) == PayCheck::kSamples + 1);
    CHECK(p.take_verdict().empty());
    CHECK(replay_while_trusted(p, replayed, 2 * PayCheck::kFirstTrust + 1) == 2 * PayCheck::kFirstTrust);
  }
}

TEST_CASE("trusted replay that has become slower than eager loses at the next check", "[pay_check]") {
  // The regression benchmark on a noisy host: two wins against eager samples that a noise burst
  // slowed, while replay is 10% slower than eager.
  PayCheck p;
  for (int round = 0; round < 2; ++round) {
    replay_until_eager(p, 66e-6);
    run_eager_stretch(p, 80e-6);
  }
  REQUIRE(p.trusted());
  replay_while_trusted(p, 66e-6, PayCheck::kFirstTrust);
  CHECK(replay_until_eager(p, 66e-6) == PayCheck::kSamples);
  run_eager_stretch(p, 60e-6);
  CHECK(p.take_verdict().find("replayed iterations took 66 us (median), eager ones 60 us (median): the next 64") !=
        std::string::npos);
  CHECK(run_eager_stretch(p, 60e-6) == PayCheck::kFirstStretch);
  // A later pair of wins is trusted for kFirstTrust again, not for twice as long.
  for (int round = 0; round < 2; ++round) {
    replay_until_eager(p, 50e-6);
    run_eager_stretch(p, 60e-6);
  }
  CHECK(replay_while_trusted(p, 50e-6, PayCheck::kFirstTrust + 1) == PayCheck::kFirstTrust);
}

TEST_CASE("a win that the second measurement does not confirm is a loss", "[pay_check]") {
  PayCheck p;
  replay_until_eager(p, 40e-6);
  run_eager_stretch(p, 60e-6);  // a win, by chance
  replay_until_eager(p, 100e-6);
  run_eager_stretch(p, 60e-6);
  CHECK(!p.trusted());
  CHECK(p.take_verdict().find("took 100 us (median), eager ones 60 us (median): the next 64 run eagerly") !=
        std::string::npos);
  CHECK(run_eager_stretch(p, 60e-6) == PayCheck::kFirstStretch);
}

TEST_CASE("replay 8% slower than eager is not a tie", "[pay_check]") {
  PayCheck p;
  replay_until_eager(p, 65e-6);
  run_eager_stretch(p, 60e-6);
  CHECK(!p.trusted());
  CHECK(p.take_verdict().find("replayed iterations took 65 us (median), eager ones 60 us") != std::string::npos);
}

TEST_CASE("a stretch ends when replay catches up; outliers do not decide", "[pay_check]") {
  PayCheck p;
  // Warm-up iterations (compiling) and one slow outlier among the samples change nothing.
  p.replayed(1.0);
  p.replayed(1.0);
  for (int i = 0; i < PayCheck::kSamples; ++i) p.replayed(i == 3 ? 1.0 : 100e-6);
  REQUIRE(p.wants_eager());
  p.ran_eagerly(1.0);  // the first eager iteration settles what replay left: not counted
  while (p.wants_eager()) p.ran_eagerly(60e-6);
  CHECK(p.take_verdict().find("took 100 us (median), eager ones 60 us") != std::string::npos);
  run_eager_stretch(p, 60e-6);
  // Measured again, replay now wins against the stretch's eager iterations, and again after a
  // second probe.
  replay_until_eager(p, 50e-6);
  CHECK(!p.trusted());
  run_eager_stretch(p, 60e-6);
  CHECK(p.trusted());
}

TEST_CASE("a longer warm-up (co-execution's) leaves more replayed iterations unmeasured", "[pay_check]") {
  PayCheck p(PayCheck::kWarmup + 8);
  CHECK(replay_until_eager(p, 100e-6) == PayCheck::kWarmup + 8 + PayCheck::kSamples);
  CHECK(run_eager_stretch(p, 60e-6) == PayCheck::kSamples + 1);
  CHECK(p.take_verdict().find("the next 64 run eagerly") != std::string::npos);
  CHECK(run_eager_stretch(p, 60e-6) == PayCheck::kFirstStretch);
  // After a stretch the graph's queue is empty again: the same warm-up before measuring.
  CHECK(replay_until_eager(p, 100e-6) == PayCheck::kWarmup + 8 + PayCheck::kSamples);
}

TEST_CASE("co-execution's bursts: replayed iterations are judged by their mean", "[pay_check]") {
  // Three iterations queue work fast, the fourth waits for all of it: 1.1x eager per iteration.
  const double burst[] = {20e-6, 20e-6, 20e-6, 204e-6};
  for (bool bursty : {false, true}) {
    PayCheck p(PayCheck::kWarmup, bursty);
    for (int i = 0; i < PayCheck::kWarmup + PayCheck::kSamples; ++i) p.replayed(burst[i % 4]);
    REQUIRE(p.wants_eager());  // the probe
    run_eager_stretch(p, 60e-6);
    INFO("bursty " << bursty);
    const std::string verdict = p.take_verdict();
    CHECK(verdict.empty() == !bursty);  // the median (20 us) would keep co-executing
    if (bursty) CHECK(verdict.find("took 66 us (mean), eager ones 60 us (median)") != std::string::npos);
  }
}
