import { readFileSync } from 'node:fs';

/** A file of the inspector page, ready to send. */
export interface Asset {
  body: string;
  type: string;
}

const PAGE_DIR = new URL('../../inspector-page/', import.meta.url);
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html' },
  '/inspector.js': { file: 'inspector.js', type: 'text/javascript' },
  '/chart.js': { file: 'chart.js', type: 'text/javascript' },
  '/inspector.css': { file: 'inspector.css', type: 'text/css' },
};

/**
 * The page's files, read once at mount (the package ships them beside `dist/`; no CDN), the
 * HTML filled with where the page lives and how it connects. Keyed by the path under the
 * inspector's own (`''` and `'/'` are the page).
 */
export function loadAssets(base: string, config: object): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const [route, { file, type }] of Object.entries(FILES)) {
    let body = readFileSync(new URL(file, PAGE_DIR), 'utf8');
    if (file === 'index.html') {
      // `<` escaped so nothing in the config can close the script element
      const json = JSON.stringify(config).replaceAll('<', '\\u003c');
      body = body.replaceAll('{{base}}', base).replace('/*CONFIG*/null', json);
    }
    assets.set(route, { body, type });
  }
  assets.set('', assets.get('/')!);
  return assets;
}
