import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FileResult, SearchResult } from '../src/protocol';
import { PARTIAL_HINT, pickTitle, responseItems, responseNotes, snippetLine, toFileItem, toItem } from '../src/results';

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

function lines(start: number, end: number): SearchResult['range'] {
  return { start: { line: start, character: 0 }, end: { line: end, character: 0 } };
}

const file: FileResult = {
  uri: 'file:///ws/src/net/upload.py',
  path: 'src/net/upload.py',
  language: 'python',
  score: 2.06,
  hits: [hit, { ...hit, symbol: 'Uploader', kind: 'class', range: lines(9, 40) }],
};

test('a file becomes label=path, description=best unit and its line, and opens at the best unit', () => {
  const item = toFileItem(file);
  assert.equal(item.label, 'src/net/upload.py');
  assert.equal(item.description, 'Uploader.upload_with_retry · line 18 · +1 more');
  assert.ok(item.detail.startsWith('def upload_with_retry('), item.detail);
  assert.equal(item.alwaysShow, true);
  assert.equal(item.result, hit);
});

test('a file without units opens at its first line; a whole-file unit is not named twice', () => {
  const bare = toFileItem({ ...file, hits: [] });
  assert.equal(bare.description, 'line 1');
  assert.equal(bare.result.uri, file.uri);
  assert.equal(bare.result.range.start.line, 0);
  const whole = toFileItem({ ...file, hits: [{ ...hit, symbol: 'src/net/upload.py', kind: 'file', range: lines(0, 40) }] });
  assert.equal(whole.description, 'line 1');
});

test('either answer becomes items in the server order; the files title says files', () => {
  const second: FileResult = { ...file, uri: 'file:///ws/lib/lru.rs', path: 'lib/lru.rs', score: 0.3, hits: [] };
  const files = responseItems({ files: [file, second], partial: false });
  assert.deepEqual(files.map((i) => i.label), ['src/net/upload.py', 'lib/lru.rs']);
  assert.deepEqual(responseItems({ results: [hit], partial: false }).map((i) => i.label), ['Uploader.upload_with_retry']);
  assert.equal(pickTitle({ partial: false }, true), 'Codesearch: Find Files That…');
  assert.equal(pickTitle({ partial: true }, true), `Codesearch: Find Files That… (${PARTIAL_HINT})`);
});
