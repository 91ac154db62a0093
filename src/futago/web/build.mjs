// Bundles the dashboard into dist/ for the Python package to serve at /. Offline: every asset comes from
// node_modules (npm ci from the committed lockfile); nothing is fetched from a CDN at run time.
import { cpSync, mkdirSync, rmSync } from "node:fs";
import * as esbuild from "esbuild";

const out = "dist";
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await esbuild.build({
  entryPoints: ["src/main.js"],
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: true,
  outfile: `${out}/app.js`,
  logLevel: "warning",
});
// MapLibre runs its tile work in a module worker that it loads by URL.
cpSync("node_modules/maplibre-gl/dist/maplibre-gl-worker.mjs", `${out}/maplibre-gl-worker.mjs`);
cpSync("index.html", `${out}/index.html`);
console.log(`dashboard built into ${out}/`);
