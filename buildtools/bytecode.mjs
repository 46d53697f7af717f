// Boot the Pyodide being shipped under Node.js with some packages, mount the work folder at
// /work and run a Python script there (bytecode_pyodide.py or imports_pyodide.py). Run by
// bytecode.py:
//   node bytecode.mjs PYODIDE_DIR WORK_DIR SCRIPT [PACKAGE ...]
// A PACKAGE is a name from the Pyodide's lock (numpy) or a wheel's path (zcgpt), as the page
// hands them to Pyodide's start-up.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const [pyodideDir, work, script, ...packages] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(`${pyodideDir}/pyodide.mjs`).href);
const py = await loadPyodide({ indexURL: `${pyodideDir}/`, packages });
py.FS.mkdirTree('/work');
py.FS.mount(py.FS.filesystems.NODEFS, { root: work }, '/work');
py.runPython(readFileSync(script, 'utf8'));
