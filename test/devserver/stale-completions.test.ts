import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';

const ROOT = path.resolve(__dirname, '../..');
const FIXTURE = path.join(__dirname, 'fixtures', 'stale-completion-run.ts');

interface JsonTest {
  title: string;
  err: { message?: string };
}

interface JsonReport {
  stats: { tests: number; passes: number; failures: number };
  tests: JsonTest[];
  failures: JsonTest[];
}

/** Runs the fixture in a child Mocha with the project's configuration and root hooks. */
async function runFixture(): Promise<{ code: number | null; report: JsonReport; stderr: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stale-completions-'));
  const output = path.join(dir, 'report.json');
  try {
    const child = spawn(
      process.execPath,
      [
        require.resolve('mocha/bin/mocha.js'),
        '--reporter',
        'json',
        '--reporter-option',
        `output=${output}`,
        FIXTURE,
      ],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const report = JSON.parse(fs.readFileSync(output, 'utf8')) as JsonReport;
    return { code, report, stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('test setup: a stale activity completion in a time-skipping test', function () {
  let run: Awaited<ReturnType<typeof runFixture>>;

  before(async function () {
    run = await runFixture();
  });

  it('when one test leaves a stale completion, then that test fails and every other test of the run still runs and passes', function () {
    const titles = run.report.tests.map((t) => t.title);
    assert.deepEqual(
      titles.map((t) => t.split(':')[0]),
      ['stale', 'next', 'later'],
      `tests run: ${JSON.stringify(titles)}\n${run.stderr}`,
    );
    assert.deepEqual(
      run.report.failures.map((t) => t.title.split(':')[0]),
      ['stale'],
    );
    assert.equal(run.report.stats.failures, 1);
    assert.notEqual(run.code, 0, 'the run fails');
  });

  it('when it fails, then the message says when the warning happens and how to avoid it', function () {
    const message = run.report.failures[0]?.err.message ?? '';
    assert.match(message, /Activity not found on completion" 1 time\(s\)/);
    assert.match(message, /workflow\s+closed/);
    assert.match(message, /two\s+result\(\) waits at once/);
    assert.match(message, /env\.sleep\(\) beside a result\(\)/);
    assert.match(message, /Await results one at a time/);
    assert.doesNotMatch(message, /never does/);
  });
});
