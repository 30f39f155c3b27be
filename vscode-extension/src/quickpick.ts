/**
 * "Codesearch: Find Code That…": a QuickPick whose items come from `codesearch/search`; a
 * button (and "Codesearch: Find Files That…") switches it to the file-level ranking.
 */

import * as vscode from 'vscode';
import type { FilesResponse, SearchResponse, SearchResult } from './protocol';
import { pickTitle, responseItems, type ResultItem } from './results';
import { SearchSession } from './search-session';
import type { CodesearchServer } from './server';

const DEBOUNCE_MS = 150;
/** While the index is partial, ask again this often so new files show up without retyping. */
const PARTIAL_REFRESH_MS = 3000;

type PickItem = vscode.QuickPickItem & { result?: SearchResult };

/** Identifies a result's location across result lists. */
function resultKey(result: SearchResult | undefined): string | undefined {
  return result === undefined ? undefined : `${result.uri}#${result.range.start.line}:${result.range.start.character}`;
}

function toRange(result: SearchResult): vscode.Range {
  const { start, end } = result.range;
  return new vscode.Range(start.line, start.character, end.line, end.character);
}

async function show(document: vscode.TextDocument, result: SearchResult, preview: boolean): Promise<void> {
  const range = toRange(result);
  const editor = await vscode.window.showTextDocument(document, {
    preview,
    preserveFocus: preview,
    // Cursor at the start of the unit; the whole unit scrolled into view.
    selection: new vscode.Range(range.start, range.start),
  });
  editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
}

/**
 * Opens results in the order the user asked for them. Loading a file takes a variable time,
 * so a preview whose file loads after a newer preview, the Enter, or the Escape was asked
 * for is dropped instead of landing on top of it.
 */
class ResultOpener {
  private seq = 0;
  /** True once a preview was shown: Escape then goes back to the original editor. */
  previewed = false;

  async preview(result: SearchResult): Promise<void> {
    const seq = ++this.seq;
    const document = await vscode.workspace.openTextDocument(vscode.Uri.parse(result.uri));
    if (seq === this.seq) {
      this.previewed = true;
      await show(document, result, true);
    }
  }

  async open(result: SearchResult): Promise<void> {
    this.seq++;
    await show(await vscode.workspace.openTextDocument(vscode.Uri.parse(result.uri)), result, false);
  }

  /** Drops previews still loading (the QuickPick closed). */
  cancel(): void {
    this.seq++;
  }
}

/**
 * With a filter value, VS Code moves items whose label fuzzy-matches it to the top, which
 * would re-rank semantic hits for one-word queries ("upload"). `sortByLabel` turns that off;
 * it is not in the stable API typings (1.91-1.140) but VS Code 1.139 honours it without a
 * proposal check, as its own quick-access pickers do. Older hosts may reject it: ignored.
 */
function keepServerOrder(pick: vscode.QuickPick<PickItem>): void {
  try {
    (pick as { sortByLabel?: boolean }).sortByLabel = false;
  } catch {
    // Not available in this VS Code: items keep alwaysShow, only their order may change.
  }
}

function itemsFor(response: SearchResponse | FilesResponse): PickItem[] {
  const results: ResultItem[] = responseItems(response);
  const items: PickItem[] = [];
  if (results.length === 0) {
    items.push({ label: '$(info) No results', alwaysShow: true, description: 'try other words' });
  }
  items.push(...results);
  return items;
}

/** The title-bar button that switches between units and files. */
function modeButton(files: boolean): vscode.QuickInputButton {
  return files
    ? { iconPath: new vscode.ThemeIcon('symbol-method'), tooltip: 'Show functions and classes instead of files' }
    : { iconPath: new vscode.ThemeIcon('files'), tooltip: 'Show files instead of functions and classes' };
}

/**
 * Shows the Find Code QuickPick until the user picks a result or dismisses it; `files` starts
 * it on the file-level ranking (a file opens at its best unit).
 */
export function findCode(
  server: CodesearchServer,
  log: vscode.LogOutputChannel,
  initialQuery = '',
  files = false,
): void {
  const pick = vscode.window.createQuickPick<PickItem>();
  pick.title = pickTitle(undefined, files);
  pick.buttons = [modeButton(files)];
  pick.placeholder = 'Describe what the code does, e.g. "retry a failed upload with backoff"';
  // Results are semantic: VS Code must neither hide nor re-rank them by its own fuzzy match.
  pick.matchOnDescription = false;
  pick.matchOnDetail = false;
  keepServerOrder(pick);
  pick.ignoreFocusOut = false;

  const original = vscode.window.activeTextEditor;
  const originalSelection = original?.selection;
  const opener = new ResultOpener();
  let previewedKey: string | undefined;
  let shownQuery: string | undefined;
  let lastPartial = false;
  /** The user moved off the first result: a refresh of the same query keeps their item. */
  let userMoved = false;
  let accepted = false;
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;

  const session = new SearchSession<SearchResponse | FilesResponse>({
    delayMs: DEBOUNCE_MS,
    newCancellable: () => new vscode.CancellationTokenSource(),
    search: (query, signal) => {
      const token = (signal as vscode.CancellationTokenSource).token;
      return files ? server.searchFiles({ query }, token) : server.search({ query }, token);
    },
    onBusy: (busy) => {
      pick.busy = busy;
    },
    onEmpty: () => {
      pick.items = [];
      pick.title = pickTitle(undefined, files);
    },
    onResult: (query, response, elapsedMs) => {
      const count = 'files' in response ? `${response.files.length} files` : `${response.results.length} results`;
      log.debug(`search ${JSON.stringify(query)}: ${count} in ${elapsedMs} ms` + (response.partial ? ' (partial)' : ''));
      const sameQuery = query === shownQuery;
      const activeKey = sameQuery && userMoved ? resultKey(pick.activeItems[0]?.result) : undefined;
      userMoved = activeKey !== undefined;
      shownQuery = query;
      lastPartial = response.partial;
      pick.title = pickTitle(response, files);
      // A refresh of the same query (partial index) keeps the user's place in the list.
      pick.keepScrollPosition = sameQuery;
      const items = itemsFor(response);
      pick.items = items;
      const keep = activeKey === undefined ? undefined : items.find((i) => resultKey(i.result) === activeKey);
      if (keep !== undefined) {
        pick.activeItems = [keep];
      }
      if (refreshTimer !== undefined) {
        clearTimeout(refreshTimer);
        refreshTimer = undefined;
      }
      if (response.partial) {
        refreshTimer = setTimeout(() => session.refresh(pick.value), PARTIAL_REFRESH_MS);
      }
    },
    onError: (query, error) => {
      log.error(`search ${JSON.stringify(query)} failed: ${String(error)}`);
      pick.items = [{ label: `$(error) ${error instanceof Error ? error.message : String(error)}`, alwaysShow: true }];
    },
  });

  // Indexing finished while the shown answer was partial: ask again now, not at the next tick.
  const statusSubscription = server.onStatus((report) => {
    if (lastPartial && !report.partial && pick.value.trim() !== '') {
      lastPartial = false;
      session.refresh(pick.value);
    }
  });

  pick.onDidChangeValue((value) => session.update(value));
  pick.onDidTriggerButton(() => {
    files = !files;
    pick.buttons = [modeButton(files)];
    pick.title = pickTitle(undefined, files);
    shownQuery = undefined; // the other list: neither scroll position nor active item carry over
    userMoved = false;
    session.refresh(pick.value);
  });
  pick.onDidChangeActive((active) => {
    const result = active[0]?.result;
    if (result === undefined || accepted) {
      return;
    }
    const firstResult = pick.items.find((i) => i.result !== undefined)?.result;
    userMoved = resultKey(result) !== resultKey(firstResult);
    if (resultKey(result) !== previewedKey) {
      previewedKey = resultKey(result);
      opener.preview(result).catch((error: unknown) => log.warn(`preview failed: ${String(error)}`));
    }
  });
  pick.onDidAccept(() => {
    const result = pick.selectedItems[0]?.result ?? pick.activeItems[0]?.result;
    if (result === undefined) {
      return;
    }
    accepted = true;
    pick.hide();
    opener.open(result).catch((error: unknown) => {
      void vscode.window.showErrorMessage(`Codesearch: cannot open ${result.path}: ${String(error)}`);
    });
  });
  pick.onDidHide(() => {
    session.dispose();
    statusSubscription.dispose();
    if (refreshTimer !== undefined) {
      clearTimeout(refreshTimer);
    }
    pick.dispose();
    if (accepted) {
      return;
    }
    opener.cancel();
    // Escape after browsing: go back where the user was, as VS Code's own pickers do.
    if (opener.previewed && original !== undefined) {
      void vscode.window.showTextDocument(original.document, {
        viewColumn: original.viewColumn ?? vscode.ViewColumn.Active,
        ...(originalSelection === undefined ? {} : { selection: originalSelection }),
      });
    }
  });

  pick.show();
  if (initialQuery !== '') {
    pick.value = initialQuery;
    session.update(initialQuery);
  }
}
