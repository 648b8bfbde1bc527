// Note [Replay must pay] (engine/trace/pay_check.hpp) on made-up iteration times: when replay
// loses, the probe, the stretches and their doubling; when it wins or ties within the margin twice
// in a row, it settles for good; the warm-up iterations and the first eager one are not counted.
#include <catch2/catch.hpp>

#include <string>

#include "engine/trace/pay_check.hpp"

using terra::trace::PayCheck;

namespace {

// Feeds replayed iterations of `replayed` seconds until PayCheck asks for eager ones (or settles,
// or `limit` is reached); returns how many it took.
int replay_until_eager(PayCheck& p, double replayed, int limit = 100) {
  int n = 0;
  while (!p.wants_eager() && !p.settled() && n < limit) {
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
  CHECK(!p.settled());
}

TEST_CASE("replay that wins twice, or ties within the margin, settles for good", "[pay_check]") {
  for (double replayed : {40e-6, 61e-6}) {  // against 60 µs eager: faster, and within 2%
    PayCheck p;
    replay_until_eager(p, replayed);
    run_eager_stretch(p, 60e-6);
    CHECK(!p.settled());  // one win: measured again, from fresh samples of both
    CHECK(p.take_verdict().empty());
    CHECK(replay_until_eager(p, replayed) == PayCheck::kWarmup + PayCheck::kSamples);
    CHECK(run_eager_stretch(p, 60e-6) == PayCheck::kSamples + 1);
    CHECK(p.settled());
    CHECK(p.take_verdict().empty());
    CHECK(replay_until_eager(p, 1.0) == 0);  // settled: nothing is asked any more
  }
}

TEST_CASE("a win that the second measurement does not confirm is a loss", "[pay_check]") {
  PayCheck p;
  replay_until_eager(p, 40e-6);
  run_eager_stretch(p, 60e-6);  // a win, by chance
  replay_until_eager(p, 100e-6);
  run_eager_stretch(p, 60e-6);
  CHECK(!p.settled());
  CHECK(p.take_verdict().find("took 100 us (median), eager ones 60 us (median): the next 64 run eagerly") !=
        std::string::npos);
  CHECK(run_eager_stretch(p, 60e-6) == PayCheck::kFirstStretch);
}

TEST_CASE("replay 8% slower than eager is not a tie", "[pay_check]") {
  PayCheck p;
  replay_until_eager(p, 65e-6);
  run_eager_stretch(p, 60e-6);
  CHECK(!p.settled());
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
  CHECK(!p.settled());
  run_eager_stretch(p, 60e-6);
  CHECK(p.settled());
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
