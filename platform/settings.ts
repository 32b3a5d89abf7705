// Start-up: read the settings or stop with a message that names what is wrong.
import fs from 'node:fs';
import { ConfigError, loadSettings, type Settings } from '../config/settings';

/** Settings from the environment, completed by ./.env when present (the environment wins). */
export function settingsOrExit(): Settings {
  if (fs.existsSync('.env')) process.loadEnvFile('.env');
  try {
    return loadSettings();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`${error.message}\nSee README.md (Configuration) for every setting.`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}
