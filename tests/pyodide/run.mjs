// Run pytest inside Pyodide in node, with the site's interpreter and wheels and the repository's tests.
//
//   node --experimental-wasm-stack-switching tests/pyodide/run.mjs SITE_PYODIDE_DIR TEST_WHEELS_DIR REPO [PYTEST_ARGS...]
//
// Pyodide and the kit's wheel come from the built site (build/lite/static/pyodide), pytest and
// hypothesis from TEST_WHEELS_DIR. The repository is mounted at /repo (node's file system); the
// run works in /tmp/kit-run (Pyodide's memory file system); tests/pyodide/runner.py says which
// tests run. The exit code is pytest's. Stack switching lets asyncio's run_until_complete work.
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [siteDir, wheelsDir, repo, ...pytestArgs] = process.argv.slice(2);
if (!siteDir || !wheelsDir || !repo) {
  console.error("usage: node run.mjs SITE_PYODIDE_DIR TEST_WHEELS_DIR REPO [PYTEST_ARGS...]");
  process.exit(2);
}
const indexURL = resolve(siteDir) + "/";
const { loadPyodide } = await import(pathToFileURL(join(indexURL, "pyodide.mjs")).href);
const pyodide = await loadPyodide({ indexURL, env: { HOME: "/home/pyodide", PYTHONHASHSEED: "0" } });
const testWheels = readdirSync(wheelsDir).filter((n) => n.endsWith(".whl")).map((n) => join(resolve(wheelsDir), n));
await pyodide.loadPackage(["faircom-permanent-session-kit", ...testWheels], { messageCallback: () => {} });
pyodide.FS.mkdirTree("/repo");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: resolve(repo) }, "/repo");
pyodide.globals.set("pytest_args", pyodide.toPy(pytestArgs));
const code = await pyodide.runPythonAsync(`
import os, sys
os.makedirs("/tmp/kit-run", exist_ok=True)
os.chdir("/tmp/kit-run")
sys.path[:0] = ["/repo/tests", "/repo/tests/pyodide"]
import runner
runner.main(list(pytest_args))
`);
process.exit(code);
