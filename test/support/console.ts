// What the console's browser tests share: people with the names a test
// chooses, logging in through the page, reaching a control by the keyboard
// alone, and the page as plain HTTP sees it (the fallback without Chromium).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Locator, Page } from 'playwright-core';
import type { Session, TestApi } from './api';

export const PASSWORD = 'correct horse battery';

/** A student or teacher registered through the API under `name`. */
export async function registerNamed(
  api: TestApi,
  role: 'student' | 'teacher',
  name: string,
): Promise<Session & { user: Session['user'] & { name: string } }> {
  const response = await api.request('POST', '/api/v1/auth/register', {
    body: { email: `${role}-${randomUUID()}@test.example`, password: PASSWORD, name, role },
  });
  assert.equal(response.status, 201, response.text);
  return response.body;
}

/** Logs in through the login page (pointer and fill: for tests about something else). */
export async function logIn(page: Page, baseUrl: string, email: string): Promise<void> {
  await page.goto(`${baseUrl}/console/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: /^Log out/ }).waitFor();
}

/** True when `target` has the keyboard focus. */
export async function focused(target: Locator): Promise<boolean> {
  return target.evaluate((element) => element === element.ownerDocument.activeElement);
}

/**
 * Presses Tab (or Shift+Tab) until `target` has the focus, as a keyboard user
 * moves through the page; fails after `max` presses (queues in the shared test database
 * can hold other files' items ahead of this test's). Nothing is clicked.
 */
export async function tabTo(
  page: Page,
  target: Locator,
  options: { backwards?: boolean; max?: number } = {},
): Promise<void> {
  const key = options.backwards === true ? 'Shift+Tab' : 'Tab';
  const max = options.max ?? 400;
  for (let presses = 0; presses < max; presses++) {
    if (await focused(target)) return;
    await page.keyboard.press(key);
  }
  if (await focused(target)) return;
  const where = await page.evaluate(() => {
    const active = (globalThis as any).document.activeElement;
    return active === null ? 'nothing' : `${active.tagName} ${active.textContent?.slice(0, 40) ?? ''}`;
  });
  assert.fail(`${key} pressed ${max} times never reached ${String(target)} (focus is on ${where})`);
}

/** Tabs to a text field and types into it, key by key. */
export async function typeInto(page: Page, field: Locator, text: string): Promise<void> {
  await tabTo(page, field);
  await page.keyboard.type(text);
}

/** The console page as plain HTTP sees it: the policy, and the script the page links. */
export async function consolePageOverHttp(
  baseUrl: string,
  path = '/console',
): Promise<{ response: Response; csp: string; html: string; script: string; stylesheet: string }> {
  const response = await fetch(`${baseUrl}${path}`);
  assert.equal(response.status, 200, `${path} answers the page`);
  assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
  const csp = response.headers.get('content-security-policy') ?? '';
  const html = await response.text();
  const script = /<script type="module" src="(\/console\/assets\/console-[\w-]+\.js)"><\/script>/.exec(html);
  const stylesheet = /<link rel="stylesheet" href="(\/console\/assets\/console-[\w-]+\.css)">/.exec(html);
  assert.ok(script, `${path} links its script`);
  assert.ok(stylesheet, `${path} links its stylesheet`);
  return { response, csp, html, script: script[1]!, stylesheet: stylesheet[1]! };
}

/** The directives of a Content-Security-Policy header, by name. */
export function cspDirectives(csp: string): Map<string, string[]> {
  const directives = new Map<string, string[]>();
  for (const part of csp.split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) directives.set(name.toLowerCase(), values);
  }
  return directives;
}

/** Fails unless the policy allows scripts from this origin only: no inline script, no eval. */
export function assertStrictScriptPolicy(csp: string, where: string): void {
  const directives = cspDirectives(csp);
  const scripts = directives.get('script-src') ?? directives.get('default-src');
  assert.ok(scripts, `${where}: the policy names where scripts come from (${csp})`);
  for (const forbidden of [
    "'unsafe-inline'",
    "'unsafe-eval'",
    "'unsafe-hashes'",
    '*',
    'data:',
    'http:',
    'https:',
  ])
    assert.ok(!scripts.includes(forbidden), `${where}: script-src allows ${forbidden} (${csp})`);
  assert.deepEqual(scripts, ["'self'"], `${where}: scripts from this origin only`);
  assert.deepEqual(directives.get('object-src'), ["'none'"], `${where}: no plugins`);
  assert.deepEqual(directives.get('base-uri'), ["'none'"], `${where}: no <base> to redirect scripts`);
}
