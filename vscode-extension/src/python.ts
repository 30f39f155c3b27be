/**
 * Which Python runs the language server, and whether codesearch is installed for it.
 */

import { execFile } from 'node:child_process';
import * as vscode from 'vscode';
import { SECTION } from './settings';

/** The part of the Python extension's API (ms-python.python) this extension uses. */
interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { path: string };
    resolveEnvironment(env: { path: string } | string): Promise<{ executable: { uri: vscode.Uri | undefined } } | undefined>;
    onDidChangeActiveEnvironmentPath: vscode.Event<unknown>;
  };
}

export interface Interpreter {
  command: string;
  /** Where the choice came from, for the log and error messages. */
  source: 'setting codesearch.pythonPath' | 'Python extension' | 'default';
}

async function pythonExtensionApi(): Promise<PythonExtensionApi | undefined> {
  const extension = vscode.extensions.getExtension<PythonExtensionApi>('ms-python.python');
  if (extension === undefined) {
    return undefined;
  }
  try {
    return extension.isActive ? extension.exports : await extension.activate();
  } catch {
    return undefined;
  }
}

/** Expands `~` and `${workspaceFolder}` in a configured interpreter path. */
function expandPath(value: string): string {
  let out = value.trim();
  const home = process.env.HOME ?? process.env.USERPROFILE;
  if (home !== undefined && (out === '~' || out.startsWith('~/'))) {
    out = home + out.slice(1);
  }
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (folder !== undefined) {
    out = out.replace(/\$\{workspaceFolder\}/g, folder);
  }
  return out;
}

/** codesearch.pythonPath if set, else the Python extension's interpreter, else `python3`. */
export async function resolveInterpreter(): Promise<Interpreter> {
  const configured = vscode.workspace.getConfiguration(SECTION).get<string>('pythonPath', '');
  if (configured.trim() !== '') {
    return { command: expandPath(configured), source: 'setting codesearch.pythonPath' };
  }
  const api = await pythonExtensionApi();
  if (api?.environments !== undefined) {
    try {
      const resource = vscode.workspace.workspaceFolders?.[0]?.uri;
      const active = api.environments.getActiveEnvironmentPath(resource);
      const env = await api.environments.resolveEnvironment(active);
      const path = env?.executable.uri?.fsPath;
      if (path !== undefined && path !== '') {
        return { command: path, source: 'Python extension' };
      }
    } catch {
      // Fall through to the default: the Python extension is optional.
    }
  }
  return { command: process.platform === 'win32' ? 'python' : 'python3', source: 'default' };
}

/** Subscribes to interpreter changes in the Python extension, when it is installed. */
export async function onPythonInterpreterChanged(listener: () => void): Promise<vscode.Disposable | undefined> {
  const api = await pythonExtensionApi();
  return api?.environments?.onDidChangeActiveEnvironmentPath(() => listener());
}

export type ImportCheck = { ok: true } | { ok: false; reason: string };

/**
 * Runs `<python> -c "import codesearch_lsp.server"` (the server module, so its dependencies
 * too, ~0.5 s): a missing package gets a clear message instead of a crash loop.
 */
export function checkServerInstalled(python: string, cwd: string | undefined): Promise<ImportCheck> {
  return new Promise((resolve) => {
    execFile(
      python,
      ['-c', 'import codesearch_lsp.server'],
      { cwd, timeout: 30_000, windowsHide: true },
      (error, _stdout, stderr) => {
        if (error === null) {
          resolve({ ok: true });
          return;
        }
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          resolve({ ok: false, reason: `${python} was not found` });
        } else {
          const last = String(stderr).trim().split('\n').pop() ?? error.message;
          resolve({ ok: false, reason: last });
        }
      },
    );
  });
}
