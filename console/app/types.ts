// The API's shapes as the console reads them (the OpenAPI document at
// /openapi.json is the contract; the vocabulary comes from domain/, which is
// pure and safe to share with the browser).
import type { BookingStatus, Outcome, Settlement } from '../../domain/booking';

export type { BookingStatus, Outcome, Settlement };
export type Role = 'student' | 'teacher' | 'admin';

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  referralCode: string | null;
  referredByTeacherId: string | null;
  createdAt: string;
}

export interface Session {
  user: User;
  token: string;
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface Wallet {
  currency: string;
  available: number;
  held: number;
  total: number;
}

export interface StatementLine {
  id: string;
  type: 'deposit' | 'purchase' | 'refund' | 'commission' | 'withdrawal';
  amount: number;
  balanceBefore: number;
  balanceAfter: number;
  status: 'pending' | 'completed' | 'cancelled' | 'failed';
  reference: { type: string; id: string } | null;
  description: string | null;
  createdAt: string;
}

export interface Topup {
  id: string;
  sessionId: string;
  url: string | null;
  amount: number;
  currency: string;
  status: 'open' | 'paid' | 'expired' | 'failed' | 'mismatched';
  createdAt: string;
  paidAt: string | null;
}

export interface Meeting {
  id: string;
  teacherId: string;
  courseId: string | null;
  title: string | null;
  startsAt: string;
  endsAt: string;
  durationMinutes: number;
  price: number;
  capacity: number;
  seatsLeft: number;
  status: 'scheduled' | 'cancelled';
}

export interface Attendance {
  seconds: number;
  percent: number;
  teacherSeconds: number;
}

export interface Booking {
  id: string;
  meetingId: string;
  studentId: string;
  teacherId: string;
  title: string | null;
  teacherName: string;
  studentName: string;
  price: number;
  status: BookingStatus;
  settlement: Settlement;
  outcome: Outcome | null;
  attendance: Attendance | null;
  amounts: { refunded: number; teacher: number; platform: number } | null;
  startsAt: string;
  endsAt: string;
  workflowId: string;
  workflowUrl?: string | null;
  createdAt: string;
}

export interface MeetingDetail extends Meeting {
  bookings: Booking[];
}

export interface Course {
  id: string;
  teacherId: string;
  title: string;
  description: string | null;
  capacity: number;
  pricePerSession: number;
  priceFullCourse: number | null;
  sessions: Meeting[];
}

export interface Interval {
  fromMs: number;
  toMs: number;
}

export interface ReviewItem {
  booking: Booking;
  reason: Outcome | null;
  disputeReason: string | null;
  evidence: {
    attendance:
      | (Attendance & { studentIntervals: Interval[]; teacherIntervals: Interval[]; eventsDropped: boolean })
      | null;
    events: {
      id: string;
      event: string;
      identity: string | null;
      participantSid: string | null;
      at: string;
    }[];
  };
}

export interface JoinInfo {
  url: string;
  roomName: string;
  token: string;
}

export interface Notification {
  id: string;
  type: string;
  payload: Record<string, unknown>;
  read: boolean;
  readAt: string | null;
  createdAt: string;
}

export type WithdrawalStatus = 'pending' | 'processing' | 'completed' | 'rejected' | 'failed';

export interface Withdrawal {
  id: string;
  teacherId: string;
  amount: number;
  currency: string;
  status: WithdrawalStatus;
  provider: 'manual' | 'stripe';
  bankAccount: { holderName: string; bankName: string | null; last4: string };
  reason: string | null;
  reference: string | null;
  decidedAt: string | null;
  completedAt: string | null;
  workflowId: string;
  workflowUrl?: string | null;
  createdAt: string;
}

export interface TeacherRevenue {
  currency: string;
  totalEarnings: number;
  available: number;
  pending: number;
  inWithdrawal: number;
  withdrawn: number;
  series?: { period: string; earnings: number; refunds: number; withdrawals: number }[];
}

export interface ConsoleConfig {
  currency: string;
  testDeposits: boolean;
  topups: boolean;
}

/** GET /teachers/:id/courses: a course still to come, with what enrolling would hold now. */
export interface CourseOffer {
  id: string;
  teacherId: string;
  title: string;
  description: string | null;
  capacity: number;
  pricePerSession: number;
  priceFullCourse: number | null;
  sessions: number;
  upcomingSessions: number;
  nextStartsAt: string;
  lastEndsAt: string;
  seatsLeft: number;
  enrolmentPrice: number;
}
