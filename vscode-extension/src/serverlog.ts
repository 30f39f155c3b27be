/**
 * The server's stderr -> log levels. `codesearch-lsp` writes `codesearch-lsp LEVEL message`;
 * lines without that prefix (traceback lines) keep the level of the line before.
 * Pure: no `vscode` import.
 */

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

const LEVELS: Record<string, LogLevel> = {
  DEBUG: 'debug',
  INFO: 'info',
  WARNING: 'warn',
  ERROR: 'error',
  CRITICAL: 'error',
};

const PREFIX = /^codesearch-lsp (DEBUG|INFO|WARNING|ERROR|CRITICAL) /;

/** Returns a classifier that remembers the last level, for continuation lines. */
export function stderrClassifier(initial: LogLevel = 'info'): (line: string) => { level: LogLevel; text: string } {
  let last = initial;
  return (line) => {
    const match = PREFIX.exec(line);
    if (match !== null) {
      last = LEVELS[match[1] ?? 'INFO'] ?? 'info';
      return { level: last, text: line.slice(match[0].length) };
    }
    return { level: last, text: line };
  };
}
