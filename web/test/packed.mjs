// The package as a user gets it: `npm pack` of web/ (the files package.json ships, dist/ included),
// installed into a fresh project in a temp folder outside the repository (offline: the package has
// no dependencies). Used by the tests that run the READMEs' snippets and the bundler recipes.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WEB_DIR } from './shared.mjs';

// Packs and installs; returns { dir: the project folder, remove() }.
export function installPacked(prefix = 'wisp-packed-') {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', timeout: 120000, stdio: ['ignore', 'pipe', 'pipe'] });
  const tarball = run('npm', ['pack', '--silent', '--pack-destination', root], WEB_DIR).trim().split('\n').at(-1);
  const dir = path.join(root, 'app');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "name": "app", "private": true, "type": "module" }\n');
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--silent', path.join(root, tarball)], dir);
  return { dir, remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}

// The first ```lang block after the first line that starts with `marker` (a heading, or a list
// item such as '* **Vite**'), with no heading between them; its common indentation removed (blocks
// in list items are indented).
export function codeBlockAfter(markdown, marker, lang) {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.startsWith(marker));
  if (start < 0) throw new Error(`no line starting with "${marker}"`);
  let open = -1;
  for (let i = start + 1; i < lines.length && open < 0; i++) {
    if (/^#{1,6} /.test(lines[i])) break;
    if (lines[i].trim() === '```' + lang) open = i;
  }
  const close = open < 0 ? -1 : lines.findIndex((l, i) => i > open && l.trim() === '```');
  if (close < 0) throw new Error(`no \`\`\`${lang} block after "${marker}"`);
  const body = lines.slice(open + 1, close);
  const indent = Math.min(...body.filter((l) => l.trim()).map((l) => l.match(/^ */)[0].length));
  return body.map((l) => l.slice(indent)).join('\n') + '\n';
}

// `text` with `from` replaced by `to`, which must occur exactly once (so a README that changes its
// placeholder fails the test instead of running something else).
export function replaceOnce(text, from, to) {
  return replaceEvery(text, from, to, 1);
}

// Replaces the `count` occurrences of `from` (a snippet that says it `count` times).
export function replaceEvery(text, from, to, count) {
  const parts = text.split(from);
  if (parts.length - 1 !== count) throw new Error(`"${from}" occurs ${parts.length - 1} times, expected ${count}`);
  return parts.join(to);
}
