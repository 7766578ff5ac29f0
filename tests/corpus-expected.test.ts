/**
 * expected.json in a corpus folder is input an operator's disk can hold in any shape: every shape
 * that is not an expectation is a one-line corpus error naming the file, never a crash (the fuzz
 * campaign found `null` crashing `pvf conformance` with exit 70).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CorpusError, parseExpectation } from '../core/corpus/corpus.ts';

describe('expected.json', () => {
  it('refuses what is not an expectation, naming the file', () => {
    const bad: Array<[string, RegExp]> = [
      ['null', /not a JSON object/],
      ['[]', /not a JSON object/],
      ['"valid"', /not a JSON object/],
      ['7', /not a JSON object/],
      ['{', /JSON|Expected|Unexpected/],
      ['{}', /verdict must be valid or invalid/],
      ['{"verdict":"abstain"}', /verdict must be valid or invalid/],
      ['{"verdict":"maybe"}', /verdict must be valid or invalid/],
      ['{"verdict":"valid","headData":"0xzz"}', /headData must be a 0x-prefixed hex string/],
      ['{"verdict":"valid","headData":"0x1"}', /headData must be a 0x-prefixed hex string/],
      ['{"verdict":"valid","headData":12}', /headData must be a 0x-prefixed hex string/],
      ['{"verdict":"valid","raw":null}', /raw must be a 0x-prefixed hex string/],
      ['{"verdict":"invalid","reason":{}}', /reason must be a string/],
    ];
    for (const [json, re] of bad) {
      assert.throws(
        () => parseExpectation(json, 'corpus/c0/expected.json'),
        (e: unknown) => e instanceof CorpusError && e.message.startsWith('corpus/c0/expected.json: ') && re.test(e.message) && !e.message.includes('\n'),
        json,
      );
    }
  });

  it('keeps the comparable fields (hex lowercased), ignores informative keys and a reason on valid', () => {
    assert.deepEqual(parseExpectation('{"verdict":"valid","headData":"0xAB","blockHash":"0x00","reason":"x"}', 'f'), { verdict: 'valid', headData: '0xab' });
    assert.deepEqual(parseExpectation('{"verdict":"invalid","reason":"timeout","panic":"p","raw":"0x"}', 'f'), { verdict: 'invalid', raw: '0x', reason: 'timeout' });
  });
});
