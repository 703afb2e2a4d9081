/**
 * `motia/testing`: test kits for TypeScript / JavaScript step authors (docs/testing.md).
 *
 * - Unit: {@link createTester} runs a step file's handler in-process with a real handler context over
 *   in-memory state and streams, capturing emits and log lines.
 * - End to end: {@link startMotia} runs the real `motia-core serve`, with its runners, on a project.
 *
 * Not for step files: tests import it, and it runs under node's test runner (`node --import tsx
 * --test`) or vitest. Inside the runner `motia/*` is the step API only.
 *
 * @packageDocumentation
 */
export type { CapturedLog, EmittedEvent, SentStreamEvent } from './memory'
export { MemoryState, MemoryStreams } from './memory'
export type { StepTester, TestableStep, TesterOptions, TestRequest, TestResponse } from './tester'
export { createTester, newTraceId } from './tester'
export type { CallOptions, CallResult, MotiaApp, StartMotiaOptions, TraceDoc, WaitOptions } from './e2e'
export { MotiaTestError, startMotia } from './e2e'
