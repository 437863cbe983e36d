/// <reference lib="dom" />
// Debian's Chromium driven by playwright-core (no Playwright browser download): headless, in a
// fresh temporary profile that Playwright creates per launch, with software WebGL (SwiftShader)
// so MapLibre renders, and nothing that phones home.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`${CHROMIUM_PATH} is missing: npm test installs Debian's chromium package`);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--use-gl=angle',
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** Every console error, uncaught exception and CSP violation the page reports. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
  // Chromium logs a failed load without its URL: name it.
  page.on('response', (response) => {
    if (response.status() >= 400) errors.push(`response: ${response.status()} ${response.url()}`);
  });
  return errors;
}

/** How many distinct colours a grid of samples of the map's canvas has (a blank canvas has one). */
export async function canvasColours(page: Page, selector: string): Promise<number> {
  return page.evaluate((sel) => {
    const map = (document.querySelector(sel) as HTMLElement & { maplibreMap: { getCanvas(): HTMLCanvasElement } }).maplibreMap;
    const source = map.getCanvas();
    const copy = document.createElement('canvas');
    copy.width = source.width;
    copy.height = source.height;
    const context = copy.getContext('2d')!;
    context.drawImage(source, 0, 0);
    const colours = new Set<string>();
    for (let x = 0; x < copy.width; x += Math.max(1, Math.floor(copy.width / 40))) {
      for (let y = 0; y < copy.height; y += Math.max(1, Math.floor(copy.height / 40))) colours.add(context.getImageData(x, y, 1, 1).data.join(','));
    }
    return colours.size;
  }, selector);
}

type IdleMap = { loaded(): boolean; areTilesLoaded(): boolean; isMoving(): boolean; queryRenderedFeatures(o: unknown): { geometry: unknown; properties: unknown }[] };

/**
 * Distinct features MapLibre has drawn in the given layer (rendered, so it proves the layer is on
 * screen), counted once the map is idle: data set a moment ago is parsed in a web worker first, and a
 * feature near a tile edge is reported once per tile that draws it.
 */
export async function renderedFeatures(page: Page, selector: string, layer: string): Promise<number> {
  await page.waitForFunction((sel) => {
    const map = (document.querySelector(sel) as HTMLElement & { maplibreMap: IdleMap }).maplibreMap;
    return map.loaded() && map.areTilesLoaded() && !map.isMoving();
  }, selector);
  return page.evaluate(
    ([sel, id]) => {
      const features = (document.querySelector(sel!) as HTMLElement & { maplibreMap: IdleMap }).maplibreMap.queryRenderedFeatures({ layers: [id] });
      return new Set(features.map((f) => JSON.stringify([f.geometry, f.properties]))).size;
    },
    [selector, layer],
  );
}
