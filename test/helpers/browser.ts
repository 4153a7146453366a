import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { hasProgram } from './programs.js';
import { REPO_ROOT } from './repo.js';

export const CHROMIUM = '/usr/bin/chromium';
export const chromiumInstalled = hasProgram(CHROMIUM, ['--version']);

/** Where e2e tests leave screenshots for people to look at (git-ignored). */
export const SCREENSHOTS = join(REPO_ROOT, 'test-output', 'screenshots');

/** Debian's Chromium, headless, with the flags this closed network needs (and `extraArgs`, such as host mappings). */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      ...extraArgs,
    ],
  });
}
