// The console's entry: styles, the session, the router under /console.
import '@picocss/pico/css/pico.min.css';
import './styles.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Router } from 'wouter';
import { App } from './App';
import { SessionProvider } from './session';

const root = document.getElementById('root');
if (root === null) throw new Error('the page has no #root');
createRoot(root).render(
  <StrictMode>
    <SessionProvider>
      <Router base="/console">
        <App />
      </Router>
    </SessionProvider>
  </StrictMode>,
);
