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
    b.getStartAtLogin?.().then(
      (v) => live && setStartAtLogin(v),
      (e: unknown) => live && setError(errorMessage(e)),
    );
    b.appVersion?.().then(
      (v) => live && setAppVersion(v),
      () => undefined,
    );
    return () => {
      live = false;
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
      await bridge.setStartAtLogin?.(enabled);
    } catch (e) {
      setStartAtLogin(!enabled);
      setError(errorMessage(e));
    }
  };

  return (
    <div className="stack">
      {bridge.setStartAtLogin ? (
        <label className="switch">
          <input
            type="checkbox"
            checked={startAtLogin ?? false}
            disabled={startAtLogin === null}
            onChange={(e) => void toggle(e.target.checked)}
          />
          <span>Start Orchard when I log in</span>
        </label>
      ) : null}
      <div className="row wrap">
        {bridge.openDataFolder ? (
          <button
            type="button"
            className="btn"
            onClick={() =>
              void bridge.openDataFolder?.().catch((e: unknown) => setError(errorMessage(e)))
            }
          >
            <Icon name="folder" size={16} /> Open data folder
          </button>
        ) : null}
        {bridge.revealLogs ? (
          <button
            type="button"
            className="btn"
            onClick={() =>
              void bridge.revealLogs?.().catch((e: unknown) => setError(errorMessage(e)))
            }
          >
            <Icon name="logs" size={16} /> Show log files
          </button>
        ) : null}
      </div>
      {appVersion ? <p className="faint">Orchard desktop {appVersion}</p> : null}
      <InlineError message={error} onDismiss={() => setError(null)} />
    </div>
  );
}
