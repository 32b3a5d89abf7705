import { strict as assert } from 'node:assert';
import { Connection } from '@temporalio/client';
import { launchWithLogLevel, waitFor, type LaunchedServer } from './helpers';

describe('dev server: diagnosis', function () {
  let launched: LaunchedServer | undefined;

  afterEach(async function () {
    await launched?.stop();
  });

  it('when DEVSERVER_LOG_LEVEL=debug and a client calls a method the dev server does not serve, then the call and its UNIMPLEMENTED answer are logged', async function () {
    const server = (launched = await launchWithLogLevel('debug'));
    const connection = await Connection.connect({ address: server.address });
    try {
      await assert.rejects(
        connection.workflowService.listSchedules({ namespace: 'default' }),
        (err: { code?: number }) => err.code === 12, // UNIMPLEMENTED
      );
    } finally {
      await connection.close();
    }
    await waitFor(async () => /<- ListSchedules UNIMPLEMENTED/.test(server.stderr()), 'the log lines');
    assert.match(server.stderr(), /DEBUG -> ListSchedules\n/);
    assert.match(server.stderr(), /DEBUG <- ListSchedules UNIMPLEMENTED: ListSchedules is not implemented/);
  });
});
