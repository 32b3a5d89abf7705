// The booking search attributes (BookingId, MeetingId, TeacherId, StudentId,
// BookingStatus) must exist in the namespace before a workflow may carry
// them: registered at start through the operator service when missing, so
// support staff can filter `BookingStatus="requires_manual_review"` in the
// Temporal UI (or the dev server's inspector).
import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { BookingSearchAttributes } from '../workflows/shared';

const KEYWORD = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;

export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const wanted = Object.values(BookingSearchAttributes).map((key) => key.name);
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set([
    ...Object.keys(existing.customAttributes ?? {}),
    ...Object.keys(existing.systemAttributes ?? {}),
  ]);
  const missing = wanted.filter((name) => !known.has(name));
  if (missing.length > 0) {
    try {
      await connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map((name) => [name, KEYWORD])),
      });
    } catch (error) {
      // Another process registered them at the same moment.
      if ((error as { code?: number }).code !== 6 /* ALREADY_EXISTS */) throw error;
    }
  }
  return missing;
}
