// The app the bundler tests build (esbuild, Vite) and the plain page loads through an import map:
// it imports the package by name, as a user's app would. The modes come from ?modes=[...].
import { Wisp } from 'wisp-runtime';
import { runModes } from './run_case.mjs';

const modes = JSON.parse(new URLSearchParams(location.search).get('modes') ?? '[{"threads":1}]');
runModes(Wisp, modes).then((results) => {
  window.wispResults = results;
  document.getElementById('status').textContent = JSON.stringify(results.map((r) => r.error ?? r.variant.name));
});
