import { describe, expect, it } from 'vitest';
import { utilityProcessLauncher, type ExitInfo } from '../../../electron/main/service-process.js';
import { summarizeStderr } from '../../../electron/main/service-exit.js';
import { createFakeElectron, type FakeUtilityProcess } from '../../support/fake-electron.js';

describe('utilityProcessLauncher', () => {
  function launch() {
    const fake = createFakeElectron('/app');
    const messages: unknown[] = [];
    const exits: ExitInfo[] = [];
    const proc = utilityProcessLauncher(fake, '/app/dist/src/cli/main.js')(
      { args: ['serve'], env: { ORCHARD_HOME: '/h' } },
      {
        onMessage: (m) => messages.push(m),
        onExit: (e) => exits.push(e),
        onOutput: () => undefined,
      },
    );
    const child = fake.utilityProcesses[0] as FakeUtilityProcess;
    return { fake, proc, child, messages, exits };
  }

  it('forks the service entry with its arguments, environment and piped output', () => {
    const { child, proc } = launch();
    expect(child.modulePath).toBe('/app/dist/src/cli/main.js');
    expect(child.args).toEqual(['serve']);
    expect(child.options).toMatchObject({ env: { ORCHARD_HOME: '/h' }, stdio: 'pipe' });
    expect(proc.pid).toBe(4242);
  });

  it('passes messages both ways over the parent port and reports the exit once', () => {
    const { child, proc, messages, exits } = launch();
    child.emit('message', { type: 'orchard:status', state: 'ready' });
    expect(messages).toEqual([{ type: 'orchard:status', state: 'ready' }]);
    expect(proc.send({ type: 'orchard:shutdown' })).toBe(true);
    expect(child.posted).toEqual([{ type: 'orchard:shutdown' }]);
    child.emit('exit', 0);
    child.emit('exit', 0);
    expect(exits).toEqual([{ code: 0, signal: null }]);
    // After the exit, nothing more is sent or killed.
    expect(proc.send({ type: 'orchard:shutdown' })).toBe(false);
    proc.kill('SIGTERM');
    expect(child.killed).toBe(0);
  });

  it('a polite kill uses utilityProcess.kill()', () => {
    const { child, proc } = launch();
    proc.kill('SIGTERM');
    expect(child.killed).toBe(1);
  });

  it('a fork that throws is reported as an exit with the reason', async () => {
    const fake = createFakeElectron('/app');
    fake.utilityProcess.fork = () => {
      throw new Error('spawn failed');
    };
    const exits: ExitInfo[] = [];
    utilityProcessLauncher(fake, '/x.js')(
      { args: [], env: {} },
      { onMessage: () => undefined, onExit: (e) => exits.push(e), onOutput: () => undefined },
    );
    await Promise.resolve();
    expect(exits).toEqual([{ code: null, signal: null, spawnError: 'spawn failed' }]);
  });
});

describe('summarizeStderr', () => {
  it('prefers an error-level JSON log record', () => {
    const text = [
      '{"level":30,"msg":"starting"}',
      '{"level":50,"msg":"could not open the registry","err":{"message":"SQLITE_CANTOPEN"}}',
      '{"level":30,"msg":"bye"}',
    ].join('\n');
    expect(summarizeStderr(text)).toBe('could not open the registry: SQLITE_CANTOPEN');
  });

  it('then a line that certainly is an error, over warnings and noise', () => {
    const text = [
      "Warning: Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file",
      '09:08:02.263 ERROR model failed to load model=orchard-chat@1',
      'at foo (bar.js:1:1)',
    ].join('\n');
    expect(summarizeStderr(text)).toBe(
      '09:08:02.263 ERROR model failed to load model=orchard-chat@1',
    );
    expect(summarizeStderr('orchard: setting port must be between 0 and 65535; got 70000\n')).toBe(
      'orchard: setting port must be between 0 and 65535; got 70000',
    );
    expect(
      summarizeStderr("node:internal\nError: Cannot find module '/x.js'\n  at y\n{ code: 1 }"),
    ).toBe("Error: Cannot find module '/x.js'");
  });

  it('after a kill, ignores output that does not say error', () => {
    const warn = "Warning: Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file";
    expect(summarizeStderr(warn, true)).toBe('');
    expect(summarizeStderr(`${warn}\nthe end`, false)).toBe('the end');
  });
});
