import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';

/** Debian's Chromium (installed by .ci/run); Playwright never downloads a browser here. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The flags every Chromium here runs with (the bench's lean driver too). */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function checkChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`);
  }
}

export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  checkChromium();
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/**
 * A browser with a profile on disk, as a real user has: its site storage
 * (OPFS) is disk-backed, unlike that of launchChromium's incognito-like
 * contexts, which is much slower to write.
 */
export async function launchChromiumWithProfile(profileDir: string, viewport = { width: 1100, height: 1000 }): Promise<BrowserContext> {
  checkChromium();
  return chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport });
}

/**
 * Pickers cannot be driven headlessly: "Save as" is replaced by a function
 * that returns a file handle in the Origin Private File System, which the test
 * then reads back.
 */
export const NO_SAVE_PICKER = `delete window.showSaveFilePicker;`;

/**
 * A browser whose workers cannot share a file (no 'readwrite-unsafe' sync
 * access handles: Firefox, Safari): the page is told so through the hook it
 * reads for this (ImageFile.open), since workers cannot be scripted from here.
 */
export const EXCLUSIVE_STORAGE = `window.__tesseraExclusiveStorage = true;`;

/**
 * A "Save as" dialog the test closes: the page's window.__dialog says what it
 * does when opened ('wait': it stays open until __chooseFile() picks the
 * suggested name in the site's storage, or __closeDialog() closes it; 'now':
 * it picks at once; 'cancel': it is closed at once).
 */
export const SAVE_DIALOG = `
  window.__dialog = 'wait';
  window.showSaveFilePicker = ({ suggestedName }) => new Promise((resolve, reject) => {
    const choose = async () => resolve(await (await navigator.storage.getDirectory()).getFileHandle(suggestedName, { create: true }));
    const close = () => reject(new DOMException('The user aborted a request.', 'AbortError'));
    if (window.__dialog === 'now') return void choose();
    if (window.__dialog === 'cancel') return close();
    window.__chooseFile = choose;
    window.__closeDialog = close;
  });
`;

export const SAVE_TO_OPFS = `
  window.showSaveFilePicker = async ({ suggestedName }) => {
    const root = await navigator.storage.getDirectory();
    return root.getFileHandle(suggestedName, { create: true });
  };
`;
