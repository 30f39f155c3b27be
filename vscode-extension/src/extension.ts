/**
 * Activation: the log, the language server, the status bar, the commands, and restarts when
 * settings (or the Python extension's interpreter) change.
 */

import * as vscode from 'vscode';
import { onPythonInterpreterChanged } from './python';
import { findCode } from './quickpick';
import { CodesearchServer } from './server';
import { SECTION } from './settings';
import { StatusBar } from './statusbar';

/** Kept for deactivate(), which must wait for the server to shut down. */
let activeServer: CodesearchServer | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Codesearch', { log: true });
  const server = new CodesearchServer(log);
  activeServer = server;
  context.subscriptions.push(log, server, new StatusBar(server));

  const reportFailure = (what: string) => (error: unknown) => {
    log.error(`${what}: ${String(error)}`);
    void vscode.window.showErrorMessage(`Codesearch: ${what}: ${error instanceof Error ? error.message : String(error)}`);
  };

  // Several settings saved at once (settings.json, a profile switch) make one restart.
  let restartTimer: ReturnType<typeof setTimeout> | undefined;
  const restartSoon = (why: string): void => {
    clearTimeout(restartTimer);
    restartTimer = setTimeout(() => {
      log.info(`${why}: restarting the language server`);
      void server.restart().catch(reportFailure('restart failed'));
    }, 300);
  };

  context.subscriptions.push(
    vscode.commands.registerCommand('codesearch.findCode', (query?: unknown) => {
      findCode(server, log, typeof query === 'string' ? query : '');
    }),
    vscode.commands.registerCommand('codesearch.findFiles', (query?: unknown) => {
      findCode(server, log, typeof query === 'string' ? query : '', true);
    }),
    vscode.commands.registerCommand('codesearch.reindexWorkspace', async () => {
      await server.reindex().then((started) => {
        log.info(started ? 're-index started' : 're-index not started: one is already running');
        vscode.window.setStatusBarMessage(
          started ? 'Codesearch: re-indexing the workspace' : 'Codesearch: already indexing',
          3000,
        );
      }, reportFailure('re-index failed'));
    }),
    vscode.commands.registerCommand('codesearch.restartServer', async () => {
      log.info('restarting the language server');
      await server.restart().catch(reportFailure('restart failed'));
    }),
    vscode.commands.registerCommand('codesearch.showLog', () => log.show()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(SECTION)) {
        restartSoon('settings changed');
      }
    }),
    { dispose: () => clearTimeout(restartTimer) },
    vscode.workspace.onDidChangeWorkspaceFolders(() => {
      // The client forwards folder changes to a running server; a window that had none needs a start.
      if (server.clientState === 'stopped' && (vscode.workspace.workspaceFolders?.length ?? 0) > 0) {
        void server.start().catch(reportFailure('start failed'));
      }
    }),
  );

  if ((vscode.workspace.workspaceFolders?.length ?? 0) > 0) {
    void server.start().catch(reportFailure('the language server did not start'));
  } else {
    log.info('no workspace folder open: the language server starts when one is added');
  }

  // Not awaited: activating the Python extension can take a while.
  void onPythonInterpreterChanged(() => {
    if (vscode.workspace.getConfiguration(SECTION).get<string>('pythonPath', '').trim() === '') {
      restartSoon('Python interpreter changed');
    }
  }).then((subscription) => {
    if (subscription !== undefined) {
      context.subscriptions.push(subscription);
    }
  });
}

export function deactivate(): Promise<void> | undefined {
  const server = activeServer;
  activeServer = undefined;
  return server?.stop();
}
