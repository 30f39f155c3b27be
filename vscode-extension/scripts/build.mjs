// Bundles the extension into out/extension.js (vscode stays external: VS Code provides it).
import { build } from 'esbuild';

const production = !process.argv.includes('--dev');

await build({
  entryPoints: ['src/extension.ts'],
  bundle: true,
  outfile: 'out/extension.js',
  external: ['vscode'],
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  sourcemap: !production,
  minify: production,
  logLevel: 'info',
});
