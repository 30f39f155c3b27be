/**
 * The codesearch language server's custom messages (issue 6), as the extension sees them.
 *
 * Plain types only: no `vscode` import, so the pure modules and their tests can use them.
 */

export const SEARCH_REQUEST = 'codesearch/search';
export const STATUS_REQUEST = 'codesearch/status';
export const STATUS_NOTIFICATION = 'codesearch/statusChanged';
/** Server-advertised command (workspace/executeCommand); the client registers it as a VS Code command. */
export const SERVER_REINDEX_COMMAND = 'codesearch.reindex';

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export interface SearchFilters {
  languages?: string[];
  paths?: string[];
  kinds?: string[];
}

export interface SearchParams {
  query: string;
  k?: number;
  filters?: SearchFilters;
  /** Rank files (each with its best units) instead of units: the answer is a FilesResponse. */
  files?: boolean;
}

export interface SearchResult {
  uri: string;
  /** LSP range, 0-based. */
  range: Range;
  symbol: string;
  kind: string;
  language: string;
  score: number;
  snippet: string;
  /** Path relative to its workspace folder. */
  path: string;
}

export interface SearchResponse {
  results: SearchResult[];
  /** True while indexing has not finished: results may be missing files. */
  partial: boolean;
  /** E.g. the embedding server is down and results are lexical only. */
  warning?: string;
}

/** A file of a `files: true` search: its path, score and best units (at most 3, best first). */
export interface FileResult {
  uri: string;
  /** Path relative to its workspace folder. */
  path: string;
  language: string;
  score: number;
  hits: SearchResult[];
}

export interface FilesResponse {
  files: FileResult[];
  partial: boolean;
  warning?: string;
}

export type ServerState = 'starting' | 'indexing' | 'ready' | 'error';

export interface FolderStatus {
  uri: string;
  state: string;
  files: number;
  units: number;
  message?: string | null;
  done?: number | null;
  total?: number | null;
}

export interface StatusReport {
  state: ServerState;
  partial: boolean;
  folders: FolderStatus[];
}
