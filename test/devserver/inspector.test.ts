import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { BrowserContext, Page } from 'playwright-core';
import { findChromium, launchPersistentChromium, noBrowser } from '../support/browser';
import { ApplicationFailure } from '@temporalio/common';
import { startTestServer, uniqueQueue, withWorker, waitFor, type TestServer } from './helpers';
import { collector, sleeper, runDelayedRetry, itemsQuery, cancellable, CustomKeyword } from './workflows';

// The same questions asked of the inspector either through headless Chromium (clicking
// like a person) or, on a machine without a browser, through its HTML and form POSTs.
interface Driver {
  listIds(filter: { status?: string; type?: string; workflowId?: string }): Promise<string[]>;
  detail(workflowId: string): Promise<{
    status: string;
    eventTypes: string[];
    activities: string;
    memo: string;
    searchAttributes: string;
  }>;
  signal(workflowId: string, name: string, argsJson: string): Promise<string>;
  cancel(workflowId: string): Promise<string>;
  terminate(workflowId: string): Promise<string>;
  close(): Promise<void>;
}

class BrowserDriver implements Driver {
  private constructor(
    private readonly context: BrowserContext,
    private readonly page: Page,
    private readonly base: string,
    private readonly profileDir: string,
  ) {}

  static async launch(executablePath: string, base: string): Promise<BrowserDriver> {
    const { context, profileDir } = await launchPersistentChromium(executablePath);
    const page = context.pages()[0] ?? (await context.newPage());
    return new BrowserDriver(context, page, base, profileDir);
  }

  async listIds(filter: { status?: string; type?: string; workflowId?: string }): Promise<string[]> {
    await this.page.goto(this.base);
    await this.page.selectOption('select[name=status]', filter.status ?? '');
    await this.page.fill('input[name=type]', filter.type ?? '');
    await this.page.fill('input[name=workflowId]', filter.workflowId ?? '');
    await Promise.all([this.page.waitForURL(/\?/), this.page.click('#filter button[type=submit]')]);
    return this.attributes('#workflows tbody tr', 'data-workflow-id');
  }

  /** An attribute of every element matching selector (the test's tsconfig has no DOM types). */
  private async attributes(selector: string, name: string): Promise<string[]> {
    const rows = this.page.locator(selector);
    const out: string[] = [];
    for (let i = 0, n = await rows.count(); i < n; i++)
      out.push((await rows.nth(i).getAttribute(name)) ?? '');
    return out;
  }

  private async openDetail(workflowId: string): Promise<void> {
    await this.page.goto(this.base);
    await this.page.fill('input[name=workflowId]', workflowId);
    await Promise.all([this.page.waitForURL(/\?/), this.page.click('#filter button[type=submit]')]);
    await Promise.all([
      this.page.waitForURL(/\/workflows\//),
      this.page.click(`#workflows tr[data-workflow-id="${workflowId}"] a`),
    ]);
  }

  async detail(workflowId: string) {
    await this.openDetail(workflowId);
    return {
      status: (await this.page.textContent('#status')) ?? '',
      eventTypes: await this.attributes('#history tr.event', 'data-event-type'),
      activities: (await this.page.textContent('#pending-activities')) ?? '',
      memo: (await this.page.textContent('#memo')) ?? '',
      searchAttributes: (await this.page.textContent('#search-attributes')) ?? '',
    };
  }

  private async submit(workflowId: string, form: string, fill: () => Promise<void>): Promise<string> {
    await this.openDetail(workflowId);
    await fill();
    await Promise.all([this.page.waitForURL(/message=/), this.page.click(`${form} button[type=submit]`)]);
    return (await this.page.textContent('#message')) ?? '';
  }

  signal(workflowId: string, name: string, argsJson: string): Promise<string> {
    return this.submit(workflowId, '#signal-form', async () => {
      await this.page.fill('#signal-form input[name=name]', name);
      await this.page.fill('#signal-form input[name=args]', argsJson);
    });
  }

  cancel(workflowId: string): Promise<string> {
    return this.submit(workflowId, '#cancel-form', async () => undefined);
  }

  terminate(workflowId: string): Promise<string> {
    return this.submit(workflowId, '#terminate-form', async () => undefined);
  }

  async close(): Promise<void> {
    await this.context.close();
    fs.rmSync(this.profileDir, { recursive: true, force: true });
  }
}

/** The fallback: the served HTML read over HTTP, and the forms POSTed as a browser would. */
class HttpDriver implements Driver {
  constructor(private readonly base: string) {}

  private async html(pathAndQuery: string): Promise<string> {
    const res = await fetch(new URL(pathAndQuery, this.base));
    assert.equal(res.status, 200);
    return res.text();
  }

  private static text(html: string, id: string): string {
    const m = new RegExp(`<(\\w+)[^>]*\\bid="${id}"[^>]*>([\\s\\S]*?)</\\1>`).exec(html);
    return (m?.[2] ?? '')
      .replace(/<[^>]+>/g, ' ')
      .replace(/&quot;/g, '"')
      .replace(/\s+/g, ' ');
  }

  async listIds(filter: { status?: string; type?: string; workflowId?: string }): Promise<string[]> {
    const q = new URLSearchParams({
      status: filter.status ?? '',
      type: filter.type ?? '',
      workflowId: filter.workflowId ?? '',
    });
    const html = await this.html(`/?${q.toString()}`);
    return [...html.matchAll(/<tr data-workflow-id="([^"]*)"/g)].map((m) => m[1]!);
  }

  private async detailPath(workflowId: string): Promise<string> {
    const html = await this.html(`/?workflowId=${encodeURIComponent(workflowId)}`);
    const m = new RegExp(`<tr data-workflow-id="${workflowId}"><td><a href="([^"]+)"`).exec(html);
    assert.ok(m, `list links to ${workflowId}`);
    return m[1]!;
  }

  async detail(workflowId: string) {
    const html = await this.html(await this.detailPath(workflowId));
    return {
      status: HttpDriver.text(html, 'status').trim(),
      eventTypes: [...html.matchAll(/class="event" data-event-type="([^"]+)"/g)].map((m) => m[1]!),
      activities: HttpDriver.text(html, 'pending-activities'),
      memo: HttpDriver.text(html, 'memo'),
      searchAttributes: HttpDriver.text(html, 'search-attributes'),
    };
  }

  private async post(workflowId: string, action: string, form: Record<string, string>): Promise<string> {
    const detailPath = await this.detailPath(workflowId);
    // What a browser sends for the page's forms: its own origin and the form encoding.
    const res = await fetch(new URL(`${detailPath}/${action}`, this.base), {
      method: 'POST',
      headers: { origin: new URL(this.base).origin },
      body: new URLSearchParams(form),
      redirect: 'manual',
    });
    assert.equal(res.status, 303);
    const location = res.headers.get('location')!;
    return HttpDriver.text(await this.html(location), 'message').trim();
  }

  signal(workflowId: string, name: string, argsJson: string): Promise<string> {
    return this.post(workflowId, 'signal', { name, args: argsJson });
  }
  cancel(workflowId: string): Promise<string> {
    return this.post(workflowId, 'cancel', {});
  }
  terminate(workflowId: string): Promise<string> {
    return this.post(workflowId, 'terminate', { reason: 'from test' });
  }
  async close(): Promise<void> {}
}

describe('dev server: inspector', function () {
  let srv: TestServer;

  before(async function () {
    srv = await startTestServer({ uiPort: 0 });
  });

  after(async function () {
    await srv?.close();
  });

  it('when a person uses the inspector, then workflows are listed and filtered, details shown, and signal/cancel/terminate work', async function () {
    const { client, nativeConnection, server } = srv;
    const taskQueue = uniqueQueue();
    const exe = findChromium();
    let driver: Driver;
    if (exe) {
      driver = await BrowserDriver.launch(exe, server.uiUrl!);
    } else {
      noBrowser('the inspector test');
      driver = new HttpDriver(server.uiUrl!);
    }
    try {
      await withWorker(
        nativeConnection,
        {
          taskQueue,
          activities: {
            async delayedRetry(): Promise<number> {
              throw ApplicationFailure.create({ message: 'retry later', nextRetryDelay: '1h' });
            },
          },
        },
        async () => {
          await client.workflow.execute(sleeper, { taskQueue, workflowId: `${taskQueue}-done`, args: [1] });
          const open = await client.workflow.start(collector, {
            taskQueue,
            workflowId: `${taskQueue}-open`,
            memo: { owner: 'ann' },
            typedSearchAttributes: [{ key: CustomKeyword, value: 'inspected' }],
          });
          const retrying = await client.workflow.start(runDelayedRetry, {
            taskQueue,
            workflowId: `${taskQueue}-retry`,
          });
          const toCancel = await client.workflow.start(cancellable, {
            taskQueue,
            workflowId: `${taskQueue}-cancel`,
          });
          await waitFor(
            async () => (await retrying.describe()).raw.pendingActivities?.[0]?.attempt === 2,
            'retry pending',
          );
          await waitFor(async () => (await toCancel.describe()).historyLength >= 5, 'cancellable waiting');

          assert.deepEqual((await driver.listIds({ workflowId: taskQueue })).sort(), [
            `${taskQueue}-cancel`,
            `${taskQueue}-done`,
            `${taskQueue}-open`,
            `${taskQueue}-retry`,
          ]);
          assert.deepEqual(await driver.listIds({ workflowId: taskQueue, status: 'Completed' }), [
            `${taskQueue}-done`,
          ]);
          assert.deepEqual(await driver.listIds({ workflowId: taskQueue, type: 'collector' }), [
            `${taskQueue}-open`,
          ]);

          const d = await driver.detail(`${taskQueue}-open`);
          assert.equal(d.status, 'Running');
          assert.deepEqual(d.eventTypes.slice(0, 3), [
            'WorkflowExecutionStarted',
            'WorkflowTaskScheduled',
            'WorkflowTaskStarted',
          ]);
          assert.match(d.memo, /owner[\s\S]*ann/);
          assert.match(d.searchAttributes, /CustomKeywordField[\s\S]*inspected/);
          const r = await driver.detail(`${taskQueue}-retry`);
          assert.match(r.activities, /delayedRetry/);
          assert.match(r.activities, /retry later/);

          assert.equal(await driver.signal(`${taskQueue}-open`, 'add', '["from-ui"]'), 'Signal add sent');
          await waitFor(async () => (await open.query(itemsQuery)).length === 1, 'signal delivered');
          assert.deepEqual(await open.query(itemsQuery), ['from-ui']);

          assert.equal(await driver.cancel(`${taskQueue}-cancel`), 'Cancellation requested');
          assert.equal(await toCancel.result(), 'cleaned up after cancel');

          assert.equal(await driver.terminate(`${taskQueue}-retry`), 'Terminated');
          assert.equal((await driver.detail(`${taskQueue}-retry`)).status, 'Terminated');
          await open.terminate();
        },
      );
    } finally {
      await driver.close();
    }
  });

  it('when an address has bad percent-encoding, then the inspector answers 400 with a readable page', async function () {
    const base = srv.server.uiUrl!;
    for (const target of [
      '/workflows/%E0%A4%A',
      '/?q=%',
      '/workflows/default/%ZZ/run',
      '/?workflowId=%E0%A4%A',
    ]) {
      const res = await fetch(new URL(target, base));
      assert.equal(res.status, 400, target);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/);
      assert.match(await res.text(), /<title>Bad request[\s\S]*malformed/);
    }
    // Still serving.
    assert.equal((await fetch(new URL('/?workflowId=%E0%A4%A4', base))).status, 200);
  });

  it('when a POST comes from another site, without an origin or with another content type, then it is refused and the run is untouched', async function () {
    const { client, server } = srv;
    const base = server.uiUrl!;
    const own = new URL(base).origin;
    const taskQueue = uniqueQueue('csrf');
    const handle = await client.workflow.start(collector, { taskQueue, workflowId: taskQueue });
    const d = await handle.describe();
    const action = new URL(
      `/workflows/default/${encodeURIComponent(taskQueue)}/${encodeURIComponent(d.runId)}/terminate`,
      base,
    );
    const form = 'application/x-www-form-urlencoded';
    const post = (headers: Record<string, string>, body = 'reason=csrf') =>
      fetch(action, { method: 'POST', headers, body, redirect: 'manual' });

    assert.equal((await post({ origin: 'http://evil.example', 'content-type': form })).status, 403);
    assert.equal((await post({ origin: 'null', 'content-type': form })).status, 403);
    assert.equal((await post({ 'content-type': form })).status, 403);
    assert.equal((await post({ referer: 'http://evil.example/page', 'content-type': form })).status, 403);
    // Same-looking host on another port is another origin.
    const otherPort = `http://127.0.0.1:${Number(new URL(base).port) === 1 ? 2 : 1}`;
    assert.equal((await post({ origin: otherPort, 'content-type': form })).status, 403);
    const refused = await post({ origin: 'http://evil.example', 'content-type': form });
    assert.match(await refused.text(), /only accepted from the inspector/);
    assert.equal((await post({ origin: own, 'content-type': 'text/plain' })).status, 415);
    assert.equal((await post({ origin: own, 'content-type': 'application/json' }, '{}')).status, 415);
    assert.equal((await post({ origin: own })).status, 415);
    assert.equal((await handle.describe()).status.name, 'RUNNING');

    // A browser that sends only a Referer from the inspector's own page is accepted.
    const ok = await post({
      referer: `${own}/workflows/default/x/y`,
      'content-type': `${form}; charset=UTF-8`,
    });
    assert.equal(ok.status, 303);
    assert.equal((await handle.describe()).status.name, 'TERMINATED');
  });

  it('when another site frames the inspector or a DNS-rebinding page reads it, then framing is forbidden and a foreign Host is refused', async function () {
    const base = new URL(srv.server.uiUrl!);
    const get = (path: string, host: string) =>
      new Promise<{ status: number; headers: import('node:http').IncomingHttpHeaders; text: string }>(
        (resolve, reject) => {
          const req = httpRequest(
            { host: base.hostname, port: base.port, path, method: 'GET', headers: { host } },
            (res) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => (text += chunk));
              res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
            },
          );
          req.on('error', reject);
          req.end();
        },
      );
    const port = base.port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
      const ok = await get('/', host);
      assert.equal(ok.status, 200, host);
      assert.equal(ok.headers['x-frame-options'], 'DENY');
      assert.equal(ok.headers['content-security-policy'], "frame-ancestors 'none'");
    }
    for (const host of [
      `evil.example:${port}`,
      'evil.example',
      `localhost.evil.example:${port}`,
      `localhost:1${port}`,
    ]) {
      const refused = await get('/', host);
      assert.equal(refused.status, 403, `Host: ${host}`);
      assert.doesNotMatch(refused.text, /id="workflows"/, 'no workflow list is shown');
    }
    // Every answer forbids framing, error pages included.
    for (const path of ['/workflows/default/nope/nope', '/?q=%']) {
      const answer = await get(path, `127.0.0.1:${port}`);
      assert.notEqual(answer.status, 200);
      assert.equal(answer.headers['x-frame-options'], 'DENY', path);
    }
  });

  it('when a run holds a payload whose JSON nests very deeply, then its page still renders', async function () {
    const { client, server } = srv;
    const taskQueue = uniqueQueue('deep-json');
    const handle = await client.workflow.start(collector, { taskQueue, workflowId: taskQueue });
    const deep = '['.repeat(50_000) + ']'.repeat(50_000);
    await client.workflowService.signalWorkflowExecution({
      namespace: 'default',
      workflowExecution: { workflowId: taskQueue },
      signalName: 'add',
      input: { payloads: [{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(deep) }] },
    });
    const runId = (await handle.describe()).runId;
    const res = await fetch(new URL(`/workflows/default/${taskQueue}/${runId}`, server.uiUrl));
    assert.equal(res.status, 200);
    assert.match(await res.text(), /nested more than \d+ levels/);
    await handle.terminate();
  });

  it('when a link names a workflow without its run, then it opens the latest run, and a workflow with none kept is 404 with a search link', async function () {
    const { client, server } = srv;
    const workflowId = uniqueQueue('latest-run');
    const open = (id: string) =>
      fetch(new URL(`/workflows/default/${encodeURIComponent(id)}`, server.uiUrl), { redirect: 'manual' });

    const first = await client.workflow.start(collector, { taskQueue: workflowId, workflowId });
    const toFirst = await open(workflowId);
    assert.equal(toFirst.status, 302);
    assert.equal(
      toFirst.headers.get('location'),
      `/workflows/default/${workflowId}/${first.firstExecutionRunId}`,
    );

    await first.terminate();
    const second = await client.workflow.start(collector, { taskQueue: workflowId, workflowId });
    assert.notEqual(second.firstExecutionRunId, first.firstExecutionRunId);
    const toSecond = await open(workflowId);
    assert.equal(
      toSecond.headers.get('location'),
      `/workflows/default/${workflowId}/${second.firstExecutionRunId}`,
    );
    const page = await fetch(new URL(toSecond.headers.get('location')!, server.uiUrl));
    assert.equal(page.status, 200);
    assert.match(await page.text(), new RegExp(second.firstExecutionRunId));
    await second.terminate();

    const none = await open('no such workflow');
    assert.equal(none.status, 404);
    assert.match(await none.text(), /href="\/\?namespace=default&amp;workflowId=no\+such\+workflow"/);
  });

  it('when the inspector is asked for a run that does not exist or a bad action, then it answers 404 without harm', async function () {
    const base = srv.server.uiUrl!;
    const own = { origin: new URL(base).origin, 'content-type': 'application/x-www-form-urlencoded' };
    assert.equal((await fetch(new URL('/workflows/default/nope/nope', base))).status, 404);
    const res = await fetch(new URL('/workflows/default/nope/nope/explode', base), {
      method: 'POST',
      headers: own,
      body: '',
    });
    assert.equal(res.status, 404);
    const bad = await fetch(new URL('/workflows/default/nope/nope/terminate', base), {
      method: 'POST',
      headers: own,
      body: '',
      redirect: 'manual',
    });
    assert.equal(bad.status, 303);
    assert.match(
      decodeURIComponent(bad.headers.get('location') ?? ''),
      /Failed: workflow execution not found/,
    );
    assert.equal((await fetch(new URL('/?status=%27%20OR', base))).status, 200);
  });
});
