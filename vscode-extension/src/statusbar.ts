/**
 * The status-bar item: indexing progress and server state, from `codesearch/statusChanged`.
 */

import * as vscode from 'vscode';
import type { StatusReport } from './protocol';
import type { ClientState, CodesearchServer } from './server';
import { describeClientState, describeStatus, type StatusView } from './status';

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('codesearch.status', vscode.StatusBarAlignment.Left, 0);
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(server: CodesearchServer) {
    this.item.name = 'Codesearch';
    this.subscriptions.push(
      server.onStatus((report: StatusReport) => this.show(describeStatus(report), 'codesearch.findCode')),
      server.onState((state: ClientState) => {
        if (state === 'starting' || state === 'stopped' || state === 'missing') {
          this.show(describeClientState(state), state === 'starting' ? undefined : 'codesearch.showLog');
        }
      }),
    );
    this.show(describeClientState('starting'), undefined);
  }

  private show(view: StatusView, command: string | undefined): void {
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.backgroundColor = view.error ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    this.item.command = command;
    this.item.show();
  }

  dispose(): void {
    for (const s of this.subscriptions) {
      s.dispose();
    }
    this.item.dispose();
  }
}
