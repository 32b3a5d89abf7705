// Register and log in. A failed attempt leaves the form as it was typed.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link, useLocation, useSearch } from 'wouter';
import { request } from '../api';
import { useAction, useFields } from '../hooks';
import { useSession } from '../session';
import type { Session } from '../types';
import { ErrorNotice, Field } from '../ui';

/**
 * Where to go once logged in: the page a link asked for (an email's "Join the
 * class"), kept in ?next= while the person logs in, if it is a path of this
 * console; else the start page.
 */
export function nextPath(search: string): string {
  const next = new URLSearchParams(search).get('next');
  return next !== null && /^\/[\w-]+(\/[\w-]+)*(\?[\w=&-]*)?$/.test(next) ? next : '/';
}

export function LoginPage() {
  const { logIn, endedBecause } = useSession();
  const [, navigate] = useLocation();
  const search = useSearch();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const login = useAction(async () => {
    const session = await request<Session>('POST', '/auth/login', { body: { email, password } });
    logIn(session);
    navigate(nextPath(search));
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void login.run();
  };
  return (
    <main className="container narrow">
      <h1>Log in</h1>
      {endedBecause && <p role="status">{endedBecause}</p>}
      <form onSubmit={submit} aria-label="Log in">
        <Field
          label="Email"
          id="login-email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <Field
          label="Password"
          id="login-password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <ErrorNotice error={login.error} />
        <button type="submit" aria-busy={login.pending} disabled={login.pending}>
          Log in
        </button>
      </form>
      <p>
        New here? <Link href={`/register${search === '' ? '' : `?${search}`}`}>Create an account</Link>
      </p>
    </main>
  );
}

export function RegisterPage() {
  const { logIn } = useSession();
  const [, navigate] = useLocation();
  const search = useSearch();
  const [form, set] = useFields({
    name: '',
    email: '',
    password: '',
    role: 'student',
    referralCode: '',
  });
  const register = useAction(async () => {
    const body = {
      name: form.name,
      email: form.email,
      password: form.password,
      role: form.role,
      ...(form.role === 'student' && form.referralCode.trim() !== ''
        ? { referralCode: form.referralCode.trim() }
        : {}),
    };
    const session = await request<Session>('POST', '/auth/register', { body });
    logIn(session);
    navigate(nextPath(search));
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void register.run();
  };
  return (
    <main className="container narrow">
      <h1>Create an account</h1>
      <form onSubmit={submit} aria-label="Create an account">
        <Field
          label="Name"
          id="register-name"
          autoComplete="name"
          required
          value={form.name}
          onChange={set('name')}
        />
        <Field
          label="Email"
          id="register-email"
          type="email"
          autoComplete="email"
          required
          value={form.email}
          onChange={set('email')}
        />
        <Field
          label="Password"
          id="register-password"
          type="password"
          autoComplete="new-password"
          required
          value={form.password}
          onChange={set('password')}
          hint="At least 8 characters."
        />
        <fieldset>
          <legend>I am a</legend>
          <label>
            <input
              type="radio"
              name="role"
              value="student"
              checked={form.role === 'student'}
              onChange={set('role')}
            />
            Student
          </label>
          <label>
            <input
              type="radio"
              name="role"
              value="teacher"
              checked={form.role === 'teacher'}
              onChange={set('role')}
            />
            Teacher
          </label>
        </fieldset>
        {form.role === 'student' && (
          <Field
            label="Referral code (optional)"
            id="register-referral"
            value={form.referralCode}
            onChange={set('referralCode')}
          />
        )}
        <ErrorNotice error={register.error} />
        <button type="submit" aria-busy={register.pending} disabled={register.pending}>
          Create account
        </button>
      </form>
      <p>
        Already registered? <Link href="/login">Log in</Link>
      </p>
    </main>
  );
}

/**
 * Logs the same person in again when the API refused their token, over the
 * page they were on: a modal dialog, so the page (and every field typed into
 * it) stays mounted beneath it and the request can be sent again after.
 */
export function ReLoginDialog() {
  const { session, expired, logIn, logOut } = useSession();
  const dialog = useRef<HTMLDialogElement>(null);
  const [password, setPassword] = useState('');
  const email = session?.user.email ?? '';
  useEffect(() => {
    const element = dialog.current;
    if (element !== null && !element.open) element.showModal();
  }, []);
  const login = useAction(async () => {
    logIn(await request<Session>('POST', '/auth/login', { body: { email, password } }));
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void login.run();
  };
  return (
    <dialog
      ref={dialog}
      aria-labelledby="relogin-title"
      onCancel={(event) => event.preventDefault() /* Escape would leave the page unusable */}
    >
      <article>
        <h2 id="relogin-title">Log in again</h2>
        <p role="status">{expired}</p>
        <form onSubmit={submit} aria-label="Log in again">
          <Field
            label="Email"
            id="relogin-email"
            type="email"
            autoComplete="username"
            readOnly
            value={email}
          />
          <Field
            label="Password"
            id="relogin-password"
            type="password"
            autoComplete="current-password"
            required
            autoFocus
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <ErrorNotice error={login.error} />
          <button type="submit" aria-busy={login.pending} disabled={login.pending}>
            Log in
          </button>{' '}
          <button type="button" className="secondary" onClick={() => logOut()}>
            Log out instead
          </button>
        </form>
      </article>
    </dialog>
  );
}
