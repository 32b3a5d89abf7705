// Admins open a booking's or a withdrawal's workflow from the API's answer
// (`workflowUrl`): in the Temporal UI at TEMPORAL_UI_URL, or the dev server's
// inspector; nobody else gets a link.
import assert from 'node:assert/strict';
import { workflowLinks } from '../../temporal-client/workflow-links';
import { createAdmin, type Session } from '../support/api';
import { bookOk, cast, publishSlot, startBookingHarness, type BookingHarness } from '../support/bookings';
import { earn, withdrawOk } from '../support/withdrawals';

describe('workflow links', () => {
  it('when TEMPORAL_UI_URL is set, then a link is its namespace and workflow page, each part URL-encoded', () => {
    const links = workflowLinks({
      temporalUiUrl: 'https://temporal.example.com/ui/',
      inspectorUrl: 'http://127.0.0.1:8233',
      namespace: 'team a/b',
    });
    assert.equal(
      links.of('booking-1'),
      'https://temporal.example.com/ui/namespaces/team%20a%2Fb/workflows/booking-1',
    );
  });

  it('when only the dev server runs here, then a link is its inspector page of that workflow (its latest run); with neither, none', () => {
    const inspector = workflowLinks({ inspectorUrl: 'http://localhost:8233/', namespace: 'default' });
    assert.equal(inspector.of('withdrawal-9'), 'http://localhost:8233/workflows/default/withdrawal-9');
    assert.equal(workflowLinks({ namespace: 'default' }).of('booking-1'), null);
  });

  describe('in the API', () => {
    let harness: BookingHarness;
    let admin: Session;
    const UI = 'https://temporal.example.com';
    before(async () => {
      harness = await startBookingHarness({ TEMPORAL_UI_URL: UI });
      admin = await createAdmin(harness.api);
    });
    after(async () => {
      await harness?.close();
    });
    const get = (who: Session, path: string) =>
      harness.api.request('GET', `/api/v1${path}`, { token: who.token });

    it('when an admin reads a booking (alone, listed, in its meeting, in the review queue), then it links to its workflow; its student and teacher get null', async () => {
      const { teacher, student } = await cast(harness.api);
      const meeting = await publishSlot(harness, teacher);
      const booking = await bookOk(harness, student, meeting.id);
      assert.equal(booking.workflowUrl, null);
      const link = `${UI}/namespaces/default/workflows/booking-${booking.id}`;

      assert.equal((await get(admin, `/bookings/${booking.id}`)).body.workflowUrl, link);
      const listed = (await get(admin, '/bookings?limit=100')).body.data.find(
        (b: any) => b.id === booking.id,
      );
      assert.equal(listed.workflowUrl, link);
      const inMeeting = (await get(admin, `/meetings/${meeting.id}`)).body.bookings[0];
      assert.equal(inMeeting.workflowUrl, link);

      for (const who of [student, teacher]) {
        assert.equal((await get(who, `/bookings/${booking.id}`)).body.workflowUrl, null);
        assert.equal((await get(who, '/bookings')).body.data[0].workflowUrl, null);
        assert.equal((await get(who, `/meetings/${meeting.id}`)).body.bookings[0].workflowUrl, null);
      }

      // The queue reads the rows: a booking in review, as its finalisation records it.
      await harness.api.db('bookings').where({ id: booking.id }).update({ status: 'requires_manual_review' });
      const queue = await get(admin, `/admin/reviews?bookingId=${booking.id}`);
      assert.equal(queue.status, 200, queue.text);
      const item = queue.body.data.find((i: any) => i.booking.id === booking.id);
      assert.equal(item.booking.workflowUrl, link);
    });

    it('when an admin reads a withdrawal, then it links to its workflow; its teacher gets null', async () => {
      const { teacher } = await cast(harness.api, { funds: 0 });
      await earn(harness.api, teacher.user.id, 5_000);
      const withdrawal = await withdrawOk(harness.api, teacher, 2_000);
      assert.equal(withdrawal.workflowUrl, null);
      const link = `${UI}/namespaces/default/workflows/withdrawal-${withdrawal.id}`;
      assert.equal((await get(admin, `/withdrawals/${withdrawal.id}`)).body.workflowUrl, link);
      const listed = (await get(admin, '/withdrawals?limit=100')).body.data.find(
        (w: any) => w.id === withdrawal.id,
      );
      assert.equal(listed.workflowUrl, link);
      assert.equal((await get(teacher, `/withdrawals/${withdrawal.id}`)).body.workflowUrl, null);
      assert.equal((await get(teacher, '/withdrawals')).body.data[0].workflowUrl, null);
    });
  });
});
