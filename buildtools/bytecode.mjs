// Boot the Pyodide being shipped under Node.js, mount the work folder at /work and run the
// compiling script (bytecode_pyodide.py) there. Run by bytecode.py:
//   node bytecode.mjs PYODIDE_DIR WORK_DIR SCRIPT
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const [pyodideDir, work, script] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(`${pyodideDir}/pyodide.mjs`).href);
const py = await loadPyodide({ indexURL: `${pyodideDir}/`, packages: ['numpy'] });
py.FS.mkdirTree('/work');
py.FS.mount(py.FS.filesystems.NODEFS, { root: work }, '/work');
py.runPython(readFileSync(script, 'utf8'));
