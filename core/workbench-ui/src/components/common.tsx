// Small pieces every panel may use: language badge, JSON block, error line, relative times.
import type React from 'react'

// The languages the stylesheet colours (.lang-<name>, src/styles.css); any other language a runner
// plugin brings (Go, ...) gets its own name and a colour derived from it, the same in every panel.
const KNOWN_LANGUAGES: Record<string, string> = { typescript: 'TS', javascript: 'JS', python: 'PY', ruby: 'RB' }
const MAX_LABEL = 10 // characters of an unknown language's name shown on the badge (all of it in the title)

function hash(text: string): number {
  let h = 0x811c9dc5 // FNV-1a: cheap, and stable across page loads and browsers
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

export interface LanguageLook {
  name: string // what the title says ("unknown language" when the core sent none)
  label: string // what the badge says
  className: string // lang-<known>, or lang-other
  style: React.CSSProperties | undefined // an unknown language's colour
}

/** How a language looks anywhere in the Workbench (badges, timeline bars). A missing or non-string
 *  language (an older core, a plugin runner that sent none) is "?", never "undefined". */
export function languageLook(language: unknown): LanguageLook {
  const name = typeof language === 'string' ? language.trim() : ''
  if (!name) return { name: 'unknown language', label: '?', className: 'lang-other', style: undefined }
  const known = KNOWN_LANGUAGES[name.toLowerCase()]
  if (known !== undefined) return { name, label: known, className: `lang-${name.toLowerCase()}`, style: undefined }
  const label = name.length > MAX_LABEL ? `${name.slice(0, MAX_LABEL - 1)}…` : name
  // hue from the name; saturation and lightness fixed so white text stays readable on every hue
  const style = { background: `hsl(${hash(name.toLowerCase()) % 360}, 55%, 38%)` }
  return { name, label, className: 'lang-other', style }
}

export function LanguageBadge({ language }: { language: unknown }): React.JSX.Element {
  const look = languageLook(language)
  return (
    <span className={`badge ${look.className}`} style={look.style} title={look.name} data-language={look.name}>
      {look.label}
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
