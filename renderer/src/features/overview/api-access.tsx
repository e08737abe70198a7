/**
 * How to call the API: base URL and key. The key is fetched from /api/key only when the user
 * asks to see or copy it, so it is never part of the page until then.
 */
import { useState } from 'react';
import { admin } from '../../api/admin.js';
import { errorMessage } from '../../api/http.js';
import { CopyButton } from '../../components/copy-button.js';
import { CopyField } from '../../components/copy-field.js';
import { Icon } from '../../components/icons.js';
import { InlineError } from '../../components/states.js';

export function ApiAccess({
  apiBaseUrl,
  auth,
  exampleModel,
}: {
  apiBaseUrl: string;
  auth: boolean;
  exampleModel: string;
}) {
  const [key, setKey] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const fetchKey = async (): Promise<string> => {
    setError(null);
    try {
      const { apiKey } = await admin.apiKey();
      return apiKey;
    } catch (e) {
      setError(errorMessage(e));
      throw e;
    }
  };

  const toggle = async () => {
    if (key !== null) {
      setKey(null);
      return;
    }
    setBusy(true);
    try {
      setKey(await fetchKey());
    } catch {
      // shown by fetchKey
    } finally {
      setBusy(false);
    }
  };

  const snippet = [
    `curl ${apiBaseUrl}/chat/completions \\`,
    `  -H "Authorization: Bearer $ORCHARD_API_KEY" \\`,
    `  -H "Content-Type: application/json" \\`,
    `  -d '{"model": "${exampleModel}",`,
    `       "messages": [{"role": "user", "content": "Hello!"}]}'`,
  ].join('\n');

  return (
    <div className="stack">
      <div className="field">
        <span className="field-label" id="api-base-label">
          API base URL
        </span>
        <CopyField value={apiBaseUrl} label="API base URL" />
      </div>
      <div className="field">
        <span className="field-label" id="api-key-label">
          API key {auth ? null : <span className="faint">(auth is off on this server)</span>}
        </span>
        <div className="copy-field">
          <code aria-labelledby="api-key-label" data-testid="api-key-value">
            {key ?? '•'.repeat(32)}
          </code>
          <button
            type="button"
            className="btn btn-small"
            onClick={() => void toggle()}
            disabled={busy}
            aria-pressed={key !== null}
          >
            <Icon name="eye" size={15} />
            {key !== null ? 'Hide' : 'Show'}
          </button>
          <CopyButton getText={() => key ?? fetchKey()} label="Copy API key" />
        </div>
      </div>
      <InlineError message={error} onDismiss={() => setError(null)} />
      <div className="field">
        <div className="row snippet-head">
          <span className="field-label">Try it</span>
          <CopyButton getText={() => snippet} label="Copy example request" compact />
        </div>
        <pre className="snippet" aria-label="Example request">
          {snippet}
        </pre>
      </div>
    </div>
  );
}
