/**
 * CHECK cells for the notebooks: print the compared values, and say PASS or FAIL.
 *
 * Two kinds of claim:
 * - `check`: a claim that holds whatever the hyper-parameters (an identity, a log-det against
 *   autodiff). A false claim is a bug, so it throws.
 * - `budgetCheck`: a claim that holds only with the notebook's own training budget (a KL gap below
 *   a bar after 10000 steps). With the shipped hyper-parameters a false claim throws as above; when a
 *   student has changed them (`asShipped` false) it reports instead, so that one experiment never
 *   blocks the cells after it (tslab aborts the requests queued behind a cell that threw).
 */
import * as tf from '@tensorflow/tfjs';

/** The printed form of one compared value: numbers to 5 significant digits. */
function show(values: Record<string, unknown>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k} = ${typeof v === 'number' ? Number(v.toPrecision(5)) : String(v)}`)
    .join(', ');
}

/** A CHECK: print the compared values; throw when the claim is false. Returns true on a pass. */
export function check(claim: string, ok: boolean, values: Record<string, unknown> = {}): boolean {
  const shown = show(values);
  console.log(`${ok ? 'PASS' : 'FAIL'}  ${claim}\n      ${shown}`);
  if (!ok) throw new Error(`CHECK failed: ${claim} (${shown})`);
  return true;
}

/**
 * A CHECK whose pass depends on the training budget. `asShipped` says whether the notebook's
 * hyper-parameters are the ones it ships with: then a failure throws like `check`; otherwise it
 * prints NOT MET with the values and returns false.
 */
export function budgetCheck(claim: string, ok: boolean, values: Record<string, unknown>, asShipped: boolean): boolean {
  if (ok || asShipped) return check(claim, ok, values);
  console.log(
    `NOT MET  ${claim}\n      ${show(values)}\n` +
      "      (this claim needs the notebook's own training budget; yours differs, so this is a report, not an error)",
  );
  return false;
}

/**
 * True when every entry of `current` equals the entry of the same name in `shipped`: the
 * notebook's hyper-parameter cell calls it with its constants and their shipped values.
 */
export function sameHyperParameters(current: Record<string, unknown>, shipped: Record<string, unknown>): boolean {
  const keys = new Set([...Object.keys(current), ...Object.keys(shipped)]);
  for (const k of keys) {
    if (JSON.stringify(current[k]) !== JSON.stringify(shipped[k])) return false;
  }
  return true;
}

/** max |a − b| over all entries (a and b of the same shape). */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  if (a.shape.join(',') !== b.shape.join(',')) {
    throw new Error(`maxAbsDiff: shapes differ, [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
  }
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}
