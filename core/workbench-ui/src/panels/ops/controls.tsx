// Controls shared by the operations panels: a two-step confirm button (no window.confirm, which blocks
// the page and which a browser test would have to answer out of band) and a JSON editor textarea.
import React, { useEffect, useState } from 'react'

interface ConfirmProps {
  label: string
  /** The question shown on the second step, e.g. "Purge all 3 dead letters?". */
  question: string
  onConfirm: () => Promise<unknown> | void
  danger?: boolean
  disabled?: boolean
  testId?: string
}

export function ConfirmButton({ label, question, onConfirm, danger, disabled, testId }: ConfirmProps): React.JSX.Element {
  const [asking, setAsking] = useState(false)
  const [busy, setBusy] = useState(false)
  if (!asking) {
    return (
      <button
        className={danger ? 'ops-danger' : undefined}
        disabled={disabled || busy}
        onClick={() => setAsking(true)}
        data-testid={testId}
      >
        {label}
      </button>
    )
  }
  const run = (): void => {
    setBusy(true)
    // the caller shows its own errors; a rejection must not escape as an unhandled one
    Promise.resolve(onConfirm())
      .catch(() => undefined)
      .finally(() => {
        setBusy(false)
        setAsking(false)
      })
  }
  return (
    <span className="ops-confirm" role="group" aria-label={question}>
      <span>{question}</span>
      <button
        className={danger ? 'ops-danger primary' : 'primary'}
        disabled={busy}
        onClick={run}
        data-testid={testId ? `${testId}-yes` : undefined}
      >
        Yes, {label.toLowerCase()}
      </button>
      <button disabled={busy} onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  )
}

export type Parsed = { ok: true; value: unknown } | { ok: false; error: string }

/** JSON.parse with the position turned into line:column, which a textarea user can find. */
export function parseJson(text: string): Parsed {
  if (text.trim() === '') return { ok: false, error: 'empty: a JSON value is required (null, "text", 1, {...})' }
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    const match = /position (\d+)/.exec(message)
    if (match?.[1] !== undefined) {
      const offset = Number(match[1])
      const before = text.slice(0, offset).split('\n')
      const column = (before[before.length - 1]?.length ?? 0) + 1
      return { ok: false, error: `invalid JSON at line ${before.length}, column ${column}: ${message}` }
    }
    return { ok: false, error: `invalid JSON: ${message}` }
  }
}

interface EditorProps {
  initial: unknown
  onSave: (value: unknown) => Promise<unknown>
  testId?: string
}

/** A textarea holding a JSON value, validated on every keystroke; Save is enabled only for valid JSON. */
export function JsonEditor({ initial, onSave, testId }: EditorProps): React.JSX.Element {
  // keyed on the text, not the object: a refetch of the same value must not wipe an edit in progress
  const initialText = JSON.stringify(initial, null, 2) ?? 'null'
  const [text, setText] = useState(initialText)
  const [saved, setSaved] = useState<string | undefined>()
  useEffect(() => setText(initialText), [initialText])
  const parsed = parseJson(text)
  const save = (): void => {
    if (!parsed.ok) return
    setSaved(undefined)
    onSave(parsed.value).then(
      () => setSaved('saved'),
      () => setSaved(undefined),
    )
  }
  return (
    <div className="ops-editor">
      <textarea
        value={text}
        spellCheck={false}
        rows={Math.min(20, Math.max(4, text.split('\n').length + 1))}
        onChange={(e) => {
          setText(e.target.value)
          setSaved(undefined)
        }}
        aria-invalid={!parsed.ok}
        data-testid={testId}
      />
      <div className="toolbar">
        <button className="primary" disabled={!parsed.ok} onClick={save} data-testid={testId ? `${testId}-save` : undefined}>
          Save
        </button>
        {parsed.ok ? (
          <span className="empty">{saved ?? 'valid JSON'}</span>
        ) : (
          <span className="error" data-testid={testId ? `${testId}-error` : undefined}>
            {parsed.error}
          </span>
        )}
      </div>
    </div>
  )
}
