/** Playground: chat with any deployment or exact version, streaming, with sampling controls. */
import { useCallback, useState, type FormEvent, type KeyboardEvent } from 'react';
import { admin, openaiModels } from '../../api/admin.js';
import { useResource } from '../../api/hooks.js';
import { Icon } from '../../components/icons.js';
import { PageHeader, Panel } from '../../components/layout.js';
import { EmptyState, InlineError } from '../../components/states.js';
import { MessageList } from './message-list.js';
import {
  DEFAULT_SAMPLING,
  SamplingPanel,
  toOptions,
  type SamplingDraft,
} from './sampling-panel.js';
import { useChat } from './use-chat.js';
import './playground.css';

export function PlaygroundView({ initialModel }: { initialModel: string | null }) {
  // The OpenAI model list is the fallback, so chat still works if the admin routes fail.
  const load = useCallback(async (signal: AbortSignal) => {
    const [deployments, models, served] = await Promise.allSettled([
      admin.deployments(signal),
      admin.models(signal),
      openaiModels(signal),
    ]);
    if (deployments.status === 'rejected' && served.status === 'rejected') throw deployments.reason;
    return {
      deployments: deployments.status === 'fulfilled' ? deployments.value : [],
      models: models.status === 'fulfilled' ? models.value : [],
      served: served.status === 'fulfilled' ? served.value : [],
    };
  }, []);
  const options = useResource(load);
  const [picked, setPicked] = useState<string | null>(initialModel);
  const [draft, setDraft] = useState('');
  const [sampling, setSampling] = useState<SamplingDraft>(DEFAULT_SAMPLING);
  const chat = useChat();

  const deployments = options.data?.deployments ?? [];
  const versions = (options.data?.models ?? []).flatMap((m) =>
    m.versions.filter((v) => v.state === 'ready').map((v) => `${v.model}@${v.version}`),
  );
  const named = new Set([...deployments.map((d) => d.name), ...versions]);
  const otherServed = (options.data?.served ?? []).filter((id) => !named.has(id));
  const model = picked ?? deployments[0]?.name ?? otherServed[0] ?? versions[0] ?? '';
  const known = named.has(model) || otherServed.includes(model);

  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    const text = draft.trim();
    if (!text || !model || chat.streaming) return;
    setDraft('');
    void chat.send(text, model, sampling.system, toOptions(sampling));
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      submit();
    }
  };

  const picker = (
    <div className="field field-inline">
      <label htmlFor="pg-model">Model</label>
      <select
        id="pg-model"
        className="select mono"
        value={model}
        onChange={(e) => setPicked(e.target.value)}
        disabled={chat.streaming}
      >
        {!known && model ? <option value={model}>{model}</option> : null}
        {deployments.length > 0 ? (
          <optgroup label="Deployments">
            {deployments.map((d) => (
              <option key={d.name} value={d.name}>
                {d.name}
              </option>
            ))}
          </optgroup>
        ) : null}
        {otherServed.length > 0 ? (
          <optgroup label="Served models">
            {otherServed.map((id) => (
              <option key={id} value={id}>
                {id}
              </option>
            ))}
          </optgroup>
        ) : null}
        {versions.length > 0 ? (
          <optgroup label="Exact versions">
            {versions.map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </optgroup>
        ) : null}
        {!model ? <option value="">No models</option> : null}
      </select>
    </div>
  );

  return (
    <>
      <PageHeader
        title="Playground"
        description="Chat with a deployment (routed like any client) or with one exact version."
        actions={
          <>
            {picker}
            <button
              type="button"
              className="btn"
              onClick={chat.clear}
              disabled={chat.turns.length === 0}
            >
              Clear chat
            </button>
          </>
        }
      />
      {options.error && !options.data ? (
        <InlineError message={`Could not list models: ${options.error.message}`} />
      ) : null}
      <div className="playground">
        <Panel className="chat-panel">
          <div className="chat">
            {chat.turns.length === 0 ? (
              <EmptyState icon="playground" title="Start a conversation">
                Replies stream in as they are generated. Each shows the version that answered, its
                time to first token and its speed.
              </EmptyState>
            ) : (
              <MessageList turns={chat.turns} />
            )}
            <form className="composer" onSubmit={submit}>
              <label htmlFor="pg-input" className="visually-hidden">
                Message
              </label>
              <textarea
                id="pg-input"
                className="textarea composer-input"
                rows={2}
                placeholder={
                  model
                    ? `Message ${model}  (Enter to send, Shift+Enter for a new line)`
                    : 'Add a model first'
                }
                value={draft}
                onChange={(e) => setDraft(e.target.value)}
                onKeyDown={onKeyDown}
              />
              {chat.streaming ? (
                <button type="button" className="btn btn-danger composer-btn" onClick={chat.stop}>
                  <Icon name="stop" size={15} /> Stop
                </button>
              ) : (
                <button
                  type="submit"
                  className="btn btn-primary composer-btn"
                  disabled={!draft.trim() || !model}
                >
                  <Icon name="send" size={15} /> Send
                </button>
              )}
            </form>
          </div>
        </Panel>
        <Panel title="Parameters" className="params-panel" id="parameters">
          <SamplingPanel value={sampling} onChange={setSampling} disabled={chat.streaming} />
        </Panel>
      </div>
    </>
  );
}
