/**
 * Child process for the crash-safety tests: runs one registry operation and kills itself with
 * SIGKILL at a named point, the way a power cut or an OOM kill would end it.
 *   import <home> <src> <stage>          stage: copy-mid | sync | rename | register | done
 *   pull   <home> <endpoint> <bytes>     killed once more than <bytes> have been downloaded
 *   deploy <home> <point>                point: warming | switched
 */
import { loadEngine } from '../../src/engine/engine-host.js';
import { RegistryRuntime } from '../../src/deploy/registry-runtime.js';
import { importFolder } from '../../src/registry/importer.js';
import { hubConfigFromEnv } from '../../src/registry/hub/hub-api.js';
import { pullModel } from '../../src/registry/hub/pull.js';
import { Registry } from '../../src/registry/registry.js';
import { createLogger } from '../../src/service/logger.js';
import { defaultSettings } from '../../src/shared/settings.js';
import { SHIPPED_DIR } from './rollout-helpers.js';

const die = (): never => {
  process.stdout.write('killing\n');
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable');
};

const [mode, home, a, b] = process.argv.slice(2);

if (mode === 'import') {
  const registry = await Registry.open({ home, shippedModelsDir: SHIPPED_DIR });
  await importFolder(registry, {
    path: a,
    name: 'crash',
    onProgress: (p) => {
      if (b === 'copy-mid' && p.stage === 'copy' && p.bytesDone > p.bytesTotal / 2) die();
      if (p.stage === b) die();
    },
  });
  die();
} else if (mode === 'pull') {
  const registry = await Registry.open({ home, shippedModelsDir: SHIPPED_DIR });
  await pullModel(
    registry,
    hubConfigFromEnv({ HF_ENDPOINT: a }),
    { repo: 'orchard/chat', name: 'pulled' },
    (p) => {
      if (p.bytesDone > Number(b)) die();
    },
  );
  die();
} else if (mode === 'deploy') {
  const settings = { ...defaultSettings(), home, threads: 1, kvCacheMb: 32, logLevel: 'silent' };
  const { logger } = createLogger('silent', { console: null });
  const runtime = await RegistryRuntime.open({
    settings,
    logger,
    load: loadEngine,
    shippedModelsDir: SHIPPED_DIR,
  });
  await runtime.rollouts.deploy('orchard-chat', '2', (message) => {
    if (a === 'warming' && message.startsWith('warming up')) die();
    if (a === 'switched' && message.startsWith('serving')) die();
  });
  die();
} else {
  throw new Error(`unknown mode ${mode}`);
}
