// Flows: one graph per flow (dagre layout, left to right), a node per step with its language badge,
// an edge per topic from emitter to subscriber; clicking a node opens its config, file and schemas.
// Refetches on the live "flows" message (steps added, changed or removed by the watcher).
import dagre from '@dagrejs/dagre'
import {
  Background,
  Controls,
  Handle,
  Position,
  ReactFlow,
  useReactFlow,
  useStore,
  type Edge,
  type Node,
  type NodeProps,
} from '@xyflow/react'
import React, { useEffect, useMemo } from 'react'
import { useApi } from '../api'
import { ErrorLine, Json, LanguageBadge } from '../components/common'
import { useLive } from '../live'
import { href, type Panel, type PanelProps } from '../panel'
import type { Flow, StepInfo } from '../types'

const NODE_WIDTH = 220
const NODE_HEIGHT = 86

type StepNodeData = { step: StepInfo; selected: boolean }
type StepNode = Node<StepNodeData, 'step'>

function stepDetail(step: StepInfo): string {
  if (step.type === 'api') return `${step.method ?? ''} ${step.path ?? ''}`
  if (step.type === 'event') return `on ${(step.subscribes ?? []).join(', ')}`
  if (step.type === 'cron') return step.cron ?? ''
  return step.description ?? ''
}

function StepNodeView({ data }: NodeProps<StepNode>): React.JSX.Element {
  const { step } = data
  return (
    <div className={`step-node${data.selected ? ' selected' : ''}`} data-step={step.name} data-language={step.language}>
      <Handle type="target" position={Position.Left} />
      <div className="kind">
        {step.type} <LanguageBadge language={step.language} />
      </div>
      <div className="name">{step.name}</div>
      <div className="detail">{stepDetail(step)}</div>
      <Handle type="source" position={Position.Right} />
    </div>
  )
}

const nodeTypes = { step: StepNodeView }

/** Re-fit when the pane changes size (the side panel opened or closed, the window was resized):
 *  React Flow's own fitView runs once, on the first size. */
function FitOnResize(): null {
  const flow = useReactFlow()
  const width = useStore((state) => state.width)
  const height = useStore((state) => state.height)
  useEffect(() => {
    if (width > 0 && height > 0) void flow.fitView({ duration: 150, maxZoom: 1 })
  }, [flow, width, height])
  return null
}

/** Positions from dagre: ranks follow the event direction, so a chain reads left to right. */
export function layoutFlow(flow: Flow, selectedId: string | undefined): { nodes: StepNode[]; edges: Edge[] } {
  const graph = new dagre.graphlib.Graph()
  // ranks far enough apart for the longest topic label between them (~7 px a character at 12 px)
  const longestTopic = Math.max(0, ...flow.edges.map((e) => e.data.topic.length))
  graph.setGraph({ rankdir: 'LR', nodesep: 36, ranksep: Math.max(90, longestTopic * 7 + 48) })
  graph.setDefaultEdgeLabel(() => ({}))
  for (const step of flow.steps) graph.setNode(step.id, { width: NODE_WIDTH, height: NODE_HEIGHT })
  for (const edge of flow.edges) graph.setEdge(edge.source, edge.target)
  dagre.layout(graph)
  const nodes: StepNode[] = flow.steps.map((step) => {
    const placed = graph.node(step.id) as { x: number; y: number } | undefined
    return {
      id: step.id,
      type: 'step',
      position: { x: (placed?.x ?? 0) - NODE_WIDTH / 2, y: (placed?.y ?? 0) - NODE_HEIGHT / 2 },
      data: { step, selected: step.id === selectedId },
    }
  })
  const edges: Edge[] = flow.edges.map((edge) => ({
    id: `${edge.id}:${edge.data.topic}`,
    source: edge.source,
    target: edge.target,
    label: edge.data.topic,
    animated: edge.data.variant !== 'virtual',
    style: edge.data.variant === 'virtual' ? { strokeDasharray: '5 4' } : undefined,
    data: { topic: edge.data.topic, variant: edge.data.variant },
  }))
  return { nodes, edges }
}

function StepDetails({ step }: { step: StepInfo }): React.JSX.Element {
  const schema = step.type === 'api' ? step.bodySchema : step.input
  return (
    <aside className="side" data-testid="step-details">
      <h2>
        {step.name} <LanguageBadge language={step.language} />
      </h2>
      {step.description && <p>{step.description}</p>}
      <dl>
        <dt>type</dt>
        <dd>{step.type}</dd>
        <dt>file</dt>
        <dd className="mono" data-testid="step-file">
          {step.filePath}
        </dd>
        {step.method && (
          <>
            <dt>route</dt>
            <dd className="mono">
              {step.method} {step.path} <a href={href('endpoints', step.id)}>try it</a>
            </dd>
          </>
        )}
        {step.cron && (
          <>
            <dt>cron</dt>
            <dd className="mono">{step.cron}</dd>
          </>
        )}
        {(step.subscribes?.length ?? 0) > 0 && (
          <>
            <dt>subscribes</dt>
            <dd className="mono">{step.subscribes?.join(', ')}</dd>
          </>
        )}
        <dt>emits</dt>
        <dd className="mono">{step.emits.length ? step.emits.join(', ') : '—'}</dd>
        {(step.virtualEmits?.length ?? 0) > 0 && (
          <>
            <dt>virtual emits</dt>
            <dd className="mono">{step.virtualEmits?.join(', ')}</dd>
          </>
        )}
        <dt>flows</dt>
        <dd>{step.flows.join(', ')}</dd>
      </dl>
      <h3>{step.type === 'api' ? 'Body schema' : 'Input schema'}</h3>
      {schema ? <Json value={schema} /> : <p className="empty">none declared</p>}
      <h3>Config</h3>
      <Json value={step} />
    </aside>
  )
}

function FlowsPanel({ route }: PanelProps): React.JSX.Element {
  const flows = useApi<{ flows: Flow[] }>('/__motia/flows')
  useLive('flows', flows.reload)
  useLive('reconnected', flows.reload)
  const list = flows.data?.flows ?? []
  const [flowName, stepId] = route
  const flow = list.find((f) => f.name === flowName) ?? list[0]
  const selected = flow?.steps.find((s) => s.id === stepId)
  const graph = useMemo(() => (flow ? layoutFlow(flow, selected?.id) : null), [flow, selected?.id])
  return (
    <>
      <div className="toolbar">
        <h1 style={{ margin: 0 }}>Flows</h1>
        <div className="flow-tabs" role="tablist">
          {list.map((f) => (
            <button
              key={f.name}
              role="tab"
              className={f === flow ? 'active' : undefined}
              onClick={() => (window.location.hash = href('flows', f.name))}
            >
              {f.name} ({f.steps.length})
            </button>
          ))}
        </div>
      </div>
      <ErrorLine error={flows.error} />
      {!flows.loading && list.length === 0 && !flows.error && (
        <p className="empty">No flows: give a step a `flows: [...]` entry in its config to see it here.</p>
      )}
      {flow && graph && (
        <div className="split">
          <div className="main flow-canvas" data-flow={flow.name}>
            <ReactFlow
              key={flow.name}
              nodes={graph.nodes}
              edges={graph.edges}
              nodeTypes={nodeTypes}
              fitView
              fitViewOptions={{ maxZoom: 1 }}
              nodesConnectable={false}
              onNodeClick={(_, node) =>
                (window.location.hash = node.id === selected?.id ? href('flows', flow.name) : href('flows', flow.name, node.id))
              }
              proOptions={{ hideAttribution: true }}
            >
              <Background />
              <Controls showInteractive={false} />
              <FitOnResize />
            </ReactFlow>
          </div>
          {selected && <StepDetails step={selected} />}
        </div>
      )}
    </>
  )
}

const panel: Panel = { id: 'flows', title: 'Flows', order: 10, Component: FlowsPanel }
export default panel
