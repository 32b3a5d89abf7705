// The console's browser bundle, built in memory by esbuild from console/app
// when the app first serves it: `npm start` and `npm test` need no build step
// of their own and nothing built is committed. One build per process.
import * as path from 'node:path';
import { build } from 'esbuild';

export interface ConsoleAsset {
  body: Buffer;
  contentType: string;
}

export interface ConsoleBundle {
  /** The entry points' hashed file names, as the page links them. */
  script: string;
  stylesheet: string;
  /** Every output file by its name under /console/assets/ (the entry's chunks too). */
  assets: ReadonlyMap<string, ConsoleAsset>;
}

const APP_DIR = path.resolve(__dirname, 'app');
const OUT_DIR = path.join(APP_DIR, 'out'); // never written: `write: false`

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

let building: Promise<ConsoleBundle> | undefined;

/** The bundle, built on first use; a failed build is tried again on the next call. */
export function consoleBundle(): Promise<ConsoleBundle> {
  building ??= buildConsole().catch((error: unknown) => {
    building = undefined;
    throw error;
  });
  return building;
}

async function buildConsole(): Promise<ConsoleBundle> {
  const result = await build({
    entryPoints: [path.join(APP_DIR, 'main.tsx')],
    absWorkingDir: APP_DIR, // the metafile's paths are relative to it
    bundle: true,
    write: false,
    outdir: OUT_DIR,
    entryNames: 'console-[hash]',
    chunkNames: 'chunk-[hash]',
    format: 'esm',
    // What only some pages need (livekit-client, for the class room) is a chunk
    // of its own, loaded when such a page opens.
    splitting: true,
    metafile: true,
    platform: 'browser',
    target: ['chrome111', 'firefox115', 'safari16'],
    jsx: 'automatic',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    // React's production build: no development checks, no warnings in the console.
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  });
  const assets = new Map<string, ConsoleAsset>();
  for (const file of result.outputFiles) {
    const name = path.relative(OUT_DIR, file.path);
    const type = CONTENT_TYPES[path.extname(name)] ?? 'text/plain; charset=utf-8';
    assets.set(name, { body: Buffer.from(file.contents), contentType: type });
  }
  // By its entry point: with splitting, a dynamically imported module's chunk has one too.
  const entry = Object.entries(result.metafile.outputs).find(
    ([, output]) => output.entryPoint === 'main.tsx',
  );
  if (entry === undefined) throw new Error('the console build produced no entry script');
  const [script, { cssBundle }] = entry;
  if (cssBundle === undefined) throw new Error('the console build produced no stylesheet');
  const nameOf = (output: string) => path.relative(OUT_DIR, path.resolve(APP_DIR, output));
  return { script: nameOf(script), stylesheet: nameOf(cssBundle), assets };
}
