/** Desktop-only options, offered only when the Electron preload bridge is present. */
import { useEffect, useState } from 'react';
import { errorMessage } from '../../api/http.js';
import { desktopBridge } from '../../desktop.js';
import { Icon } from '../../components/icons.js';
import { InlineError } from '../../components/states.js';

export function DesktopSettings() {
  const bridge = desktopBridge();
  const [startAtLogin, setStartAtLogin] = useState<boolean | null>(null);
  const [appVersion, setAppVersion] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const b = desktopBridge();
    if (!b) return;
    let live = true;
    b.getStartAtLogin().then(
      (v) => live && setStartAtLogin(v),
      (e: unknown) => live && setError(errorMessage(e)),
    );
    b.appVersion().then(
      (v) => live && setAppVersion(v),
      () => undefined,
    );
    // The tray menu can change it too.
    const off = b.onStartAtLoginChanged((v) => live && setStartAtLogin(v));
    return () => {
      live = false;
      off();
    };
  }, []);

  if (!bridge) {
    return (
      <p className="muted">
        Start at login, the data folder and log files are available in the Orchard desktop app. This
        page is open in a browser.
      </p>
    );
  }

  const toggle = async (enabled: boolean) => {
    setError(null);
    setStartAtLogin(enabled);
    try {
      setStartAtLogin(await bridge.setStartAtLogin(enabled));
    } catch (e) {
      setStartAtLogin(!enabled);
      setError(errorMessage(e));
    }
  };
  const run = (action: () => Promise<unknown>) => {
    setError(null);
    action().catch((e: unknown) => setError(errorMessage(e)));
  };

  return (
    <div className="stack">
      <label className="switch">
        <input
          type="checkbox"
          checked={startAtLogin ?? false}
          disabled={startAtLogin === null}
          onChange={(e) => void toggle(e.target.checked)}
        />
        <span>Start Orchard when I log in</span>
      </label>
      <div className="row wrap">
        <button type="button" className="btn" onClick={() => run(bridge.openDataFolder)}>
          <Icon name="folder" size={16} /> Open data folder
        </button>
        <button type="button" className="btn" onClick={() => run(bridge.revealLogs)}>
          <Icon name="logs" size={16} /> Show log files
        </button>
      </div>
      {appVersion ? <p className="faint">Orchard desktop {appVersion}</p> : null}
      <InlineError message={error} onDismiss={() => setError(null)} />
    </div>
  );
}
