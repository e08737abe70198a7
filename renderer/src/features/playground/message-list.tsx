/** The conversation, with each reply's served version, time to first token and speed. */
import { useEffect, useRef } from 'react';
import { formatMs, formatRate } from '../../components/format.js';
import { Icon } from '../../components/icons.js';
import { Badge } from '../../components/layout.js';
import type { Turn } from './use-chat.js';

function ReplyMeta({ turn }: { turn: Turn }) {
  const r = turn.result;
  return (
    <div className="reply-meta" data-testid="reply-meta">
      {r?.model ? (
        <Badge
          tone={r.model === turn.requested ? 'neutral' : 'info'}
          title={`Asked for ${turn.requested}`}
        >
          <span className="mono" data-testid="served-model">
            {r.model}
          </span>
        </Badge>
      ) : null}
      {turn.status === 'streaming' ? (
        <span className="streaming-indicator">
          <span className="typing" aria-hidden="true">
            <span />
            <span />
            <span />
          </span>
          {turn.partialTokens ? `${turn.partialTokens} tokens` : 'waiting for first token'}
        </span>
      ) : null}
      {r && r.ttftMs !== null ? (
        <span title="Time to first token, measured in this page">
          TTFT <strong data-testid="ttft">{formatMs(r.ttftMs)}</strong>
        </span>
      ) : null}
      {turn.status !== 'streaming' && r ? (
        <>
          <span title="Tokens per second after the first token">
            <strong data-testid="tokens-per-second">{formatRate(r.tokensPerSecond)}</strong> tok/s
          </span>
          <span>
            <strong>{r.completionTokens}</strong> tokens
          </span>
        </>
      ) : null}
      {turn.status === 'stopped' ? <Badge tone="warn">Stopped</Badge> : null}
      {turn.status === 'done' && r?.finishReason === 'length' ? (
        <Badge tone="warn">Max tokens reached</Badge>
      ) : null}
    </div>
  );
}

export function MessageList({ turns }: { turns: Turn[] }) {
  const endRef = useRef<HTMLDivElement>(null);
  const last = turns[turns.length - 1];
  useEffect(() => {
    endRef.current?.scrollIntoView({ block: 'end' });
  }, [turns.length, last?.content]);

  return (
    <div
      className="messages"
      role="log"
      aria-label="Conversation"
      aria-live="polite"
      aria-busy={last?.status === 'streaming'}
    >
      {turns.map((t) =>
        t.role === 'user' ? (
          <div key={t.id} className="message message-user">
            <div className="bubble">{t.content}</div>
          </div>
        ) : (
          <div
            key={t.id}
            className={`message message-assistant status-${t.status}`}
            data-status={t.status}
          >
            <div className="avatar" aria-hidden="true">
              <Icon name="models" size={16} />
            </div>
            <div className="message-body">
              {t.status === 'error' ? (
                <div className="inline-error" role="alert">
                  <Icon name="alert" size={16} />
                  <span>{t.error}</span>
                </div>
              ) : (
                <div className="bubble" data-testid="assistant-text">
                  {t.content.trimStart() ||
                    (t.status === 'streaming' ? '' : <span className="faint">(no text)</span>)}
                  {t.status === 'streaming' ? <span className="caret" aria-hidden="true" /> : null}
                </div>
              )}
              <ReplyMeta turn={t} />
            </div>
          </div>
        ),
      )}
      <div ref={endRef} />
    </div>
  );
}
