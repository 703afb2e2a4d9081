import type { InternalStateManager } from '../types/context'
import type { InvocationHost } from './host'

/** `ctx.state` backed by calls to the core. */
export class RemoteStateManager implements InternalStateManager {
  constructor(private readonly host: InvocationHost) {}

  get<T>(groupId: string, key: string): Promise<T | null> {
    return this.host.call({ op: 'state.get', groupId, key }) as Promise<T | null>
  }

  set<T>(groupId: string, key: string, value: T): Promise<T> {
    return this.host.call({ op: 'state.set', groupId, key, value }) as Promise<T>
  }

  delete<T>(groupId: string, key: string): Promise<T | null> {
    return this.host.call({ op: 'state.delete', groupId, key }) as Promise<T | null>
  }

  async getGroup<T>(groupId: string): Promise<T[]> {
    const values = await this.host.call({ op: 'state.getGroup', groupId })
    return Array.isArray(values) ? (values as T[]) : []
  }

  async clear(groupId: string): Promise<void> {
    await this.host.call({ op: 'state.clear', groupId })
  }
}
