import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SearchResult } from '../src/protocol';
import { PARTIAL_HINT, pickTitle, responseNotes, snippetLine, toItem } from '../src/results';

const hit: SearchResult = {
  uri: 'file:///ws/src/net/upload.py',
  range: { start: { line: 17, character: 4 }, end: { line: 37, character: 0 } },
  symbol: 'Uploader.upload_with_retry',
  kind: 'method',
  language: 'python',
  score: 0.83,
  snippet: 'def upload_with_retry(self, path, attempts=5, base_delay=0.5):\n        """Upload a file, retrying failed attempts with exponential backoff."""',
  path: 'src/net/upload.py',
};

test('a result becomes label=symbol, description=path:line (1-based), detail=snippet, alwaysShow', () => {
  const item = toItem(hit);
  assert.equal(item.label, 'Uploader.upload_with_retry');
  assert.equal(item.description, 'src/net/upload.py:18');
  assert.equal(
    item.detail,
    'def upload_with_retry(self, path, attempts=5, base_delay=0.5): """Upload a file, retrying failed attempts with exponential backoff."""',
  );
  assert.equal(item.alwaysShow, true);
  assert.equal(item.result, hit);
});

test('a whole-file unit without a symbol is labelled with its file name', () => {
  assert.equal(toItem({ ...hit, symbol: '', kind: 'file' }).label, 'upload.py');
});

test('long snippets are cut at a word with an ellipsis', () => {
  const line = snippetLine('word '.repeat(100), 40);
  assert.ok(line.length <= 40, line);
  assert.ok(line.endsWith('word…'), line);
});

test('partial results and warnings become notes and a title suffix', () => {
  assert.deepEqual(responseNotes({ partial: false }), []);
  assert.deepEqual(responseNotes({ partial: true, warning: 'embedding server down: lexical results only' }), [
    PARTIAL_HINT,
    'embedding server down: lexical results only',
  ]);
  assert.equal(pickTitle({ partial: false }), 'Codesearch: Find Code That…');
  assert.equal(pickTitle({ partial: true }), `Codesearch: Find Code That… (${PARTIAL_HINT})`);
});
