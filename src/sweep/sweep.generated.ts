// Generated from schemas/sweep.schema.json by `npm run gen:types`; do not edit.

/**
 * Exactly one of choice, uniform, log_uniform, int_range.
 */
export type Distribution =
  {choice: unknown[]} | {uniform: [number, number]} | {log_uniform: [number, number]} | {int_range: [number, number]};

/**
 * Many runs of one experiment: every combination of the grid, times the random trials, times the seeds, run as child runs of one MLflow parent run.
 */
export interface Sweep {
  /**
   * The sweep's name: the MLflow parent run's name and part of the sweep id.
   */
  name: string;
  /**
   * Free text; becomes the parent run's note.
   */
  description: string;
  /**
   * The experiment spec every trial starts from, relative to the sweep file; or a list of specs, each crossed with the grid, the random draws and the seeds (one summary row per spec and setting).
   */
  base: string | string[];
  /**
   * dotted.path=value overrides applied to every trial before its own, e.g. train.epochs=3.
   */
  overrides: string[];
  /**
   * dotted.path -> list of values; every combination becomes a setting.
   */
  grid: {
    /**
     * The values this field takes, each one YAML (numbers, strings, lists).
     *
     * @minItems 1
     */
    [k: string]: unknown[];
  };
  /**
   * Random search: this many settings drawn from the distributions, seeded by `seed`.
   */
  random?: {
    /**
     * How many settings to draw.
     */
    trials: number;
    /**
     * dotted.path -> the distribution its values are drawn from.
     */
    params: {
      [k: string]: Distribution;
    };
  };
  /**
   * Each setting runs once per seed (the experiment's `seed` field); empty: once with the base seed.
   */
  seeds: number[];
  /**
   * Seeds the random search, so the same sweep draws the same settings.
   */
  seed: number;
  /**
   * Trials run at once; 0: one per CPU core (measured faster than one per two cores with tfjs-node on 2 cores).
   */
  parallel: number;
  /**
   * The test metric the summary ranks settings by.
   */
  metric: {
    /**
     * A final metric of the trials (as in each run's summary), e.g. test/neg_elbo or test/iwae_nll.
     */
    name: string;
    /**
     * Whether lower or higher is better.
     */
    direction: "minimize" | "maximize";
  };
}
