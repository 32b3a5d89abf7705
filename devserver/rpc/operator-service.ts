// temporal.api.operatorservice.v1.OperatorService: search attribute registration, which
// the SDK's test environment and some apps call; the rest answers UNIMPLEMENTED.
import type { Engine } from '../core/engine';
import type { Handlers } from './grpc-server';
import { temporal } from '../proto';

const IndexedValueType = temporal.api.enums.v1.IndexedValueType;

export function operatorServiceHandlers(engine: Engine): Handlers {
  const h = {
    async AddSearchAttributes(r: { searchAttributes?: Record<string, number> | null }) {
      for (const [name, type] of Object.entries(r.searchAttributes ?? {})) {
        engine.searchAttributeTypes[name] = IndexedValueType[type] ?? String(type);
      }
      return {};
    },
    async ListSearchAttributes() {
      const custom: Record<string, number> = {};
      for (const [name, type] of Object.entries(engine.searchAttributeTypes)) {
        const key = `INDEXED_VALUE_TYPE_${type.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`;
        custom[name] = (IndexedValueType as unknown as Record<string, number>)[key] ?? 0;
      }
      return { customAttributes: custom, systemAttributes: {}, storageSchema: {} };
    },
  };
  return h;
}
