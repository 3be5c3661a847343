import { type Browser, type BrowserServer, chromium } from 'playwright-core';

/** Debian's chromium (installed by scripts/ensure-chromium.sh), or CHROMIUM_PATH. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A headless Debian chromium driven by playwright-core: no browser is downloaded from npm. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/**
 * The same chromium as a process of its own, to connect to (`chromium.connect(wsEndpoint())`)
 * and to kill as a crash or a closed laptop lid would (`kill()`: its sockets go without a goodbye).
 */
export function launchChromiumServer(): Promise<BrowserServer> {
  return chromium.launchServer({ executablePath: CHROMIUM, args: ARGS });
}
