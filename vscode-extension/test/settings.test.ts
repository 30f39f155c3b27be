import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sameOptions, toInitializationOptions, type ServerSettingKey } from '../src/settings';

function reader(values: Partial<Record<ServerSettingKey, unknown>>) {
  return (key: ServerSettingKey): unknown => values[key];
}

test('unset settings are left out so the server defaults apply', () => {
  assert.deepEqual(toInitializationOptions(reader({})), { options: {}, problems: [] });
});

test('set settings are sent in camelCase', () => {
  const { options, problems } = toInitializationOptions(
    reader({ backend: 'sglang', embedUrl: ' http://127.0.0.1:30000 ', model: 'Qwen/Qwen3-Embedding-4B', dimensions: 0, k: 15, exclude: ['vendor/**', ''] }),
  );
  assert.deepEqual(problems, []);
  assert.deepEqual(options, {
    backend: 'sglang',
    embedUrl: 'http://127.0.0.1:30000',
    model: 'Qwen/Qwen3-Embedding-4B',
    dimensions: 0,
    k: 15,
    exclude: ['vendor/**'],
  });
});

test('empty strings mean unset', () => {
  assert.deepEqual(toInitializationOptions(reader({ embedUrl: '', model: '' })).options, {});
});

test('invalid values are dropped with a message naming the setting', () => {
  const { options, problems } = toInitializationOptions(
    reader({ backend: 'gpu', dimensions: -1, k: 2.5, exclude: 'vendor' }),
  );
  assert.deepEqual(options, {});
  assert.equal(problems.length, 4);
  assert.match(problems[0] ?? '', /codesearch\.backend = "gpu"/);
  assert.match(problems[2] ?? '', /codesearch\.k = 2\.5/);
});

test('dupesInEditor is sent as a boolean, anything else is refused', () => {
  assert.deepEqual(toInitializationOptions(reader({ dupesInEditor: false })), { options: { dupesInEditor: false }, problems: [] });
  const { options, problems } = toInitializationOptions(reader({ dupesInEditor: 'no' }));
  assert.deepEqual(options, {});
  assert.match(problems[0] ?? '', /codesearch\.dupesInEditor = "no" is not true or false/);
});

test('sameOptions ignores key order', () => {
  assert.ok(sameOptions({ k: 5, model: 'm' }, { model: 'm', k: 5 }));
  assert.ok(!sameOptions({ k: 5 }, { k: 6 }));
  assert.ok(!sameOptions({ k: 5 }, { k: 5, model: 'm' }));
});
