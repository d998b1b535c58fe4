/**
 * The figures llama-perplexity --kl-divergence prints, by its label; `qbench ppl --json` names
 * each `<label>_kld` (mean_kld, p99_9_kld, …).
 */
export const KLD_FIGURES = [
  "mean",
  "max",
  "p99_9",
  "p99",
  "p95",
  "p90",
  "median",
  "p10",
  "p5",
  "p1",
  "p0_1",
  "min",
] as const;

/** Each label with qbench ppl's JSON key for it. */
export const kldFigureKeys = (): Array<[string, string]> =>
  KLD_FIGURES.map((label) => [label, `${label}_kld`]);
