// Debian's Chromium, driven by playwright-core, for the tests of the pages
// people use (the web console, the dev server's inspector).
//
// CHROMIUM_PATH picks the browser; CHROMIUM_PATH=none acts as if there were
// none. A machine without Chromium still runs the suite: each browser test
// falls back to what it can check over plain HTTP, and says so loudly. CI sets
// REQUIRE_BROWSER=1, which turns that fallback into a failure, so the browser
// legs cannot silently stop running there.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const REQUIRE_BROWSER =
  process.env.REQUIRE_BROWSER === '1' || process.env.INSPECTOR_REQUIRE_BROWSER === '1';

/**
 * As the machine's own probe starts it: without the background-networking flags
 * Chromium keeps calling out to Google's hosts, which this machine refuses.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // The class room's camera and microphone: a generated picture and tone,
  // allowed without the permission prompt a person would answer.
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
];

export function findChromium(): string | undefined {
  if (process.env.CHROMIUM_PATH === 'none') return undefined;
  const candidates = [
    process.env.CHROMIUM_PATH,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
  ];
  for (const c of candidates) if (c && fs.existsSync(c)) return c;
  try {
    const found = execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], {
      encoding: 'utf8',
    }).trim();
    return found || undefined;
  } catch {
    return undefined;
  }
}

/** The failure (REQUIRE_BROWSER=1) or the warning (otherwise) of a missing browser. */
export function noBrowser(what: string): void {
  if (REQUIRE_BROWSER) {
    assert.fail(
      `REQUIRE_BROWSER=1 but no Chromium was found (CHROMIUM_PATH=${process.env.CHROMIUM_PATH ?? '(unset)'}, ` +
        "no chromium, chromium-browser or google-chrome on the PATH or in /usr/bin): install Debian's " +
        'chromium or point CHROMIUM_PATH at a browser, or unset REQUIRE_BROWSER to allow the HTTP-only fallback.',
    );
  }
  console.warn(
    `\n  !!! No Chromium found (set CHROMIUM_PATH or install Debian's chromium): ${what} DID NOT RUN IN A BROWSER.\n` +
      '  !!! Only what plain HTTP can show was checked.\n',
  );
}

export async function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
}

/** A persistent profile, for tests that need one (a fresh temporary folder). */
export async function launchPersistentChromium(executablePath: string): Promise<{
  context: BrowserContext;
  profileDir: string;
}> {
  const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chromium-profile-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  return { context, profileDir };
}

/** What a page did wrong while a test used it: script errors and blocked content. */
export interface PageProblems {
  errors: string[];
  cspViolations: string[];
  requestedUrls: string[];
}

/** A fresh context and page that record script errors, CSP violations and every URL asked for. */
export async function watchedPage(
  browser: Browser,
  options: { viewport?: { width: number; height: number } } = {},
): Promise<{ context: BrowserContext; page: Page; problems: PageProblems }> {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1200, height: 900 },
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  const page = await context.newPage();
  const problems: PageProblems = { errors: [], cspViolations: [], requestedUrls: [] };
  page.on('pageerror', (error) => problems.errors.push(String(error)));
  page.on('console', (message) => {
    const text = message.text();
    if (/Content Security Policy/i.test(text)) problems.cspViolations.push(text);
  });
  page.on('request', (request) => problems.requestedUrls.push(request.url()));
  return { context, page, problems };
}

const requireFromHere = createRequire(__filename);
let axeSource: string | undefined;

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * axe-core run in the page. It is evaluated through the DevTools protocol,
 * which the page's Content-Security-Policy does not apply to, so the policy
 * the console really sends stays on while axe looks.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= fs.readFileSync(requireFromHere.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    // Runs in the browser, where axe now is a global.
    const axe = (globalThis as any).axe;
    const result = await axe.run((globalThis as any).document, { resultTypes: ['violations'] });
    return result.violations.map((v: any) => ({
      id: v.id,
      impact: v.impact ?? null,
      help: v.help,
      nodes: v.nodes.map((n: any) => String(n.target)),
    }));
  });
}

/** Fails with axe's findings when any is serious or critical. */
export async function assertAccessible(page: Page, where: string): Promise<void> {
  const severe = (await axeViolations(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    severe.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.join(', ')})`),
    [],
    `accessibility violations on ${where}`,
  );
}

export const SCREENSHOTS_DIR = path.resolve(__dirname, '../../docs/screenshots');

/**
 * A screenshot the README shows: written to docs/screenshots when
 * UPDATE_SCREENSHOTS=1 (`npm run screenshots`), else to a temporary folder,
 * so a test run leaves the work tree as it found it.
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir =
    process.env.UPDATE_SCREENSHOTS === '1' ? SCREENSHOTS_DIR : path.join(os.tmpdir(), 'console-screenshots');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  assert.ok(fs.statSync(file).size > 1_000, `screenshot ${file} is empty`);
  return file;
}
