// Bundles the web console and the share page (web/src) into web/dist with esbuild, plus the
// files they load at run time from our own origin: MapLibre's CSP worker and the Natural Earth
// countries of world-atlas for the offline basemap. scripts/install-tools.sh runs it whenever a
// source is newer than the bundle; nothing is fetched at run time.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { build } from 'esbuild';
import { PROJECT_ROOT } from '../infra/tools.js';

const require = createRequire(import.meta.url);
const dist = resolve(PROJECT_ROOT, 'web/dist');

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
await build({
  entryPoints: { console: resolve(PROJECT_ROOT, 'web/src/console/main.ts'), track: resolve(PROJECT_ROOT, 'web/src/track/main.ts') },
  outdir: dist,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  plugins: [
    {
      // The CSP build of MapLibre runs its worker from a file instead of a blob: URL.
      name: 'maplibre-csp-build',
      setup(esbuild) {
        esbuild.onResolve({ filter: /^maplibre-gl$/ }, () => ({ path: require.resolve('maplibre-gl/dist/maplibre-gl-csp.js') }));
      },
    },
  ],
  logLevel: 'warning',
});
copyFileSync(require.resolve('maplibre-gl/dist/maplibre-gl-csp-worker.js'), resolve(dist, 'maplibre-gl-csp-worker.js'));
copyFileSync(require.resolve('world-atlas/countries-50m.json'), resolve(dist, 'countries-50m.json'));
console.error(`web bundle written to ${dist}`);
