// The batch-size finder's torch-free part: the search for the largest batch that fits a memory
// budget (powers of two from a start size, then a binary search, as Lightning's
// scale_batch_size, but capped), the gradient noise scale B_simple (McCandlish et al. 2018,
// "An Empirical Model of Large-Batch Training", Appendix A) and the recommended batch size.
// The measurements themselves (one training step's memory and throughput, gradient norms)
// run in the trainer (Trainer::find_batch_size, knob batch-find).
//
// Example:
//   std::vector<knob::BatchTrial> tried = knob::search_batch_sizes(16, 4096, [&](int64_t b) {
//     return measure_one_step(b);  // fills fits, peak_mib, samples_per_second
//   });
//   knob::NoiseScale noise = knob::estimate_noise_scale(16, 1024, small_sq_norms, big_sq_norms);
//   knob::BatchRecommendation r = knob::recommend_batch_size(tried, noise.b_simple);
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace knob {

// One batch size the finder ran: two training steps measured (the first allocates the gradients
// and the optimizer state), then, when it fits, timed steps.
struct BatchTrial {
  int64_t size = 0;
  bool fits = false;              // peak_mib <= the budget
  double peak_mib = 0;            // peak tensor memory of a training step (see Trainer)
  double samples_per_second = 0;  // over the timed steps
};

// The largest size that fits: `start`, then start x 2, x 4, ... up to `cap` (the cap itself is
// tried last when it is not a power-of-two multiple of start); at the first size that does not
// fit, a binary search between the last size that fits and it, until the gap is at most
// max(1, fitting / 16) (Lightning searches to 1; this keeps the number of timed runs small).
// `run` measures one size; every size in the result was run, in the order run. When `start`
// does not fit, the result is that one trial. Sizes never exceed `cap`. Requires
// 1 <= start <= cap (InvalidArgument naming batch_find.start otherwise).
std::vector<BatchTrial> search_batch_sizes(int64_t start, int64_t cap,
                                           const std::function<BatchTrial(int64_t)>& run);

// The largest size among the trials that fit (0: none fit).
int64_t largest_fitting(const std::vector<BatchTrial>& trials);

// The gradient noise scale from squared norms of mean mini-batch gradients |G_B|^2 measured at
// b_small and b_big, one pair per batch. The unbiased estimators of Appendix A,
//   |G|^2  = (b_big |G_big|^2 - b_small |G_small|^2) / (b_big - b_small)
//   tr(S)  = (|G_small|^2 - |G_big|^2) / (1/b_small - 1/b_big),
// are averaged over the batches separately (numerator and denominator of B_simple, as the paper
// advises, rather than averaging the noisy ratio) and B_simple = tr(S) / |G|^2. A |G|^2 estimate
// <= 0 (the noise swamps the signal) leaves b_simple = +inf. Assumes examples drawn
// independently: with b_big a small fraction of the data set (the trainer uses <= 1/8).
struct NoiseScale {
  int64_t b_small = 0, b_big = 0;
  int64_t batches = 0;
  double mean_small_sq = 0, mean_big_sq = 0;  // the averaged |G_small|^2 and |G_big|^2
  double gradient_sq = 0;                     // |G|^2 estimate
  double trace = 0;                           // tr(Sigma) estimate
  double b_simple = 0;                        // trace / gradient_sq
};
// Throws InvalidArgument for 1 <= b_small < b_big violated, or lists of different or 0 length.
NoiseScale estimate_noise_scale(int64_t b_small, int64_t b_big, const std::vector<double>& small_sq,
                                const std::vector<double>& big_sq);

// The rule: the largest size that fits and is at most B_simple — training beyond the
// critical batch size buys little speed-up per step and costs samples (McCandlish et al.); a
// B_simple that is not finite (no usable estimate, or noise everywhere) gives the largest size
// that fits; a B_simple below every size that fits gives the smallest size that fits. Only sizes
// that were run are recommended. 0 with rule "none fits" when nothing fits.
struct BatchRecommendation {
  int64_t size = 0;
  std::string rule;  // in words, for the report
};
BatchRecommendation recommend_batch_size(const std::vector<BatchTrial>& trials, double b_simple);

// The linear scaling rule (Goyal et al. 2017): lr x size / base.
double scale_learning_rate(double lr_at_base, int64_t base, int64_t size);

// What the finder reports (Trainer::find_batch_size).
struct BatchFindResult {
  std::vector<BatchTrial> trials;  // in the order run
  int64_t cap = 0;                 // the largest size it was allowed to try
  double budget_mib = 0;
  std::string budget_source;  // "batch_find.memory_budget" or "50% of MemAvailable (...)"
  int64_t largest_fitting = 0;
  NoiseScale noise;         // batches 0: not estimated (see noise_note)
  std::string noise_note;   // why it was not estimated, when it was not
  int64_t recommended = 0;  // batch size
  std::string rule;         // why this size
  double base_lr = 0;       // optimizer.lr, the learning rate at batch.base
  int64_t base = 0;         // batch.base
  double lr = 0;            // base_lr scaled to the recommended size
  double seconds = 0;
};

}  // namespace knob
