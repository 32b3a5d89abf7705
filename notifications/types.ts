// What a notification says. Each is recorded at most once per (user, event):
// `eventKey` names the event (`booking_confirmed:<booking id>`), so a retried
// activity or request that records it again changes nothing.

export const NOTIFICATION_TYPES = [
  'booking_confirmed',
  'class_opening',
  'booking_cancelled',
  'booking_refunded',
  'payment_released',
  'review_required',
  'review_reminder',
  'review_resolved',
  'withdrawal_requested',
  'withdrawal_reminder',
  'withdrawal_processing',
  'withdrawal_completed',
  'withdrawal_rejected',
  'withdrawal_failed',
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

/** Email can be turned off per category; in-app notifications are always on. */
export const NOTIFICATION_CATEGORIES = ['bookings', 'money', 'reviews'] as const;
export type NotificationCategory = (typeof NOTIFICATION_CATEGORIES)[number];

export const CATEGORY_OF: Record<NotificationType, NotificationCategory> = {
  booking_confirmed: 'bookings',
  class_opening: 'bookings',
  booking_cancelled: 'money',
  booking_refunded: 'money',
  payment_released: 'money',
  review_required: 'reviews',
  review_reminder: 'reviews',
  review_resolved: 'reviews',
  // Admins' work, like reviews.
  withdrawal_requested: 'reviews',
  withdrawal_reminder: 'reviews',
  withdrawal_processing: 'money',
  withdrawal_completed: 'money',
  withdrawal_rejected: 'money',
  withdrawal_failed: 'money',
};

export interface NewNotification {
  userId: string;
  eventKey: string;
  type: NotificationType;
  /** Facts for the message: ids, times (ISO-8601), amounts (minor units), links. */
  payload: Record<string, unknown>;
  /** What it is about (the booking, the withdrawal): the workflow of that source mails it. */
  sourceId: string;
}

export type EmailPreferences = Record<NotificationCategory, boolean>;

export interface NotificationView {
  id: string;
  type: NotificationType;
  payload: Record<string, unknown>;
  read: boolean;
  readAt: string | null;
  createdAt: string;
}
