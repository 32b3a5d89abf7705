// temporal.api.operatorservice.v1.OperatorService: search attribute registration, which
// the SDK's test environment and some apps call; the rest answers UNIMPLEMENTED. The
// registry and the rules for writing attributes live in core/search-attributes.ts.
import { dict, type Engine } from '../core/engine';
import type { Handlers } from './grpc-server';
import { SYSTEM_ATTRIBUTES, PREDEFINED_ATTRIBUTES } from '../core/search-attributes';

export function operatorServiceHandlers(engine: Engine): Handlers {
  const h = {
    async AddSearchAttributes(r: { searchAttributes?: Record<string, number> | null }) {
      engine.addSearchAttributes(Object.entries(r.searchAttributes ?? {}));
      await engine.commit();
      return {};
    },
    async ListSearchAttributes() {
      // Null-prototype maps: attribute names are the client's strings.
      const custom = dict<number>();
      for (const [name, type] of engine.searchAttributes.customAttributes()) custom[name] = type;
      const system = dict<number>();
      for (const [name, type] of [...SYSTEM_ATTRIBUTES, ...PREDEFINED_ATTRIBUTES]) system[name] = type;
      return { customAttributes: custom, systemAttributes: system, storageSchema: {} };
    },
  };
  return h;
}
