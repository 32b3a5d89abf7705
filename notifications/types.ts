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
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

/** Email preference categories (the notifications issue builds email on these). */
export const CATEGORY_OF: Record<NotificationType, 'bookings' | 'money' | 'reviews'> = {
  booking_confirmed: 'bookings',
  class_opening: 'bookings',
  booking_cancelled: 'money',
  booking_refunded: 'money',
  payment_released: 'money',
  review_required: 'reviews',
  review_reminder: 'reviews',
  review_resolved: 'reviews',
};

export interface NewNotification {
  userId: string;
  eventKey: string;
  type: NotificationType;
  /** Facts for the message: ids, times (ISO-8601), amounts (minor units), links. */
  payload: Record<string, unknown>;
}

export interface NotificationView {
  id: string;
  type: NotificationType;
  payload: Record<string, unknown>;
  read: boolean;
  readAt: string | null;
  createdAt: string;
}
