import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeStatus } from '../src/status';

test('indexing shows overall progress and per-folder lines', () => {
  const view = describeStatus({
    state: 'indexing',
    partial: true,
    folders: [
      { uri: 'file:///ws/app', state: 'indexing', files: 10, units: 40, message: 'embedding', done: 30, total: 100 },
      { uri: 'file:///ws/lib%20x/', state: 'ready', files: 5, units: 20, message: null, done: 50, total: 50 },
    ],
  });
  assert.equal(view.text, '$(sync~spin) codesearch 53%');
  assert.match(view.tooltip, /app: indexing 30% \(10 files, 40 units\) — embedding/);
  assert.match(view.tooltip, /lib x: ready 100% \(5 files, 20 units\)/);
  assert.equal(view.error, false);
});

test('ready and error states', () => {
  assert.equal(describeStatus({ state: 'ready', partial: false, folders: [] }).text, '$(search) codesearch');
  const error = describeStatus({ state: 'error', partial: false, folders: [] });
  assert.equal(error.text, '$(error) codesearch');
  assert.equal(error.error, true);
});
