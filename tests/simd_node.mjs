// Serve tests/test_simd.py's requests from the shipped Pyodide under Node.js, one JSON line in,
// one JSON line out, so Hypothesis can try many cases on one Pyodide:
//   node simd_node.mjs PYODIDE_DIR WHEEL KERNEL_WASM SCRIPT
// Pyodide boots with numpy and the zcgpt wheel as the page installs them; the kernel is put
// where the page's config puts it (gemm.wasm in the working folder); SCRIPT defines serve(line).
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const [pyodideDir, wheel, kernel, script] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(`${pyodideDir}/pyodide.mjs`).href);
const py = await loadPyodide({ indexURL: `${pyodideDir}/`, packages: ['numpy', wheel] });
if (kernel !== '-') py.FS.writeFile('gemm.wasm', readFileSync(kernel));
py.runPython(readFileSync(script, 'utf8'));
const serve = py.globals.get('serve');
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  process.stdout.write(serve(line) + '\n');
}
