// One failure, in words, with a "Try again" that waits out a Retry-After before it can be pressed.

import { useEffect, useRef, useState, type ReactNode } from 'react';
import { FaceGateError } from './errors.js';
import { describeError, formatSeconds, mergeTexts, type FaceGateTexts } from './messages.js';

export interface ErrorNoticeProps {
  error: unknown;
  onRetry?: () => void;
  retryLabel?: string;
  /** Extra actions or links shown beside "Try again". */
  children?: ReactNode;
  /** Replacement texts (error titles and details, "Try again"); see FaceGateTexts. */
  texts?: Partial<FaceGateTexts>;
}

export function ErrorNotice({ error, onRetry, retryLabel, children, texts }: ErrorNoticeProps) {
  const t = mergeTexts(texts);
  const label = retryLabel ?? t.tryAgain;
  const { title, detail } = describeError(error, t);
  const code = error instanceof FaceGateError ? error.code : 'unknown';
  const wait = error instanceof FaceGateError ? (error.retryAfter ?? 0) : 0;
  const [remaining, setRemaining] = useState(wait);
  const buttonRef = useRef<HTMLButtonElement | null>(null);

  useEffect(() => {
    setRemaining(wait);
    if (wait <= 0) return undefined;
    const started = Date.now();
    const timer = setInterval(() => {
      const left = Math.max(0, wait - Math.floor((Date.now() - started) / 1000));
      setRemaining(left);
      if (left === 0) clearInterval(timer);
    }, 1000);
    return () => clearInterval(timer);
  }, [error, wait]);

  useEffect(() => {
    buttonRef.current?.focus();
  }, [error]);

  return (
    <div className="fg-error" role="alert" data-code={code}>
      <p className="fg-error-title">{title}</p>
      {detail && <p className="fg-error-detail">{detail}</p>}
      {(onRetry || children) && (
        <div className="fg-actions">
          {onRetry && (
            <button
              ref={buttonRef}
              type="button"
              className="fg-button"
              onClick={onRetry}
              disabled={remaining > 0}
            >
              {remaining > 0 ? t.retryAfterLabel(label, formatSeconds(remaining, t)) : label}
            </button>
          )}
          {children}
        </div>
      )}
    </div>
  );
}
