/**
 * Starts, stops and restarts the codesearch language server (`python -m codesearch_lsp`, stdio).
 */

import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import * as vscode from 'vscode';
import {
  ExecuteCommandRequest,
  LanguageClient,
  State,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import {
  SEARCH_REQUEST,
  SERVER_REINDEX_COMMAND,
  STATUS_NOTIFICATION,
  STATUS_REQUEST,
  type FilesResponse,
  type SearchParams,
  type SearchResponse,
  type StatusReport,
} from './protocol';
import { checkServerInstalled, resolveInterpreter, type Interpreter } from './python';
import { stderrClassifier } from './serverlog';
import { SECTION, toInitializationOptions, type ServerSettingKey } from './settings';

export type ClientState = 'starting' | 'running' | 'stopped' | 'missing';

/** Reads a setting only when the user set it somewhere (so unset keys keep the server's defaults). */
/** Forwards a stream to the log line by line, at the level the server wrote (not all as errors). */
function pipeLines(input: Readable, log: vscode.LogOutputChannel): void {
  const classify = stderrClassifier();
  createInterface({ input, crlfDelay: Infinity, terminal: false }).on('line', (line: string) => {
    const { level, text } = classify(line);
    log[level](text);
  });
}

function readUserSetting(key: ServerSettingKey): unknown {
  const inspected = vscode.workspace.getConfiguration(SECTION).inspect(key);
  return inspected?.workspaceFolderValue ?? inspected?.workspaceValue ?? inspected?.globalValue;
}

export class CodesearchServer implements vscode.Disposable {
  private client: LanguageClient | undefined;
  /** Start/stop/restart run one at a time, in order. */
  private queue: Promise<void> = Promise.resolve();
  private readonly statusEmitter = new vscode.EventEmitter<StatusReport>();
  private readonly stateEmitter = new vscode.EventEmitter<ClientState>();
  private state: ClientState = 'stopped';

  /** The server's `codesearch/statusChanged` notifications (and the first `codesearch/status` answer). */
  readonly onStatus = this.statusEmitter.event;
  /** The extension's view of the client: starting, running, stopped, or codesearch missing. */
  readonly onState = this.stateEmitter.event;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  get clientState(): ClientState {
    return this.state;
  }

  start(): Promise<void> {
    return this.enqueue(() => this.doStart());
  }

  stop(): Promise<void> {
    return this.enqueue(() => this.doStop());
  }

  restart(): Promise<void> {
    return this.enqueue(async () => {
      await this.doStop();
      await this.doStart();
    });
  }

  /** Waits for queued start/restart work, then returns the running client, if any. */
  async ready(): Promise<LanguageClient | undefined> {
    await this.queue;
    return this.client?.state === State.Running ? this.client : undefined;
  }

  async search(params: SearchParams, token: vscode.CancellationToken): Promise<SearchResponse> {
    const client = await this.ready();
    if (client === undefined) {
      throw new Error(this.notRunningMessage());
    }
    return client.sendRequest<SearchResponse>(SEARCH_REQUEST, params, token);
  }

  /** The file-level ranking: each file with its best units. */
  async searchFiles(params: SearchParams, token: vscode.CancellationToken): Promise<FilesResponse> {
    const client = await this.ready();
    if (client === undefined) {
      throw new Error(this.notRunningMessage());
    }
    return client.sendRequest<FilesResponse>(SEARCH_REQUEST, { ...params, files: true }, token);
  }

  /** Asks the server to re-index one folder, or every folder when `folderUri` is undefined. */
  /** Returns false when the server says no re-index started (e.g. one is already running). */
  async reindex(folderUri?: string): Promise<boolean> {
    const client = await this.ready();
    if (client === undefined) {
      throw new Error(this.notRunningMessage());
    }
    const answer: unknown = await client.sendRequest(ExecuteCommandRequest.type, {
      command: SERVER_REINDEX_COMMAND,
      arguments: folderUri === undefined ? [] : [folderUri],
    });
    const started = (answer as { started?: unknown } | null)?.started;
    return started !== false;
  }

  dispose(): void {
    void this.stop();
    this.statusEmitter.dispose();
    this.stateEmitter.dispose();
  }

  private notRunningMessage(): string {
    return this.state === 'missing'
      ? 'codesearch is not installed for the configured Python (see the notification or Codesearch: Show Log)'
      : 'the codesearch language server is not running (Codesearch: Show Log has the details)';
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(work, work);
    this.queue = next.catch((error: unknown) => {
      this.log.error(`codesearch: ${String(error)}`);
    });
    return next;
  }

  private setState(state: ClientState): void {
    this.state = state;
    this.stateEmitter.fire(state);
  }

  private async doStart(): Promise<void> {
    if (this.client !== undefined) {
      return;
    }
    this.setState('starting');
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const python = await resolveInterpreter();
    this.log.info(`Python: ${python.command} (from ${python.source})`);
    const check = await checkServerInstalled(python.command, folder);
    if (!check.ok) {
      this.log.error(`cannot import codesearch_lsp with ${python.command}: ${check.reason}`);
      this.setState('missing');
      void this.notifyMissing(python, check.reason);
      return;
    }

    const { options, problems } = toInitializationOptions(readUserSetting);
    for (const problem of problems) {
      this.log.warn(problem);
      void vscode.window.showWarningMessage(`Codesearch: ${problem}`);
    }
    this.log.info(`initializationOptions: ${JSON.stringify(options)}`);

    const serverOptions: ServerOptions = {
      command: python.command,
      args: ['-m', 'codesearch_lsp'],
      options: folder === undefined ? {} : { cwd: folder },
    };
    const clientOptions: LanguageClientOptions = {
      // The server reads files from disk and keeps its index current itself; it asks only for
      // didSave (no open/change sync), to warn about the saved file's duplicated functions.
      documentSelector: [{ scheme: 'file' }],
      outputChannel: this.log,
      stdioOptions: { stdout: pipeLines, stderr: pipeLines },
      initializationOptions: options,
    };
    const client = new LanguageClient('codesearch', 'Codesearch', serverOptions, clientOptions);
    client.onDidChangeState((e) => {
      if (this.client !== client) {
        return;
      }
      if (e.newState === State.Running) {
        this.setState('running');
      } else if (e.newState === State.Stopped) {
        this.setState('stopped');
      }
    });
    client.onNotification(STATUS_NOTIFICATION, (report: StatusReport) => this.statusEmitter.fire(report));
    this.client = client;
    try {
      await client.start();
    } catch (error) {
      this.log.error(`the language server did not start: ${String(error)}`);
      this.client = undefined;
      this.setState('stopped');
      await client.dispose().catch(() => undefined);
      throw error;
    }
    this.setState('running');
    // Not awaited: a server that never answers must not block searches and restarts.
    // Params `{}`, not none: pygls 2 cannot read a custom request that has no params.
    client.sendRequest<StatusReport>(STATUS_REQUEST, {}).then(
      (report) => this.statusEmitter.fire(report),
      (error: unknown) => this.log.warn(`codesearch/status failed: ${String(error)}`),
    );
  }

  private async doStop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) {
      try {
        await client.dispose(5000);
      } catch (error) {
        this.log.warn(`stopping the language server: ${String(error)}`);
      }
    }
    this.setState('stopped');
  }

  private async notifyMissing(python: Interpreter, reason: string): Promise<void> {
    const openSettings = 'Open Settings';
    const showLog = 'Show Log';
    const choice = await vscode.window.showErrorMessage(
      `Codesearch is not installed for ${python.command} (${python.source}): ${reason}. ` +
        `Install it with \`${python.command} -m pip install codesearch\` (from a checkout: \`pip install -e <repo>\`), ` +
        'or set codesearch.pythonPath to a Python that has it; then run Codesearch: Restart Server.',
      openSettings,
      showLog,
    );
    if (choice === openSettings) {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'codesearch.pythonPath');
    } else if (choice === showLog) {
      this.log.show();
    }
  }
}
