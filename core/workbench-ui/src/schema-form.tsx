// A request-body form generated from a JSON Schema (an API step's bodySchema): one input per
// top-level property (text, number, checkbox, select for enums), a JSON editor for nested values,
// and a raw JSON mode for anything the form cannot express (no schema, a non-object root).
import React from 'react'
import type { JsonSchema } from './types'

type Props = Record<string, JsonSchema>

function schemaType(schema: JsonSchema | undefined): string | undefined {
  const type = schema?.['type']
  if (typeof type === 'string') return type
  if (Array.isArray(type)) return type.find((t): t is string => typeof t === 'string' && t !== 'null')
  if (schema && typeof schema['properties'] === 'object') return 'object'
  return undefined
}

export function objectProperties(schema: JsonSchema | null | undefined): Props | null {
  if (!schema || schemaType(schema) !== 'object') return null
  const props = schema['properties']
  return props && typeof props === 'object' ? (props as Props) : {}
}

function required(schema: JsonSchema | null | undefined): Set<string> {
  const list = schema?.['required']
  return new Set(Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : [])
}

/** A plausible value for `schema`: its default, its first enum or example, else an empty value of its type. */
export function exampleFor(schema: JsonSchema | null | undefined, depth = 0): unknown {
  if (!schema || depth > 6) return null
  if ('default' in schema) return schema['default']
  if ('const' in schema) return schema['const']
  const enumValues = schema['enum']
  if (Array.isArray(enumValues) && enumValues.length) return enumValues[0]
  const examples = schema['examples']
  if (Array.isArray(examples) && examples.length) return examples[0]
  const anyOf = (schema['anyOf'] ?? schema['oneOf']) as JsonSchema[] | undefined
  if (Array.isArray(anyOf) && anyOf.length) return exampleFor(anyOf[0], depth + 1)
  switch (schemaType(schema)) {
    case 'object': {
      const out: Record<string, unknown> = {}
      for (const [name, sub] of Object.entries(objectProperties(schema) ?? {})) out[name] = exampleFor(sub, depth + 1)
      return out
    }
    case 'array':
      return []
    case 'string':
      return ''
    case 'number':
    case 'integer':
      return 0
    case 'boolean':
      return false
    default:
      return null
  }
}

interface FieldProps {
  name: string
  schema: JsonSchema
  value: unknown
  isRequired: boolean
  onChange: (value: unknown) => void
}

function Field({ name, schema, value, isRequired, onChange }: FieldProps): React.JSX.Element {
  const type = schemaType(schema)
  const id = `body-${name}`
  const label = (
    <label htmlFor={id} title={typeof schema['description'] === 'string' ? schema['description'] : undefined}>
      {name}
      {isRequired ? ' *' : ''} <span className="empty">{type ?? 'any'}</span>
    </label>
  )
  const enumValues = schema['enum']
  if (Array.isArray(enumValues)) {
    return (
      <>
        {label}
        <select id={id} value={JSON.stringify(value)} onChange={(e) => onChange(JSON.parse(e.target.value))}>
          {enumValues.map((option) => (
            <option key={JSON.stringify(option)} value={JSON.stringify(option)}>
              {String(option)}
            </option>
          ))}
        </select>
      </>
    )
  }
  if (type === 'string') {
    return (
      <>
        {label}
        <input id={id} name={name} value={typeof value === 'string' ? value : ''} onChange={(e) => onChange(e.target.value)} />
      </>
    )
  }
  if (type === 'number' || type === 'integer') {
    return (
      <>
        {label}
        <input
          id={id}
          name={name}
          type="number"
          step={type === 'integer' ? 1 : 'any'}
          value={typeof value === 'number' ? value : ''}
          onChange={(e) => onChange(e.target.value === '' ? undefined : Number(e.target.value))}
        />
      </>
    )
  }
  if (type === 'boolean') {
    return (
      <>
        {label}
        <input id={id} name={name} type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked)} />
      </>
    )
  }
  return (
    <>
      {label}
      <JsonField id={id} value={value} onChange={onChange} />
    </>
  )
}

/** A JSON editor for one nested value: keeps the text while it does not parse, reports valid values. */
function JsonField({ id, value, onChange }: { id: string; value: unknown; onChange: (v: unknown) => void }): React.JSX.Element {
  const [text, setText] = React.useState(() => JSON.stringify(value, null, 2))
  const [bad, setBad] = React.useState(false)
  return (
    <textarea
      id={id}
      rows={3}
      value={text}
      style={bad ? { borderColor: 'var(--bad)' } : undefined}
      onChange={(e) => {
        setText(e.target.value)
        try {
          onChange(JSON.parse(e.target.value))
          setBad(false)
        } catch {
          setBad(true)
        }
      }}
    />
  )
}

export function SchemaForm({
  schema,
  value,
  onChange,
}: {
  schema: JsonSchema
  value: Record<string, unknown>
  onChange: (value: Record<string, unknown>) => void
}): React.JSX.Element {
  const props = objectProperties(schema) ?? {}
  const needed = required(schema)
  return (
    <div className="form-grid" data-testid="body-form">
      {Object.entries(props).map(([name, sub]) => (
        <Field
          key={name}
          name={name}
          schema={sub}
          value={value[name]}
          isRequired={needed.has(name)}
          onChange={(next) => {
            const copy = { ...value }
            if (next === undefined) delete copy[name]
            else copy[name] = next
            onChange(copy)
          }}
        />
      ))}
    </div>
  )
}
