// Small pieces every panel may use: language badge, JSON block, error line, relative times.
import type React from 'react'

export function LanguageBadge({ language }: { language: string }): React.JSX.Element {
  const short: Record<string, string> = { typescript: 'TS', javascript: 'JS', python: 'PY', ruby: 'RB' }
  return (
    <span className={`badge lang-${language}`} title={language} data-language={language}>
      {short[language] ?? language}
    </span>
  )
}

export function Json({ value }: { value: unknown }): React.JSX.Element {
  let text: string
  try {
    text = JSON.stringify(value, null, 2) ?? 'undefined'
  } catch {
    text = String(value)
  }
  return <pre className="json">{text}</pre>
}

export function ErrorLine({ error }: { error: string | undefined }): React.JSX.Element | null {
  return error ? (
    <p className="error" role="alert">
      {error}
    </p>
  ) : null
}

export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—'
  const date = new Date(ms)
  return `${date.toLocaleTimeString()}.${String(date.getMilliseconds()).padStart(3, '0')}`
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—'
  if (ms < 1) return '<1 ms'
  if (ms < 1000) return `${Math.round(ms)} ms`
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
}
