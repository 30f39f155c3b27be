import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stderrClassifier } from '../src/serverlog';

test('the server log prefix sets the level; traceback lines keep it', () => {
  const classify = stderrClassifier();
  assert.deepEqual(classify('codesearch-lsp WARNING Cancel notification for unknown message id "4"'), {
    level: 'warn',
    text: 'Cancel notification for unknown message id "4"',
  });
  assert.deepEqual(classify('codesearch-lsp ERROR Unable to handle message'), { level: 'error', text: 'Unable to handle message' });
  assert.equal(classify('Traceback (most recent call last):').level, 'error');
  assert.equal(classify('codesearch-lsp INFO indexed 10 files').level, 'info');
  assert.equal(classify('some library print').level, 'info');
});
