/**
 * Search results -> what the Find Code QuickPick shows. Pure: no `vscode` import.
 */

import type { FileResult, FilesResponse, SearchResponse, SearchResult } from './protocol';

/** The fields of a vscode.QuickPickItem this module decides. */
export interface ResultItem {
  label: string;
  description: string;
  detail: string;
  /** VS Code's own fuzzy filter must never hide a semantic hit. */
  alwaysShow: true;
  result: SearchResult;
}

const SNIPPET_CHARS = 160;

/** One line of the snippet for the QuickPick's detail row: whitespace collapsed, cut at a word. */
export function snippetLine(snippet: string, max = SNIPPET_CHARS): string {
  const line = snippet.replace(/\s+/g, ' ').trim();
  if (line.length <= max) {
    return line;
  }
  const cut = line.lastIndexOf(' ', max - 1);
  return `${line.slice(0, cut > max / 2 ? cut : max - 1)}…`;
}

/** `path:line` with the 1-based line people read in editors. */
export function location(result: SearchResult): string {
  return `${result.path}:${result.range.start.line + 1}`;
}

/** Label = symbol (the file name for whole-file units), description = path:line, detail = snippet. */
export function toItem(result: SearchResult): ResultItem {
  const label = result.symbol.trim() !== '' ? result.symbol : (result.path.split('/').pop() ?? result.path);
  return {
    label,
    description: location(result),
    detail: snippetLine(result.snippet),
    alwaysShow: true,
    result,
  };
}

/**
 * A file of the file-level ranking: label = path, description = its best unit and line,
 * detail = that unit's snippet. Its `result` is the best unit, so opening the item lands there.
 */
export function toFileItem(file: FileResult): ResultItem {
  const best: SearchResult = file.hits[0] ?? {
    uri: file.uri,
    range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
    symbol: '',
    kind: 'file',
    language: file.language,
    score: file.score,
    snippet: '',
    path: file.path,
  };
  const parts = best.symbol.trim() !== '' && best.symbol !== file.path ? [best.symbol] : [];
  parts.push(`line ${best.range.start.line + 1}`);
  if (file.hits.length > 1) {
    parts.push(`+${file.hits.length - 1} more`);
  }
  return {
    label: file.path,
    description: parts.join(' · '),
    detail: snippetLine(best.snippet),
    alwaysShow: true,
    result: best,
  };
}

/** The items of either kind of answer, in the server's order. */
export function responseItems(response: SearchResponse | FilesResponse): ResultItem[] {
  return 'files' in response ? response.files.map(toFileItem) : response.results.map(toItem);
}

export const PARTIAL_HINT = 'still indexing: results partial';

/** Lines shown above the results (as a separator) for a response, empty when there is nothing to say. */
export function responseNotes(response: Pick<SearchResponse, 'partial' | 'warning'>): string[] {
  const notes: string[] = [];
  if (response.partial) {
    notes.push(PARTIAL_HINT);
  }
  if (response.warning !== undefined && response.warning !== null && response.warning.trim() !== '') {
    notes.push(response.warning.trim());
  }
  return notes;
}

/** The QuickPick title for a response: the command name (files or code), plus any notes. */
export function pickTitle(response: Pick<SearchResponse, 'partial' | 'warning'> | undefined, files = false): string {
  const base = files ? 'Codesearch: Find Files That…' : 'Codesearch: Find Code That…';
  const notes = response === undefined ? [] : responseNotes(response);
  return notes.length === 0 ? base : `${base} (${notes.join('; ')})`;
}
