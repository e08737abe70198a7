/** `orchard serve`: runs the service in the foreground and prints where it listens. */
import type { Command } from 'commander';
import { startService } from '../../service/service.js';
import { addSettingOptions, settingsFromCommand } from '../setting-options.js';

export function registerServe(program: Command): void {
  const cmd = program
    .command('serve')
    .description('Serve models over the OpenAI-compatible API and the web UI (Ctrl-C stops).');
  addSettingOptions(cmd);
  cmd.action(async () => {
    const resolved = settingsFromCommand(cmd);
    const { urls } = await startService(resolved);
    const out = process.stdout;
    out.write(`Orchard is serving ${urls.serving.join(', ') || 'no model yet'}\n`);
    if (urls.loadError) out.write(`  warning: the model did not load: ${urls.loadError}\n`);
    out.write(`  API: ${urls.apiUrl}\n`);
    out.write(`  UI:  ${urls.uiUrl}\n`);
    if (resolved.settings.auth) {
      out.write(
        `  Send the API key as "Authorization: Bearer <key>"; \`orchard key\` prints it.\n`,
      );
    } else {
      out.write(`  Authentication is off (loopback only).\n`);
    }
  });
}
