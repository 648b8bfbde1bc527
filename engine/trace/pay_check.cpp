#include "engine/trace/pay_check.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace terra::trace {

namespace {

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

double mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

void keep_latest(std::vector<double>& v, double sample) {
  v.push_back(sample);
  if (v.size() > static_cast<size_t>(PayCheck::kSamples)) v.erase(v.begin());
}

}  // namespace

void PayCheck::replayed(double seconds) {
  if (eager_left_ > 0) return;
  if (trusted_left_ > 0) {
    if (--trusted_left_ == 0) {  // check again, from fresh samples of both
      replayed_.clear();
      eager_.clear();
    }
    return;
  }
  if (skip_replayed_ > 0) {
    --skip_replayed_;
    return;
  }
  keep_latest(replayed_, seconds);
  if (replayed_.size() < static_cast<size_t>(kSamples)) return;
  if (eager_.size() < static_cast<size_t>(kSamples)) {  // eager not measured yet: probe it
    probing_ = true;
    skip_eager_ = 1;
    eager_left_ = kSamples + 1;
    return;
  }
  decide();
}

void PayCheck::ran_eagerly(double seconds) {
  if (eager_left_ == 0) return;
  --eager_left_;
  if (skip_eager_ > 0) --skip_eager_;
  else keep_latest(eager_, seconds);
  if (eager_left_ > 0) return;
  if (std::exchange(probing_, false)) return decide();
  replayed_.clear();  // a stretch ended: measure replay again, against its last iterations
  skip_replayed_ = warmup_;
}

void PayCheck::decide() {
  const double replay = bursty_ ? mean(replayed_) : median(replayed_), eager = median(eager_);
  if (eager * kMargin >= replay) {
    if (++wins_ >= kWinsToTrust) {
      trust_ = trust_ == 0 ? kFirstTrust : std::min(2 * trust_, kLongestTrust);
      trusted_left_ = trust_;
      return;
    }
    replayed_.clear();  // measure both again: kSamples replayed iterations, then a probe of eager
    eager_.clear();
    skip_replayed_ = warmup_;  // the probe emptied the graph's queue
    return;
  }
  wins_ = 0;
  trust_ = 0;
  stretch_ = stretch_ == 0 ? kFirstStretch : std::min(2 * stretch_, kLongestStretch);
  eager_left_ = stretch_;
  char text[200];
  std::snprintf(text, sizeof text,
                "replayed iterations took %.0f us (%s), eager ones %.0f us (median): the next %d run eagerly, untraced",
                replay * 1e6, bursty_ ? "mean" : "median", eager * 1e6, stretch_);
  verdict_ = text;
}

}  // namespace terra::trace
