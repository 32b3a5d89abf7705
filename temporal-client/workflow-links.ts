// Where a person opens a workflow: the Temporal UI of a real cluster
// (TEMPORAL_UI_URL), or the dev server's inspector when `npm start` runs one,
// or nowhere. Built once in the composition root; services hand the link to
// admins beside the workflow's id.

export interface WorkflowLinks {
  /** A browser link to the workflow with this id, or null when no UI is known. */
  of(workflowId: string): string | null;
}

export const noWorkflowLinks: WorkflowLinks = { of: () => null };

export function workflowLinks(options: {
  /** TEMPORAL_UI_URL: the Temporal Web UI's base, e.g. https://temporal.example.com. */
  temporalUiUrl?: string | undefined;
  /** The dev server's inspector, when this process runs it. */
  inspectorUrl?: string | undefined;
  namespace: string;
}): WorkflowLinks {
  const { namespace } = options;
  if (options.temporalUiUrl !== undefined) {
    const base = withoutTrailingSlash(options.temporalUiUrl);
    return {
      of: (workflowId) =>
        `${base}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`,
    };
  }
  if (options.inspectorUrl !== undefined) {
    const base = withoutTrailingSlash(options.inspectorUrl);
    // Without a run id, the inspector opens the latest run, as the Temporal UI does.
    return {
      of: (workflowId) =>
        `${base}/workflows/${encodeURIComponent(namespace)}/${encodeURIComponent(workflowId)}`,
    };
  }
  return noWorkflowLinks;
}

function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
