// The inspector: server-rendered HTML on --ui-port, the development stand-in for the
// Temporal UI. Pages read through ReadModel; the signal/cancel/terminate forms POST
// here and go through the same lifecycle operations as the gRPC API, then redirect.
// Those POSTs change workflows, so another site's page must not be able to make the
// browser send them: a POST must come from the inspector's own origin (Origin header,
// or Referer when a browser sends no Origin) and carry the form's content type.
// No page may be framed by another site (a click in the frame would send a signal),
// and only requests whose Host names the address it listens on are answered: a
// DNS-rebinding page (evil.example resolving to 127.0.0.1) sends its own name.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Engine } from '../core/engine';
import type { ReadModel, RunDetail, RunSummary } from './read-model';
import { signalRun, requestCancelRun, terminateRun } from '../core/lifecycle';
import type { Logger } from '../logger';
import { RpcError } from '../rpc/errors';

const MAX_BODY_BYTES = 64 * 1024;
const LIST_LIMIT = 500;
const STATUSES = ['Running', 'Completed', 'Failed', 'Canceled', 'Terminated', 'ContinuedAsNew', 'TimedOut'];

export function esc(v: string | number | null | undefined): string {
  return String(v ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function time(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString().replace('T', ' ').replace('Z', '') : '';
}

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)} · Temporal dev server</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5rem;color:#1f2328}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f6f8fa}a{color:#0969da}.status{font-weight:600}
.Running{color:#0969da}.Completed{color:#1a7f37}.Failed,.TimedOut,.Terminated{color:#cf222e}.Canceled{color:#9a6700}
pre{margin:0;white-space:pre-wrap;overflow-wrap:anywhere;font-size:12px}form.inline{display:inline-block;margin-right:1rem}
fieldset{border:1px solid #ddd;margin:1rem 0}section{margin-bottom:1.5rem}
</style></head><body><h1><a href="/">Temporal dev server</a></h1>${body}</body></html>`;
}

function runLink(r: { namespace: string; workflowId: string; runId: string }): string {
  return `/workflows/${encodeURIComponent(r.namespace)}/${encodeURIComponent(r.workflowId)}/${encodeURIComponent(r.runId)}`;
}

function listPage(model: ReadModel, q: URLSearchParams): string {
  const namespaces = model.namespaces();
  const ns = q.get('namespace') || namespaces[0] || 'default';
  const status = q.get('status') ?? '';
  const type = q.get('type') ?? '';
  const workflowId = q.get('workflowId') ?? '';
  let runs: RunSummary[] = [];
  let error = '';
  try {
    runs = model.list({ namespace: ns, status, type, workflowId, limit: LIST_LIMIT });
  } catch (err) {
    error = (err as Error).message;
  }
  const opt = (v: string, cur: string, label = v): string =>
    `<option value="${esc(v)}"${v === cur ? ' selected' : ''}>${esc(label)}</option>`;
  const rows = runs
    .map(
      (
        r,
      ) => `<tr data-workflow-id="${esc(r.workflowId)}"><td><a href="${esc(runLink(r))}">${esc(r.workflowId)}</a></td>
<td>${esc(r.runId)}</td><td>${esc(r.type)}</td><td class="status ${esc(r.status)}">${esc(r.status)}</td>
<td>${esc(time(r.startMs))}</td><td>${esc(time(r.closeMs))}</td></tr>`,
    )
    .join('\n');
  return page(
    'Workflows',
    `<form method="get" action="/" id="filter">
<label>Namespace <select name="namespace">${namespaces.map((n) => opt(n, ns)).join('')}</select></label>
<label>Status <select name="status">${opt('', status, 'any')}${STATUSES.map((s) => opt(s, status)).join('')}</select></label>
<label>Type <input name="type" value="${esc(type)}"></label>
<label>Workflow id starts with <input name="workflowId" value="${esc(workflowId)}"></label>
<button type="submit">Filter</button></form>
${error ? `<p class="error">${esc(error)}</p>` : ''}
<p id="count">${runs.length} workflow${runs.length === 1 ? '' : 's'}${runs.length === LIST_LIMIT ? ' (first ' + LIST_LIMIT + ')' : ''}</p>
<table id="workflows"><thead><tr><th>Workflow id</th><th>Run id</th><th>Type</th><th>Status</th><th>Started</th><th>Closed</th></tr></thead>
<tbody>${rows}</tbody></table>`,
  );
}

function json(v: unknown): string {
  return esc(JSON.stringify(v, null, 1));
}

const MAX_SUMMARY_CHARS = 800;

/** One line per event: the attributes as key: value, nested objects flattened with dots. */
function summarize(details: Record<string, unknown>): string {
  const parts: string[] = [];
  const walk = (prefix: string, v: unknown, depth: number): void => {
    if (v === null || v === undefined || v === '') return;
    if (typeof v === 'object' && !Array.isArray(v) && depth < 3) {
      for (const [k, x] of Object.entries(v as Record<string, unknown>))
        walk(prefix ? `${prefix}.${k}` : k, x, depth + 1);
      return;
    }
    parts.push(`${prefix}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  };
  walk('', details, 0);
  const text = parts.join(' · ');
  return text.length > MAX_SUMMARY_CHARS ? `${text.slice(0, MAX_SUMMARY_CHARS)}…` : text;
}

function detailPage(d: RunDetail, message: string): string {
  const base = runLink(d);
  const kv = (o: Record<string, unknown>, id: string): string =>
    Object.keys(o).length === 0
      ? `<p id="${id}">none</p>`
      : `<table id="${id}">${Object.entries(o)
          .map(([k, v]) => `<tr><th>${esc(k)}</th><td><pre>${json(v)}</pre></td></tr>`)
          .join('')}</table>`;
  const actions =
    d.status === 'Running'
      ? `<fieldset><legend>Actions</legend>
<form class="inline" method="post" action="${esc(base)}/signal" id="signal-form">
<label>Signal <input name="name" required placeholder="signal name"></label>
<label>Args (JSON array) <input name="args" value="[]"></label><button type="submit">Signal</button></form>
<form class="inline" method="post" action="${esc(base)}/cancel" id="cancel-form"><button type="submit">Request cancel</button></form>
<form class="inline" method="post" action="${esc(base)}/terminate" id="terminate-form">
<label>Reason <input name="reason" value="terminated from the inspector"></label><button type="submit">Terminate</button></form>
</fieldset>`
      : '';
  const activities = d.pendingActivities.length
    ? `<table id="pending-activities"><tr><th>Activity id</th><th>Type</th><th>State</th><th>Attempt</th><th>Last failure</th></tr>${d.pendingActivities
        .map(
          (a) =>
            `<tr><td>${esc(a.activityId)}</td><td>${esc(a.type)}</td><td>${esc(a.state)}</td><td>${a.attempt}</td><td>${esc(a.lastFailure ?? '')}</td></tr>`,
        )
        .join('')}</table>`
    : '<p id="pending-activities">none</p>';
  const children = d.pendingChildren.length
    ? `<ul id="pending-children">${d.pendingChildren
        .map(
          (c) =>
            `<li><a href="${esc(runLink({ namespace: d.namespace, ...c }))}">${esc(c.workflowId)}</a> (${esc(c.type)})</li>`,
        )
        .join('')}</ul>`
    : '<p id="pending-children">none</p>';
  const events = d.events
    .map(
      (e) =>
        `<tr class="event" data-event-type="${esc(e.type)}"><td>${e.id}</td><td>${esc(time(e.timeMs))}</td><td>${esc(e.type)}</td><td>${esc(summarize(e.details))}</td></tr>`,
    )
    .join('\n');
  return page(
    d.workflowId,
    `<p><a href="/?namespace=${encodeURIComponent(d.namespace)}">&larr; all workflows</a></p>
${message ? `<p id="message">${esc(message)}</p>` : ''}
<h2 id="workflow-id">${esc(d.workflowId)}</h2>
<table id="summary"><tr><th>Run id</th><td>${esc(d.runId)}</td></tr><tr><th>Type</th><td>${esc(d.type)}</td></tr>
<tr><th>Status</th><td class="status ${esc(d.status)}" id="status">${esc(d.status)}</td></tr>
<tr><th>Task queue</th><td>${esc(d.taskQueue)}</td></tr><tr><th>Started</th><td>${esc(time(d.startMs))}</td></tr>
<tr><th>Closed</th><td>${esc(time(d.closeMs))}</td></tr><tr><th>History length</th><td>${d.historyLength}</td></tr>
${d.parent ? `<tr><th>Parent</th><td><a href="${esc(runLink({ namespace: d.namespace, ...d.parent }))}">${esc(d.parent.workflowId)}</a></td></tr>` : ''}
</table>
${actions}
<section><h3>Pending activities</h3>${activities}</section>
<section><h3>Pending children</h3>${children}</section>
<section><h3>Memo</h3>${kv(d.memo, 'memo')}</section>
<section><h3>Search attributes</h3>${kv(d.searchAttributes, 'search-attributes')}</section>
<section><h3>History</h3><table id="history"><thead><tr><th>#</th><th>Time</th><th>Event</th><th>Details</th></tr></thead><tbody>${events}</tbody></table></section>`,
  );
}

async function readBody(req: http.IncomingMessage): Promise<URLSearchParams> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function jsonPayloads(text: string): { payloads: object[] } {
  const parsed: unknown = JSON.parse(text || '[]');
  const args = Array.isArray(parsed) ? (parsed as unknown[]) : [parsed];
  return {
    payloads: args.map((a) => ({
      metadata: { encoding: Buffer.from('json/plain') },
      data: Buffer.from(JSON.stringify(a) ?? 'null'),
    })),
  };
}

const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

const LOOPBACK_OR_ANY = new Set(['127.0.0.1', 'localhost', '::1', '0.0.0.0', '::', '']);
const IP_LITERAL_HOST = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\])(:\d+)?$/i;

/** http://host:port origins the inspector's own pages have. */
function ownOrigins(ip: string, port: number): Set<string> {
  const hosts = new Set([ip.includes(':') ? `[${ip}]` : ip]);
  if (LOOPBACK_OR_ANY.has(ip)) for (const h of ['127.0.0.1', 'localhost', '[::1]']) hosts.add(h);
  return new Set([...hosts].map((h) => `http://${h}:${port}`.toLowerCase()));
}

/** Sent with every answer: no other site may frame the inspector. */
const FRAMING_HEADERS = {
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
};

/**
 * Whether the Host header names the address the inspector listens on: its own
 * host:port values (loopback names when it listens on loopback or everywhere),
 * or, when it listens on every interface, an IP literal with its port (a name
 * under someone else's DNS control could be rebound to this address; a literal cannot).
 */
function knownHost(req: http.IncomingMessage, own: Set<string>, ip: string, port: number): boolean {
  const host = (req.headers.host ?? '').toLowerCase();
  if (own.has(`http://${host}`)) return true;
  const anyInterface = ip === '0.0.0.0' || ip === '::';
  return anyInterface && IP_LITERAL_HOST.test(host) && host.endsWith(`:${port}`);
}

/** The origin a browser says the request came from: Origin, else the Referer's origin. */
function requestOrigin(req: http.IncomingMessage): string | undefined {
  if (req.headers.origin !== undefined) return req.headers.origin.toLowerCase();
  const referer = req.headers.referer;
  if (!referer) return undefined;
  try {
    return new URL(referer).origin.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * Whether a state-changing request comes from the inspector's own pages. Host names
 * other than loopback ones are not trusted from the Host header (DNS rebinding would
 * make an attacker's name match); when listening on every interface, an IP literal Host
 * (a person typing the machine's address) is.
 */
function fromOwnOrigin(req: http.IncomingMessage, own: Set<string>, ip: string): boolean {
  const origin = requestOrigin(req);
  if (!origin) return false;
  if (own.has(origin)) return true;
  const host = req.headers.host ?? '';
  const anyInterface = ip === '0.0.0.0' || ip === '::';
  return anyInterface && IP_LITERAL_HOST.test(host) && origin === `http://${host}`.toLowerCase();
}

function formContentType(req: http.IncomingMessage): boolean {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  return type === FORM_CONTENT_TYPE;
}

/** The request target as a URL and decoded path segments, or undefined when it is malformed. */
function parseTarget(raw: string | undefined): { url: URL; parts: string[] } | undefined {
  const target = raw ?? '/';
  // Only origin-form targets; '//x' must not be read as a host name.
  if (!target.startsWith('/')) return undefined;
  try {
    const url = new URL(`http://inspector${target}`);
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    // Query parameters are decoded leniently by URLSearchParams; refuse what a browser would not send.
    decodeURIComponent(url.search.replace(/\+/g, ' '));
    return { url, parts };
  } catch {
    return undefined;
  }
}

async function act(engine: Engine, parts: string[], action: string, form: URLSearchParams): Promise<string> {
  const [ns, wid, rid] = parts;
  const exec = engine.lookupRunning(ns!, wid, rid);
  if (action === 'signal') {
    const name = form.get('name') ?? '';
    if (!name) throw new Error('signal name is required');
    let input: { payloads: object[] };
    try {
      input = jsonPayloads(form.get('args') ?? '[]');
    } catch {
      throw new Error('signal args must be JSON');
    }
    signalRun(engine, exec, { signalName: name, input: input, identity: 'inspector' });
    await engine.commit();
    return `Signal ${name} sent`;
  }
  if (action === 'cancel') {
    requestCancelRun(engine, exec, 'requested from the inspector', 'inspector');
    await engine.commit();
    return 'Cancellation requested';
  }
  terminateRun(engine, exec, form.get('reason') || 'terminated from the inspector', null, 'inspector');
  await engine.commit();
  return 'Terminated';
}

export async function startInspector(
  model: ReadModel,
  engine: Engine,
  ip: string,
  port: number,
  log: Logger,
): Promise<{ url: string; close(): Promise<void> }> {
  /** Origins of the inspector's own pages, known once the port is bound (before any request). */
  let own = new Set<string>();
  let boundPort = port;
  const server = http.createServer((req, res) => {
    const send = (status: number, body: string, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...FRAMING_HEADERS, ...headers });
      res.end(body);
    };
    const handle = async (): Promise<void> => {
      if (!knownHost(req, own, ip, boundPort)) {
        return send(
          403,
          page(
            'Forbidden',
            '<p>This address is not one the inspector answers to: open it as 127.0.0.1 or localhost with its port.</p>',
          ),
        );
      }
      const target = parseTarget(req.url);
      if (!target) {
        return send(
          400,
          page(
            'Bad request',
            '<p>The address is malformed (for example a bad %-escape). Check the link.</p>',
          ),
        );
      }
      const { url, parts } = target;
      if (req.method === 'POST') {
        if (!fromOwnOrigin(req, own, ip)) {
          return send(
            403,
            page('Forbidden', '<p>Actions are only accepted from the inspector&#39;s own pages.</p>'),
          );
        }
        if (!formContentType(req)) {
          return send(415, page('Unsupported', `<p>Actions must be sent as ${FORM_CONTENT_TYPE}.</p>`));
        }
      }
      if (req.method === 'GET' && parts.length === 0) return send(200, listPage(model, url.searchParams));
      if (parts[0] === 'workflows' && parts.length === 3 && req.method === 'GET') {
        // A link that outlives runs (the app hands these out): the latest run, as the Temporal UI does.
        const [, namespace, workflowId] = parts as [string, string, string];
        const runId = model.currentRunId(namespace, workflowId);
        if (runId === undefined) {
          const list = `/?${new URLSearchParams({ namespace, workflowId }).toString()}`;
          return send(
            404,
            page(
              'Not found',
              `<p>This workflow has no current run here. <a href="${esc(list)}">Search for it</a>.</p>`,
            ),
          );
        }
        return send(302, '', { location: runLink({ namespace, workflowId, runId }) });
      }
      if (parts[0] === 'workflows' && parts.length === 4 && req.method === 'GET') {
        const d = model.get(parts[1]!, parts[2]!, parts[3]!);
        if (!d) return send(404, page('Not found', '<p>No such workflow run.</p>'));
        return send(200, detailPage(d, url.searchParams.get('message') ?? ''));
      }
      if (parts[0] === 'workflows' && parts.length === 5 && req.method === 'POST') {
        const action = parts[4]!;
        if (!['signal', 'cancel', 'terminate'].includes(action)) return send(404, page('Not found', ''));
        let message: string;
        try {
          message = await act(engine, parts.slice(1, 4), action, await readBody(req));
        } catch (err) {
          message = `Failed: ${err instanceof RpcError || err instanceof Error ? err.message : String(err)}`;
        }
        const back = `/${parts.slice(0, 4).map(encodeURIComponent).join('/')}?message=${encodeURIComponent(message)}`;
        return send(303, '', { location: back });
      }
      return send(404, page('Not found', '<p>Not found.</p>'));
    };
    handle().catch((err: unknown) => {
      log.error('inspector request failed', err);
      if (!res.headersSent) send(500, page('Error', `<p>${esc((err as Error).message)}</p>`));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ip, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  own = ownOrigins(ip, addr.port);
  boundPort = addr.port;
  return {
    url: `http://${ip}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
