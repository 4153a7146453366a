import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
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

/**
 * Every URL the page's main frame asks for, redirects included (each hop of a 302 chain is a
 * request of its own), so a test can say where a flow went and print it when a wait fails.
 */
export function recordNavigations(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (r) => {
    if (r.isNavigationRequest() && r.frame() === page.mainFrame()) urls.push(r.url());
  });
  return urls;
}

/** oidc-provider's development login and consent forms (test/helpers/oidc-idp.ts), filled in as a person would. */
export async function signInAtTestIdp(page: Page, login: string): Promise<void> {
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', 'any-password');
  await page.click('button[type=submit]');
  await page.click('button:has-text("Continue")');
}

/** The GitHub double's authorize page (test/helpers/github-double.ts): pick the user, authorize. */
export async function authorizeAtGithubDouble(page: Page, login: string): Promise<void> {
  await page.fill('input[name=login]', login);
  await page.click('button:has-text("Authorize")');
}
