package main

// methodology closes docs/benchmarks.md: how the numbers were made, so that
// they can be checked and reproduced.
const methodology = `
## How the numbers are made

The simulator (` + "`pkg/simulate`" + `, also ` + "`kn iter8 simulate`" + ` and ` + "`iter8-simulate`" + `)
runs each policy in process, one analysis interval at a time, on the same
synthetic data stream. Scenario files follow
[test/scenarios/README.md](../test/scenarios/README.md). They are the
review's shared scenarios with two changes: ab-latency-seconds is added, and
the latency metric of canary-good and canary-bad-errors declares
` + "`max: 1000`" + ` (ms), the range its exact mean verdicts rely on. Without it, as
the shared files are written, the range defaults to the 300 s request
timeout and canary-good promotes after about 38,000 requests instead of
about 2,500: slower than the Flagger-like policy
(` + "`TestCanaryMeanLimitPaysForItsRange`" + `; [statistics](statistics.md)).

- **Traffic.** Each interval draws ` + "`requestsPerInterval`" + ` requests and splits them
  over versions by the policy's current integer percentages (multinomial, as
  a chain of conditional binomials). Windows are one simulated minute long;
  time is an input, never the clock.
- **Metrics.** Each request draws one value of every metric from its version's
  true distribution; each interval's aggregates become one ` + "`metrics.observed`" + `
  window. Fast paths draw the aggregates exactly: Binomial successes for
  Bernoulli metrics; for a normal mean metric the sample mean
  (Normal(μ, σ²/n)) and the sum of squared deviations (σ²·χ²(n−1)),
  independent by Cochran's theorem. Lognormal and exponential means and every
  histogram are drawn request by request. Quantile metrics without buckets
  use Knative Serving's queue-proxy request-duration buckets (5, 10, 25, 50,
  75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000 ms).
- **Determinism.** Run i draws from a stream seeded by (seed, i) and, for
  iter8, its experiment id is ` + "`sim-<seed>-<i>`" + ` (the engine seeds its Monte
  Carlo from it). Runs execute in parallel and are gathered in order: the same
  seed prints the same report on any number of cores.
- **Outcomes.** A promoted version is named (for a canary, the candidate; a
  promoted baseline in an A/B test is the baseline's name, e.g. ` + "`v1`" + `);
  ` + "`rollback`" + ` is an end on the baseline after a failure (including abort);
  ` + "`inconclusive`" + ` is the spec's limits or the scenario's horizon without a
  decision; ` + "`pass`" + `/` + "`fail`" + ` for performance.
- **Truth.** Objectives are checked analytically against the true values:
  Bernoulli p, normal mean, lognormal mean exp(μ+σ²/2), exponential mean, and
  for quantile metrics the distribution's quantile. Regret counts, per request,
  the best feasible true reward minus the served version's (negative for a
  failing version that converts better: that traffic is counted in the
  failing share instead). ` + "`regret.horizonMean`" + ` in the JSON adds the expected
  loss of the split left after the decision until the horizon, the quantity
  the Lai–Robbins bound speaks of.
- **Bounds.** The Garivier–Kaufmann bound T*(μ)·kl(δ, 1−δ) and the Lai–Robbins
  constant Σ (μ*−μₐ)/kl(μₐ, μ*) are computed where the reward is Bernoulli and
  no objective binds (no version's truth violates one); an A/A test has no
  finite bound.

## Policies

Every policy sees the same windows and moves traffic in integer percents.

- **iter8**: ` + "`pkg/experiment`" + ` unchanged: anytime-valid verdicts and best-version
  decision, top-two Thompson sampling for A/B(/n) (which, with two versions,
  is an equal split), a progressive ramp for canaries.
- **flagger**: Flagger's canary analysis: stepWeight 10, maxWeight 50,
  threshold 5. Each interval checks each objective's point estimate from that
  interval alone (error rate, mean, histogram_quantile) against its limit; a
  failure increments a counter that rolls back at 5; a pass advances the
  weight, and a pass at 50% promotes. The initialising interval at 0% is not
  counted against it, and it rolls back in the interval of the fifth failure
  rather than the next one ([Flagger: canary analysis](https://docs.flagger.app/usage/deployment-strategies#canary-release)).
  For A/B(/n) Flagger has no reward metric
  ([Flagger: A/B testing](https://docs.flagger.app/usage/deployment-strategies#a-b-testing)
  routes a header or cookie segment for a number of iterations): the rule used
  here is **ours, not Flagger's**, and its rows read ` + "`flagger-like (our reward rule)`" + `: every version gets an equal share for 10
  passing iterations, a candidate failing 5 checks is dropped, and the best
  point estimate of the reward over the analysis wins. Performance: 10 passing iterations pass, 5
  failing ones fail.
- **fixed-horizon**: an equal split (50/50 for canaries) and one test at a
  pre-computed sample size for 80% power: A/B(/n) at a 20% relative lift of
  the baseline's true reward, two-sided, Bonferroni over the comparisons with
  the baseline; canary and performance at a true value 20% inside each limit,
  one-sided (Wilson bounds for rates and quantile exceedances, z for means,
  sized with the true standard deviation). A canary also has a safety stop
  before the horizon: it rolls back once iter8's anytime-valid verdicts show
  the candidate violating an objective. In ab-conversion and abn-three the
  true lift is exactly 20%, so the test is sized for the very effect present:
  the most favourable choice for it.
- **naive-bayes**: an equal split; stop as soon as a version's posterior
  P(best) ≥ confidence (canary/performance: P(objectives hold) ≥ confidence,
  or ≤ 1 − confidence to roll back/fail), checked every interval after
  minSamples, with the same posterior as iter8.
- **iter8-v1**: the same stopping rule with iter8 v1's routing: traffic ∝
  0.95·P(best) + 0.05/K, no version gaining more than 5 points per interval;
  canaries start at initialCandidatePercent and are routed by P(objectives
  hold). It stops at the first crossing; iter8 v1 itself ran interval ×
  maxIterations and used a stricter winner posterior, so this model is
  faster and less accurate than v1 was.
- **iter8-earn**: iter8 with ` + "`traffic.strategy: earn`" + ` (A/B and A/B/n only):
  traffic in proportion to P(best) (Thompson sampling) instead of top-two
  Thompson sampling, same decision rules. It trades samples to a decision
  for regret: pick ` + "`bandit`" + ` (the default) to decide fastest, ` + "`earn`" + ` when the
  traffic served while learning matters more than the time to a decision.
  Its decisions keep the same guarantee (the e-processes hold under any
  allocation computed from past data), so its goals are correctness, A/A
  "any winner" ≤ δ and regret below iter8's (Lai–Robbins in the Theory
  table); the sample goals against the GK and Gaussian bounds are the
  identify-fastest policy's and are not reported for it.
- **iter8 (windows of 100)**: iter8 on the same scenario with 100 requests
  per interval (and proportionally more intervals), where the scenario has a
  reward bound: the rules are valid at any window size.
`
