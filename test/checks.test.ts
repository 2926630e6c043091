import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { budgetCheck, check, maxAbsDiff, sameHyperParameters } from '../src/core/checks';

/** Run fn with console.log captured; return what it printed. */
function captured(fn: () => void): string {
  const lines: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(' '));
  try {
    fn();
  } finally {
    console.log = orig;
  }
  return lines.join('\n');
}

test('check prints PASS on a true claim and throws on a false one, naming the values', () => {
  assert.match(
    captured(() => assert.equal(check('one is one', true, { x: 1 }), true)),
    /PASS {2}one is one\n {6}x = 1/,
  );
  assert.throws(
    () => captured(() => check('two is one', false, { x: 2.000001234 })),
    /CHECK failed: two is one \(x = 2\)/,
  );
});

test('budgetCheck throws only with the shipped hyper-parameters', () => {
  assert.throws(() => captured(() => budgetCheck('gap < 0.1', false, { gap: 0.3 }, true)), /CHECK failed: gap < 0.1/);
  let out = '';
  const ok = budgetCheck.bind(null, 'gap < 0.1', false, { gap: 0.3 }, false);
  out = captured(() => assert.equal(ok(), false));
  assert.match(out, /NOT MET {2}gap < 0.1\n {6}gap = 0.3/);
  assert.match(
    captured(() => assert.equal(budgetCheck('gap < 0.1', true, { gap: 0.01 }, false), true)),
    /PASS/,
  );
});

test('sameHyperParameters compares every key, arrays and objects by value', () => {
  assert.equal(sameHyperParameters({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }), true);
  assert.equal(sameHyperParameters({ a: 1, b: [1, 2] }, { a: 1, b: [1, 3] }), false);
  assert.equal(sameHyperParameters({ a: 1 }, { a: 1, c: 2 }), false);
  assert.equal(sameHyperParameters({ a: 300 }, { a: 10000 }), false);
});

test('maxAbsDiff is the largest absolute difference and rejects mismatched shapes', () => {
  const a = tf.tensor2d([
    [1, -2],
    [3, 4],
  ]);
  const b = tf.tensor2d([
    [1, 2],
    [3, 4.5],
  ]);
  assert.equal(maxAbsDiff(a, b), 4);
  assert.throws(() => maxAbsDiff(a, tf.tensor1d([1, 2])), /shapes differ, \[2, 2\] vs \[2\]/);
  tf.dispose([a, b]);
});
