/**
 * Server status -> the status-bar item's text and tooltip. Pure: no `vscode` import.
 */

import type { StatusReport } from './protocol';

export interface StatusView {
  /** Status-bar text; `$(name)` is a codicon. */
  text: string;
  tooltip: string;
  error: boolean;
}

function folderName(uri: string): string {
  const trimmed = uri.replace(/\/+$/, '');
  return decodeURIComponent(trimmed.slice(trimmed.lastIndexOf('/') + 1));
}

function progress(done: number | null | undefined, total: number | null | undefined): string {
  if (typeof done === 'number' && typeof total === 'number' && total > 0) {
    return ` ${Math.min(100, Math.floor((100 * done) / total))}%`;
  }
  return '';
}

/** What the status-bar item shows for a status report from the server. */
export function describeStatus(report: StatusReport): StatusView {
  const lines = report.folders.map((f) => {
    const counts = `${f.files} files, ${f.units} units`;
    const extra = f.message !== undefined && f.message !== null && f.message !== '' ? ` — ${f.message}` : '';
    return `${folderName(f.uri)}: ${f.state}${progress(f.done, f.total)} (${counts})${extra}`;
  });
  const tooltip = ['Codesearch', ...lines, '', 'Click: Find Code That…'].join('\n');
  switch (report.state) {
    case 'starting':
      return { text: '$(loading~spin) codesearch', tooltip: `Codesearch: starting\n${tooltip}`, error: false };
    case 'indexing': {
      let done = 0;
      let total = 0;
      for (const f of report.folders) {
        if (typeof f.done === 'number' && typeof f.total === 'number') {
          done += f.done;
          total += f.total;
        }
      }
      return { text: `$(sync~spin) codesearch${progress(done, total)}`, tooltip, error: false };
    }
    case 'ready':
      return { text: '$(search) codesearch', tooltip, error: false };
    case 'error':
      return { text: '$(error) codesearch', tooltip, error: true };
    default:
      return { text: `$(question) codesearch`, tooltip, error: false };
  }
}

/** Status-bar view for the extension's own states, before or without a server. */
export function describeClientState(state: 'starting' | 'stopped' | 'missing'): StatusView {
  switch (state) {
    case 'starting':
      return { text: '$(loading~spin) codesearch', tooltip: 'Codesearch: starting the language server', error: false };
    case 'stopped':
      return { text: '$(debug-stop) codesearch', tooltip: 'Codesearch: the language server is not running (click for the log)', error: true };
    case 'missing':
      return { text: '$(warning) codesearch', tooltip: 'Codesearch: codesearch is not installed for the configured Python (click for the log)', error: true };
  }
}
