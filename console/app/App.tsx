// The console's frame: a header with the pages of the user's role and the
// unread count, and the routes. Each role sees its own pages only; the API
// decides what anyone may do, the console only does not offer the rest.
import type { ReactNode } from 'react';
import { Link, Redirect, Route, Switch, useLocation, useSearch } from 'wouter';
import { useSession } from './session';
import type { Role } from './types';
import { LoginPage, RegisterPage, ReLoginDialog } from './pages/auth';
import { NotificationsPage } from './pages/notifications';
import { TopupCancelledPage, TopupReturnPage, WalletPage } from './pages/wallet';
import { TeacherListPage, TeacherPage, CoursePage } from './pages/catalogue';
import { BookingPage, BookingsPage } from './pages/bookings';
import { ClassRoomPage, TeacherClassRoomPage } from './pages/classroom';
import { ClassesPage, MeetingPage } from './pages/classes';
import { RevenuePage } from './pages/revenue';
import { WithdrawalsPage } from './pages/withdrawals';
import { ReviewsPage } from './pages/reviews';
import { AdminWithdrawalsPage } from './pages/admin-withdrawals';

const NAV: Record<Role, { href: string; label: string }[]> = {
  student: [
    { href: '/wallet', label: 'Wallet' },
    { href: '/teachers', label: 'Find a class' },
    { href: '/bookings', label: 'My bookings' },
  ],
  teacher: [
    { href: '/classes', label: 'My classes' },
    { href: '/revenue', label: 'Revenue' },
    { href: '/withdrawals', label: 'Withdrawals' },
  ],
  admin: [
    { href: '/reviews', label: 'Reviews' },
    { href: '/admin/withdrawals', label: 'Withdrawals' },
  ],
};

const HOME: Record<Role, string> = { student: '/wallet', teacher: '/classes', admin: '/reviews' };

export function App() {
  const { session, expired, configFailed } = useSession();
  // Amounts are read and written in the deployment's currency: without it, no page.
  if (configFailed) {
    return (
      <main className="container">
        <h1>The console cannot start</h1>
        <p role="alert" className="notice notice-error">
          It could not load this server's settings (its currency among them), so it shows no amounts rather
          than wrong ones. Reload the page to try again; if it keeps failing, the server is down or
          misconfigured.
        </p>
      </main>
    );
  }
  if (session === null) {
    return (
      <>
        <header className="container">
          <nav aria-label="Site">
            <Brand />
          </nav>
        </header>
        <Switch>
          <Route path="/register" component={RegisterPage} />
          <Route path="/login" component={LoginPage} />
          <Route>
            <ToLogin />
          </Route>
        </Switch>
      </>
    );
  }
  const role = session.user.role;
  return (
    <>
      {expired !== null && <ReLoginDialog />}
      <Header />
      <main className="container">
        <Switch>
          <Route path="/notifications" component={NotificationsPage} />
          <Route path="/bookings/:id">{(params) => <BookingPage id={params.id} />}</Route>
          {only(
            role,
            ['student', 'teacher'],
            <Route path="/bookings/:id/class">{(params) => <ClassRoomPage id={params.id} />}</Route>,
          )}
          {only(role, ['student'], <Route path="/wallet" component={WalletPage} />)}
          {only(role, ['student'], <Route path="/wallet/topups/success" component={TopupReturnPage} />)}
          {only(role, ['student'], <Route path="/wallet/topups/cancelled" component={TopupCancelledPage} />)}
          {only(role, ['student'], <Route path="/teachers" component={TeacherListPage} />)}
          {only(
            role,
            ['student'],
            <Route path="/teachers/:id">{(params) => <TeacherPage id={params.id} />}</Route>,
          )}
          {only(
            role,
            ['student'],
            <Route path="/courses/:id">{(params) => <CoursePage id={params.id} />}</Route>,
          )}
          {only(role, ['student', 'teacher'], <Route path="/bookings" component={BookingsPage} />)}
          {only(role, ['teacher'], <Route path="/classes" component={ClassesPage} />)}
          {only(
            role,
            ['teacher', 'admin'],
            <Route path="/meetings/:id">{(params) => <MeetingPage id={params.id} />}</Route>,
          )}
          {only(
            role,
            ['teacher'],
            <Route path="/meetings/:id/class">{(params) => <TeacherClassRoomPage id={params.id} />}</Route>,
          )}
          {only(role, ['teacher'], <Route path="/revenue" component={RevenuePage} />)}
          {only(role, ['teacher'], <Route path="/withdrawals" component={WithdrawalsPage} />)}
          {only(role, ['admin'], <Route path="/reviews" component={ReviewsPage} />)}
          {only(role, ['admin'], <Route path="/admin/withdrawals" component={AdminWithdrawalsPage} />)}
          <Route path="/">
            <Redirect to={HOME[role]} replace />
          </Route>
          <Route path="/login">
            <Redirect to={HOME[role]} replace />
          </Route>
          <Route>
            <h1>Not found</h1>
            <p>
              There is no such page. <Link href={HOME[role]}>Go to your start page</Link>.
            </p>
          </Route>
        </Switch>
      </main>
    </>
  );
}

/** To the login page, which comes back here (?next=) once the person is in: a link from an email lands where it pointed. */
function ToLogin() {
  const [location] = useLocation();
  const search = useSearch();
  const here = `${location}${search === '' ? '' : `?${search}`}`;
  return <Redirect to={location === '/' ? '/login' : `/login?next=${encodeURIComponent(here)}`} replace />;
}

function only(role: Role, roles: Role[], route: ReactNode): ReactNode {
  return roles.includes(role) ? route : null;
}

/** The product's name, first in every header. */
function Brand() {
  return (
    <ul>
      <li>
        <strong>Class marketplace</strong>
      </li>
    </ul>
  );
}

function Header() {
  const { session, unread, logOut } = useSession();
  const [location] = useLocation();
  if (session === null) return null;
  const { user } = session;
  return (
    <header className="container">
      <nav aria-label="Main">
        <Brand />
        <ul>
          {NAV[user.role].map((item) => (
            <li key={item.href}>
              <Link href={item.href} aria-current={location.startsWith(item.href) ? 'page' : undefined}>
                {item.label}
              </Link>
            </li>
          ))}
          <li>
            <Link href="/notifications" aria-current={location === '/notifications' ? 'page' : undefined}>
              Notifications
              {unread > 0 && (
                <>
                  {' '}
                  <span className="count" data-testid="unread-count">
                    {unread >= 100 ? '99+' : unread}
                  </span>
                  <span className="visually-hidden"> unread</span>
                </>
              )}
            </Link>
          </li>
          <li>
            <button type="button" className="secondary outline small" onClick={() => logOut()}>
              Log out {user.name} ({user.role})
            </button>
          </li>
        </ul>
      </nav>
    </header>
  );
}
