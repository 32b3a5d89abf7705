// Lint rules that catch real bugs in this codebase: un-awaited promises (a lost
// ledger write or signal), and Node built-ins inside Temporal workflow code (which
// would break determinism and fail the workflow bundle).
import js from '@eslint/js';
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

// Every Node built-in, bare and `node:`-prefixed, from Node itself (never a hand list).
const nodeBuiltins = [
  ...new Set(builtinModules.flatMap((m) => (m.startsWith('node:') ? [m] : [m, `node:${m}`]))),
];

const builtinBan = (message) => nodeBuiltins.map((name) => ({ name, message }));

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'data/**', '.tmp/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-explicit-any': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // Tests read JSON answers whose shape is the thing under test.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Workflows are replayed: deterministic code only. They see the pure rules
    // (domain/), their own shared definitions and presets, and activities as
    // types (calls go through proxyActivities), nothing else of the app.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: builtinBan('Workflow code must be deterministic and bundle-safe: no Node built-ins.'),
          patterns: [
            {
              group: ['../*', '!../domain', '!../domain/*', '!../activities', '!../activities/*'],
              message: 'Workflows import domain/, workflows/ and activity types only.',
            },
            {
              group: ['../activities', '../activities/*'],
              allowTypeImports: true,
              message: 'Workflows call activities through proxyActivities: `import type` only.',
            },
            {
              regex: '^(?!@temporalio/(workflow|common)$|\\.\\.?/)',
              message:
                'Workflows use @temporalio/workflow and @temporalio/common only (bundle-safe, deterministic).',
            },
          ],
        },
      ],
    },
  },
  {
    // The rules of the business, pure: no I/O, no clock, no Temporal, no other folder.
    files: ['domain/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: builtinBan('domain/ is pure: no Node built-ins.'),
          patterns: [
            {
              regex: '^(?!\\./)',
              message: 'domain/ is pure rules: it imports nothing but itself.',
            },
          ],
        },
      ],
    },
  },
  {
    // Only api/ knows HTTP; services below it throw domain errors.
    files: [
      'users/**/*.ts',
      'wallet/**/*.ts',
      'bookings/**/*.ts',
      'ledger/**/*.ts',
      'activities/**/*.ts',
      'notifications/**/*.ts',
      'withdrawals/**/*.ts',
      'temporal-client/**/*.ts',
      'payments/**/*.ts',
      'revenue/**/*.ts',
    ],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../api', '../api/*', 'express'],
              message: 'Only api/ knows HTTP: throw domain/errors.',
            },
          ],
        },
      ],
    },
  },
);
