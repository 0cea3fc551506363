// node compile-stdlib.mjs PACKAGE_DIR OUT.zip — the vendored
// python_stdlib.zip: the npm package's (PACKAGE_DIR/python_stdlib.zip,
// whose modules are source only) with, beside each module that Pyodide
// imports as it starts and each module that the page's Python imports as
// it installs sockplay's shim or that socket programs commonly import
// (ROOTS, and what they import in turn), its bytecode (.pyc) compiled by
// the package's own CPython.
//
// Why: zipimport compiles a module from source at every import, and a
// fresh boot imports a hundred of them: the parser and compiler were more
// than half of a cold start's CPU in the page's worker, and the wasm tier-up
// of their code most of the rest. A .pyc is only unmarshalled.
//
// The .pyc files are unchecked hash-based ones (PEP 552): imported without
// reading the source. Each keeps the path zipimport gives a module compiled
// from the archive (/lib/python3XY.zip/NAME.py), so tracebacks name the
// same file and linecache reads the lines from the .py beside it. Output
// is reproducible: the same package gives the same bytes.

import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [pkg, out] = process.argv.slice(2);
if (!pkg || !out) {
  console.error("usage: node compile-stdlib.mjs PACKAGE_DIR OUT.zip");
  process.exit(2);
}
const dir = path.resolve(pkg) + "/";
const { loadPyodide } = await import(pathToFileURL(dir + "pyodide.mjs").href);
const py = await loadPyodide({ indexURL: dir, stdout: () => {}, stderr: (s) => console.error(s) });
py.FS.writeFile("/tmp/stdlib-in.zip", fs.readFileSync(dir + "python_stdlib.zip"));

// ROOTS: what the page's Python imports once started (sockplay's shim,
// static/py/lib, and the modules it imports again after putting its own
// socket, select and threads in place), and what socket programs and the
// examples commonly import. Whatever they import is compiled too.
const ROOTS = [
  "asyncio", "base64", "code", "codeop", "http.client", "http.server", "importlib.util", "ipaddress",
  "json", "linecache", "logging", "queue", "selectors", "socket", "socketserver", "struct",
  "threading", "traceback", "urllib.parse", "urllib.request", "argparse", "datetime", "random",
];

const summary = py.runPython(`
import importlib, sys, zipfile
from importlib._bootstrap_external import _code_to_hash_pyc
from importlib.util import source_hash

archive = "/lib/python%d%d.zip" % sys.version_info[:2]
for name in ${JSON.stringify(ROOTS)}:
    importlib.import_module(name)
wanted = set()
for m in list(sys.modules.values()):
    origin = getattr(getattr(m, "__spec__", None), "origin", None) or ""
    if origin.startswith(archive + "/") and origin.endswith(".py"):
        wanted.add(origin[len(archive) + 1:])

src = zipfile.ZipFile("/tmp/stdlib-in.zip")
dst = zipfile.ZipFile("/tmp/stdlib-out.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=9)
compiled = 0
for info in src.infolist():
    data = src.read(info)
    dst.writestr(info, data, compress_type=info.compress_type, compresslevel=9)
    if info.filename not in wanted:
        continue
    # As zipimport compiles a module found as source in the archive.
    code = compile(data.replace(b"\\r\\n", b"\\n").replace(b"\\r", b"\\n"), archive + "/" + info.filename, "exec", dont_inherit=True)
    pyc = zipfile.ZipInfo(info.filename + "c", date_time=info.date_time)
    pyc.external_attr = info.external_attr
    dst.writestr(pyc, bytes(_code_to_hash_pyc(code, source_hash(data), checked=False)), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    compiled += 1
dst.close()
missing = sorted(wanted - {i.filename for i in src.infolist()})
if missing:
    raise SystemExit("imported from the archive but not in it: %s" % missing)
"%d modules compiled, Python %s" % (compiled, sys.version.split()[0])
`);
fs.writeFileSync(out, py.FS.readFile("/tmp/stdlib-out.zip"));
console.log(`compile-stdlib: ${summary}; ${out}: ${fs.statSync(out).size} bytes`);
