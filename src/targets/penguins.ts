/**
 * The penguin models: two Bayesian logistic-regression posteriors on data/penguins.csv
 * (Palmer Station penguins, see data/README.md), on standardised features.
 */
import { existsSync } from 'fs';
import { join } from 'path';
import { readCSVColumns, standardize } from './data';
import { logisticPosterior, type LogisticPosterior } from './logistic';

/**
 * Where data/penguins.csv is: next to src/ or dist/ (…/data), or under the working directory
 * or its parent (a notebook in notebooks/).
 */
export function penguinsCSVPath(): string {
  const candidates = [
    join(__dirname, '..', 'data', 'penguins.csv'),
    join(__dirname, '..', '..', 'data', 'penguins.csv'),
    join(process.cwd(), 'data', 'penguins.csv'),
    join(process.cwd(), '..', 'data', 'penguins.csv'),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found)
    throw new Error(
      `data/penguins.csv not found (run node scripts/make-data.mjs); looked in: ${candidates.join(', ')}`,
    );
  return found;
}

/** A concrete posterior on the penguin data, with the standardisation used. */
export interface PenguinModel {
  target: LogisticPosterior;
  /** Raw feature names (columns of data/penguins.csv). */
  features: string[];
  /** Standardised features, row-major: [N, P] */
  X: Float32Array;
  /** Labels: [N] */
  y: Float32Array;
  /** Raw feature = mean + std · standardised feature: [P] */
  mean: Float64Array;
  std: Float64Array;
  /** What y = 1 means. */
  description: string;
}

/** Prior std of every coefficient of the penguin models: weakly informative on standardised features. */
export const PENGUIN_PRIOR_STD = 5;

export interface PenguinModelOptions {
  /** CSV path (default `penguinsCSVPath()`). */
  path?: string;
  /** Prior std s (default PENGUIN_PRIOR_STD). */
  priorStd?: number;
}

/**
 * The 2-D model: is a penguin a Chinstrap (y = 1) rather than an Adélie (y = 0), from its
 * standardised bill length? θ = (intercept, slope), N = 214 (146 Adélie, 68 Chinstrap).
 * The classes overlap in bill length (not separable), so the posterior is proper; it is
 * visibly skewed and correlated (slope skewness ≈ 0.46, corr ≈ -0.58 with s = 5).
 */
export function penguinsSpeciesModel(options: PenguinModelOptions = {}): PenguinModel {
  const path = options.path ?? penguinsCSVPath();
  const t = readCSVColumns(path, ['bill_length_mm', 'species'], {
    where: { species: ['Adelie', 'Chinstrap'] },
    encode: { species: { Adelie: 0, Chinstrap: 1 } },
  });
  const raw = new Float32Array(t.rows);
  const y = new Float32Array(t.rows);
  for (let n = 0; n < t.rows; n++) {
    raw[n] = t.matrix[2 * n]!;
    y[n] = t.matrix[2 * n + 1]!;
  }
  const s = standardize(raw, 1);
  const target = logisticPosterior({
    X: s.x,
    P: 1,
    y,
    priorStd: options.priorStd ?? PENGUIN_PRIOR_STD,
    intercept: true,
    name: 'penguins: Chinstrap vs Adélie ~ bill length',
  });
  return {
    target,
    features: ['bill_length_mm'],
    X: s.x,
    y,
    mean: s.mean,
    std: s.std,
    description: 'y = 1: Chinstrap, y = 0: Adélie',
  };
}

/**
 * The >2-D model: is an Adélie penguin male (y = 1), from its standardised bill length, bill
 * depth, flipper length and body mass? θ = (intercept, 4 slopes), D = 5, N = 146 (73 / 73).
 * Not separable: plain maximum likelihood (no prior) converges, to θ ≈ (0.30, 2.23, 1.62,
 * -0.23, 3.59), so the posterior is proper for any prior width.
 */
export function penguinsSexModel(options: PenguinModelOptions = {}): PenguinModel {
  const path = options.path ?? penguinsCSVPath();
  const features = ['bill_length_mm', 'bill_depth_mm', 'flipper_length_mm', 'body_mass_g'];
  const t = readCSVColumns(path, [...features, 'male'], { where: { species: 'Adelie' } });
  const P = features.length;
  const raw = new Float32Array(t.rows * P);
  const y = new Float32Array(t.rows);
  for (let n = 0; n < t.rows; n++) {
    for (let p = 0; p < P; p++) raw[n * P + p] = t.matrix[n * (P + 1) + p]!;
    y[n] = t.matrix[n * (P + 1) + P]!;
  }
  const s = standardize(raw, P);
  const target = logisticPosterior({
    X: s.x,
    P,
    y,
    priorStd: options.priorStd ?? PENGUIN_PRIOR_STD,
    intercept: true,
    name: 'penguins: male ~ Adélie measurements',
  });
  return {
    target,
    features,
    X: s.x,
    y,
    mean: s.mean,
    std: s.std,
    description: 'y = 1: male, y = 0: female (Adélie only)',
  };
}
