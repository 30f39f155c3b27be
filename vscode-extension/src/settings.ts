/**
 * Extension settings -> the server's initializationOptions.
 *
 * Only keys the user actually set are sent, so the server's own configuration files and
 * defaults apply to the rest. Pure: the caller passes a reader over VS Code's configuration.
 */

export const SECTION = 'codesearch';

/** Settings that are forwarded to the server, in the server's camelCase spelling. */
export const SERVER_SETTING_KEYS = ['backend', 'embedUrl', 'model', 'dimensions', 'k', 'exclude', 'dupesInEditor'] as const;
export type ServerSettingKey = (typeof SERVER_SETTING_KEYS)[number];

/** What the extension sends as initializationOptions. */
export interface InitializationOptions {
  backend?: 'local' | 'sglang';
  embedUrl?: string;
  model?: string;
  dimensions?: number;
  k?: number;
  exclude?: string[];
  dupesInEditor?: boolean;
}

/** Returns the value the user set for `codesearch.<key>` (any scope), or undefined when unset. */
export type SettingReader = (key: ServerSettingKey) => unknown;

export interface ResolvedOptions {
  options: InitializationOptions;
  /** One line per setting that was set but invalid, and therefore left out. */
  problems: string[];
}

const BACKENDS = new Set(['local', 'sglang']);

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/** Validates the user's settings and keeps the ones to send. */
export function toInitializationOptions(read: SettingReader): ResolvedOptions {
  const options: InitializationOptions = {};
  const problems: string[] = [];
  const bad = (key: ServerSettingKey, value: unknown, want: string): void => {
    problems.push(`codesearch.${key} = ${JSON.stringify(value)} is not ${want}; using the server's default`);
  };

  const backend = read('backend');
  if (backend !== undefined) {
    if (typeof backend === 'string' && BACKENDS.has(backend)) {
      options.backend = backend as 'local' | 'sglang';
    } else {
      bad('backend', backend, '"local" or "sglang"');
    }
  }
  for (const key of ['embedUrl', 'model'] as const) {
    const value = read(key);
    if (value === undefined || value === '') {
      continue;
    }
    if (typeof value === 'string') {
      options[key] = value.trim();
    } else {
      bad(key, value, 'a string');
    }
  }
  const dimensions = read('dimensions');
  if (dimensions !== undefined) {
    if (isNonNegativeInteger(dimensions)) {
      options.dimensions = dimensions;
    } else {
      bad('dimensions', dimensions, 'an integer >= 0');
    }
  }
  const k = read('k');
  if (k !== undefined) {
    if (isNonNegativeInteger(k) && k >= 1) {
      options.k = k;
    } else {
      bad('k', k, 'an integer >= 1');
    }
  }
  const exclude = read('exclude');
  if (exclude !== undefined) {
    if (Array.isArray(exclude) && exclude.every((p) => typeof p === 'string')) {
      options.exclude = exclude.filter((p) => p.trim() !== '');
    } else {
      bad('exclude', exclude, 'a list of strings');
    }
  }
  const dupes = read('dupesInEditor');
  if (dupes !== undefined) {
    if (typeof dupes === 'boolean') {
      options.dupesInEditor = dupes;
    } else {
      bad('dupesInEditor', dupes, 'true or false');
    }
  }
  return { options, problems };
}

/** True when two option sets would start the same server (so no restart is needed). */
export function sameOptions(a: InitializationOptions, b: InitializationOptions): boolean {
  return JSON.stringify(a, Object.keys(a).sort()) === JSON.stringify(b, Object.keys(b).sort());
}
